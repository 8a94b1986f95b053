"""OpenID Connect's authorization-request parameters, decided where the browser session is.

:class:`OpenIDAuthorizationMixin` goes into :class:`bearer_auth.views.oauth.AuthorizationView`.
OpenID Connect Core §3.1.2.1 parameters that only the signed-in browser can
answer are handled here, on top of what DOT already does (``prompt=login``
sends the user to sign in again, ``prompt=none`` without a session is
``login_required``):

- ``max_age``: a sign-in in this browser older than that (or of unknown age)
  sends the user to sign in again, or is ``login_required`` with
  ``prompt=none``; the ID token always carries ``auth_time``;
- ``prompt=none`` where the consent page would be shown: ``consent_required``,
  no page;
- ``prompt=consent``: the consent page even for a client that skips it or was
  approved before;
- ``id_token_hint``: an ID token this server issued (expired or not) whose
  ``sub`` is not the signed-in user is ``login_required``; one that does not
  verify is ``invalid_request``;
- ``login_hint``: carried to the sign-in page (:class:`bearer_auth.views.login.LoginView`
  fills in the email);
- ``ui_locales``: the consent page in the first listed language the project offers.

Errors go back to the client's (verified) redirect URI, with ``state`` and ``iss``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils import translation
from django.utils.translation import gettext as _
from oauth2_provider.exceptions import OAuthToolkitError
from oauthlib.oauth2.rfc6749.errors import (
    ConsentRequired,
    InvalidRequestError,
    LoginRequired,
    OAuth2Error,
)

from bearer_auth.exceptions import InvalidToken
from bearer_auth.jwt import decode_id_token, user_subject
from bearer_auth.oidc.auth_time import auth_time_claim, session_auth_time

#: A ``max_age`` of more digits than this is longer than any sign-in's age.
_MAX_AGE_DIGITS: Final = 12


class _ConsentDemanded(Exception):
    """``prompt=consent`` met DOT's automatic approval: show the page instead."""


