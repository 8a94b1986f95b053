"""Password sign-in pages within the sign-in budgets of ``POST /auth/token/``.

:class:`LoginView` (Django's ``LoginView`` with :class:`ThrottledAuthenticationForm`)
is the page the authorization endpoint sends users to (``LOGIN_URL``);
:class:`ThrottledAdminAuthenticationForm` is the admin's
(``admin.site.login_form``). Both check the password with
:func:`~bearer_auth.throttling.authenticate_within_budget`: every password
form shares one budget per account and per client IP with the token
endpoint, only failures spend it, and a spent budget is the form error "Too
many attempts" (429 on :class:`LoginView`) before any password hashing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from bearer_auth.exceptions import ServiceUnavailable, SlowDown
from bearer_auth.throttling import authenticate_within_budget


class ThrottledLoginFormMixin:
    """``AuthenticationForm.clean()`` with the password checked within the sign-in budgets.

    ``refusal`` holds the :class:`SlowDown` (budget spent) or
    :class:`ServiceUnavailable` (no cache: fail closed) that stopped the
    attempt, for the view's status code.
    """

    request: HttpRequest | None
    cleaned_data: dict[str, Any]
    user_cache: Any
    refusal: SlowDown | ServiceUnavailable | None = None

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                self.user_cache = authenticate_within_budget(
                    self.request, username=username, password=password
                )
            except (SlowDown, ServiceUnavailable) as refusal:
                self.refusal = refusal
                raise ValidationError(str(refusal.detail), code=refusal.error) from refusal
            if self.user_cache is None:
                raise self.get_invalid_login_error()  # type: ignore[attr-defined]
            self.confirm_login_allowed(self.user_cache)  # type: ignore[attr-defined]
        return self.cleaned_data


class ThrottledAuthenticationForm(ThrottledLoginFormMixin, AuthenticationForm):
    """Django's sign-in form within the sign-in budgets."""


class ThrottledAdminAuthenticationForm(ThrottledLoginFormMixin, AdminAuthenticationForm):
    """The admin's sign-in form within the sign-in budgets: ``admin.site.login_form = ...``."""


class LoginView(auth_views.LoginView):
    """Django's ``LoginView`` within the sign-in budgets; a spent budget answers 429.

    Mount it at ``LOGIN_URL`` (before ``django.contrib.auth.urls``). The
    template is ``bearer_auth/login.html``; pass ``template_name`` for your own.
    An OpenID Connect ``login_hint`` in the authorization request it returns
    to (``next``) fills in the email field.
    """

    form_class = ThrottledAuthenticationForm
    template_name = "bearer_auth/login.html"

    def get_initial(self) -> dict[str, Any]:
        initial: dict[str, Any] = super().get_initial()
        hint = login_hint(self.request.GET.get(self.redirect_field_name, ""))
        if hint:
            initial["username"] = hint
        return initial

    def form_invalid(self, form: Any) -> HttpResponse:
        response: HttpResponse = super().form_invalid(form)
        refusal = getattr(form, "refusal", None)
        if refusal is not None:
            response.status_code = refusal.status_code
            if getattr(refusal, "wait", None):
                response["Retry-After"] = str(refusal.wait)
        return response


def login_hint(next_url: str) -> str:
    """The ``login_hint`` of the authorization request ``next_url`` returns to, or ``""``."""
    try:
        query = parse_qs(urlsplit(next_url).query)
    except ValueError:
        return ""
    hints = query.get("login_hint") or [""]
    return hints[0][:254]  # an email address is at most 254 characters