class OpenIDAuthorizationMixin:
    """OpenID Connect's authorization-request parameters (see the module)."""

    request: HttpRequest
    oauth2_data: dict[str, Any]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """``max_age`` and ``id_token_hint`` (OpenID Connect requests), then DOT's flow.

        ``prompt`` and ``ui_locales`` are honoured for every request, plain
        OAuth 2.0 ones too.
        """
        with ui_locale(request.GET.get("ui_locales", "")):
            if "openid" in request.GET.get("scope", "").split():
                early = self.openid_precondition(request)
                if early is not None:
                    return early
            try:
                response: HttpResponse = super().get(request, *args, **kwargs)  # type: ignore[misc]
            except _ConsentDemanded:
                context = {**self.oauth2_data, "form": self.get_form(self.get_form_class())}  # type: ignore[attr-defined]
                response = self.render_to_response(self.get_context_data(**context))  # type: ignore[attr-defined]
            if hasattr(response, "render"):
                response.render()  # in the requested language
            return response

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with ui_locale(request.GET.get("ui_locales", "")):
            response: HttpResponse = super().post(request, *args, **kwargs)  # type: ignore[misc]
            if hasattr(response, "render"):
                response.render()
            return response

    def openid_precondition(self, request: HttpRequest) -> HttpResponse | None:
        """Answer ``max_age`` and ``id_token_hint`` before DOT's flow; ``None`` to go on."""
        prompt = set(request.GET.get("prompt", "").split())
        max_age = request.GET.get("max_age")
        hint = request.GET.get("id_token_hint")
        if max_age is None and not hint:
            return None
        try:
            _scopes, credentials = self.validate_authorization_request(request)  # type: ignore[attr-defined]
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)  # type: ignore[attr-defined,no-any-return]
        oauth_request = credentials["request"]
        if max_age is not None:
            seconds = _seconds(max_age)
            if seconds is None:
                return self.openid_error(
                    InvalidRequestError(
                        description=_("max_age must be a number of seconds."),
                        request=oauth_request,
                    ),
                    credentials,
                )
            signed_in = session_auth_time(request)
            if signed_in is None or time.time() - signed_in > seconds:
                if "none" in prompt:
                    return self.openid_error(LoginRequired(request=oauth_request), credentials)
                return self.sign_in_again(request)
        if hint:
            try:
                claims = decode_id_token(hint, verify_expiry=False)
            except InvalidToken:
                return self.openid_error(
                    InvalidRequestError(
                        description=_("The id_token_hint is not an ID token issued here."),
                        request=oauth_request,
                    ),
                    credentials,
                )
            if claims["sub"] != user_subject(request.user):  # type: ignore[arg-type]
                return self.openid_error(
                    LoginRequired(
                        description=_("The signed-in user is not the one the ID token names."),
                        request=oauth_request,
                    ),
                    credentials,
                )
        return None

    def openid_error(self, error: OAuth2Error, credentials: dict[str, Any]) -> HttpResponse:
        """Send ``error`` to the client's verified redirect URI (with ``state``, ``iss``)."""
        response: HttpResponse = self.error_response(  # type: ignore[attr-defined]
            OAuthToolkitError(error=error, redirect_uri=credentials["redirect_uri"]),
            application=credentials["request"].client,
        )
        return response

    def sign_in_again(self, request: HttpRequest) -> HttpResponse:
        """Send the user to the sign-in page, then back here without ``max_age`` or ``prompt``.

        The sign-in that follows is fresh enough for any ``max_age``: dropping
        it keeps a ``max_age=0`` from asking again on the way back.
        """
        query = [
            (name, value)
            for name, values in request.GET.lists()
            for value in values
            if name not in ("max_age", "prompt")
        ]
        return redirect_to_login(
            f"{request.path}?{urlencode(query)}", resolve_url(settings.LOGIN_URL)
        )

    def create_authorization_response(
        self, request: HttpRequest, scopes: str, credentials: dict[str, Any], allow: bool
    ) -> Any:
        """Add the sign-in's ``auth_time`` (stored with the code); honour ``prompt=consent``.

        DOT approves without asking (``skip_authorization``, an earlier
        approval) from its GET handler; ``prompt=consent`` shows the page then.
        """
        prompt = set(request.GET.get("prompt", "").split())
        if allow and request.method == "GET" and "consent" in prompt:
            raise _ConsentDemanded
        credentials = {**credentials, "auth_time": auth_time_claim(request)}
        return super().create_authorization_response(request, scopes, credentials, allow)  # type: ignore[misc]

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        """``prompt=none`` where the consent page would be shown: ``consent_required``."""
        prompt = set(self.request.GET.get("prompt", "").split())
        if (
            "none" in prompt
            and self.request.method == "GET"
            and "form" in context
            and context.get("redirect_uri")
        ):
            error = ConsentRequired(state=context.get("state"))
            error.redirect_uri = context["redirect_uri"]
            response: HttpResponse = self.error_response(  # type: ignore[attr-defined]
                OAuthToolkitError(error=error, redirect_uri=context["redirect_uri"]),
                application=context.get("application"),
            )
            return response
        response = super().render_to_response(context, **kwargs)  # type: ignore[misc]
        return response


def _seconds(max_age: str) -> int | None:
    """``max_age`` as seconds: ASCII digits only, else ``None``; one longer than any age is capped.

    ``str.isdigit`` also takes ``²`` (which ``int()`` refuses) and other
    scripts' digits; ``int()`` refuses more than 4300 digits.
    """
    if not (max_age.isascii() and max_age.isdigit()):
        return None
    digits = max_age.lstrip("0") or "0"
    return int(digits) if len(digits) <= _MAX_AGE_DIGITS else 10**_MAX_AGE_DIGITS


@contextmanager
def ui_locale(ui_locales: str) -> Iterator[None]:
    """Render in the first of ``ui_locales`` the project offers (``LANGUAGES``); else as usual."""
    for tag in ui_locales.split():
        try:
            language = translation.get_supported_language_variant(tag.lower())
        except LookupError:
            continue
        with translation.override(language):
            yield
        return
    yield
