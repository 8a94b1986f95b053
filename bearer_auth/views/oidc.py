"""OpenID Connect endpoints beside DOT's: UserInfo and RP-initiated logout.

Both are mounted by :mod:`bearer_auth.oauth_urls` under DOT's URL names
(``user-info``, ``rp-initiated-logout``) and answer 404 while
``OAUTH2_PROVIDER["OIDC_ENABLED"]`` is off, as the discovery document does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Final

from django.contrib.auth import logout
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.models import get_application_model
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import add_params_to_uri
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from bearer_auth.exceptions import InvalidRequest, InvalidToken, ServiceUnavailable
from bearer_auth.jwt import decode_id_token, user_subject
from bearer_auth.middleware import frame_ancestors_none
from bearer_auth.models import TokenSession
from bearer_auth.oidc.claims import user_claims
from bearer_auth.parameters import repeated_parameter
from bearer_auth.permissions import HasScope
from bearer_auth.policy import is_loopback_redirect_uri
from bearer_auth.services.sessions import sign_out_family
from bearer_auth.views.account import AccountView
from bearer_auth.views.oauth import DatabaseOutageMixin
from bearer_auth.views.oidc_authorization import ui_locale


class OpenIDConnectOnlyMixin:
    """404 while ``OAUTH2_PROVIDER["OIDC_ENABLED"]`` is off."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not oauth2_settings.OIDC_ENABLED:
            raise Http404("OpenID Connect is not enabled.")
        response: HttpResponse = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        return response


class UserInfoView(OpenIDConnectOnlyMixin, AccountView):
    """``GET``/``POST /o/userinfo/``: the user's claims (OpenID Connect Core §5.3).

    An access token carrying ``openid`` in the ``Authorization`` header only
    (RFC 6750 §2.1; the form-body method is not accepted, RFC 9700 §2.4),
    checked in strict mode whatever ``VERIFY_MODE`` says: one query, the
    token's row with its user, so a revoked token or a signed-out session is
    refused at once. The claims are those the token's scopes release
    (:func:`bearer_auth.oidc.claims.user_claims`, as in the ID token).
    Failures are RFC 6750's: 401 ``invalid_token``, 403 ``insufficient_scope``
    with ``scope="openid"``. Never cached (``Cache-Control: no-store``).
    """

    permission_classes = (HasScope,)  # type: ignore[assignment]  # AccountView's is IsAuthenticated
    required_scopes = ("openid",)
    renderer_classes = (JSONRenderer,)
    http_method_names = ["get", "post", "options"]

    def get(self, request: Request) -> Response:
        user: Any = request.user
        if not user.is_authenticated:
            # A client-credentials token: there is no end-user to describe.
            raise InvalidToken(_("This access token was not issued to a user."))
        return Response(user_claims(user, request.auth.scopes))  # type: ignore[union-attr]

    def post(self, request: Request) -> Response:
        return self.get(request)

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        # JSON whatever the Accept header says (OpenID Connect Core §5.3.2).
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response


@dataclass(frozen=True)
class LogoutRequest:
    """A checked RP-initiated logout request (OpenID Connect RP-Initiated Logout 1.0 §2)."""

    #: The client: the ``id_token_hint``'s ``aud``, or ``client_id``.
    client: Any
    #: The verified ``id_token_hint``'s claims, or ``None`` without a hint.
    hint: dict[str, Any] | None
    post_logout_redirect_uri: str
    state: str

    def names(self, user: Any) -> bool:
        """Whether the hint's ``sub`` is ``user`` (a signed-in one)."""
        return (
            self.hint is not None
            and bool(user.is_authenticated)
            and self.hint["sub"] == user_subject(user)
        )


#: The request parameters a logout request and its confirmation form carry.
LOGOUT_PARAMETERS: Final = (
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "ui_locales",
)


@method_decorator(login_not_required, name="dispatch")
@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(xframe_options_deny, name="dispatch")
@method_decorator(frame_ancestors_none, name="dispatch")
@method_decorator(never_cache, name="dispatch")
class LogoutView(OpenIDConnectOnlyMixin, DatabaseOutageMixin, View):
    """``GET``/``POST /o/logout/``: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

    Parameters: ``id_token_hint`` (an ID token this server issued, expired or
    not, whose ``aud`` is a registered client), ``client_id`` (must be the
    hint's ``aud`` when both are sent), ``post_logout_redirect_uri`` (exactly
    one of the client's ``post_logout_redirect_uris``; needs the client),
    ``state`` (echoed on that redirect) and ``ui_locales`` (the pages'
    language). A request that fails these checks gets an error page (400),
    never a redirect.

    The logout ends the browser's Django session and revokes the token family
    of the hint's ``sid`` (its refresh and access tokens). It happens at once
    when the hint names the signed-in user, or when nobody is signed in here;
    otherwise the user confirms it first on a page whose form is
    CSRF-protected (logout CSRF: a link alone cannot sign anyone out). Then
    the browser goes to ``post_logout_redirect_uri`` (with ``state``), or is
    shown the signed-out page.

    A ``POST`` from the client (its form, another site) is answered with a
    303 to the same request as a ``GET``: a cross-site ``POST`` does not carry
    a ``SameSite=Lax`` session cookie, the ``GET`` it is turned into does.
    The confirmation form is the only ``POST`` acted on.
    """

    http_method_names = ["get", "post", "options"]
    template_name = "bearer_auth/logout.html"
    signed_out_template_name = "bearer_auth/logged_out.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with ui_locale(request.GET.get("ui_locales", "")):
            try:
                logout_request = self.logout_request(request.GET)
            except InvalidRequest as error:
                return self.error_page(error)
            if request.user.is_authenticated and not logout_request.names(request.user):
                return self.confirmation_page(logout_request)
            return self.log_out(logout_request)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if "confirm" not in request.POST:
            query = request.POST.urlencode()
            response = HttpResponseRedirect(f"{request.path}?{query}" if query else request.path)
            response.status_code = 303
            return response
        confirmed: HttpResponse = csrf_protect(self.confirmed)(request)
        return confirmed

    def confirmed(self, request: HttpRequest) -> HttpResponse:
        """The confirmation form's ``POST`` (CSRF-checked): log out."""
        parameters = request.POST.copy()
        for name in ("csrfmiddlewaretoken", "confirm"):
            parameters.pop(name, None)
        with ui_locale(parameters.get("ui_locales", "")):
            try:
                logout_request = self.logout_request(parameters)
            except InvalidRequest as error:
                return self.error_page(error)
            return self.log_out(logout_request)

    def logout_request(self, parameters: QueryDict) -> LogoutRequest:
        """Check the request's parameters; raise :class:`InvalidRequest` with the reason."""
        repeated = repeated_parameter(parameters)
        if repeated is not None:
            raise InvalidRequest(
                _("The parameter %(name)s was sent more than once.") % {"name": repeated}
            )
        hint = self.verified_hint(parameters.get("id_token_hint", ""))
        client_id = parameters.get("client_id", "")
        client = _client(hint["aud"]) if hint is not None else None
        if hint is not None and client is None:
            raise InvalidRequest(_("The id_token_hint was issued to an unknown client."))
        if client_id:
            if hint is not None and hint["aud"] != client_id:
                raise InvalidRequest(_("The client_id is not the audience of the id_token_hint."))
            client = client or _client(client_id)
            if client is None:
                raise InvalidRequest(_("The client_id names no registered client."))
        redirect_uri = parameters.get("post_logout_redirect_uri", "")
        if redirect_uri:
            if client is None:
                raise InvalidRequest(
                    _("A post_logout_redirect_uri needs an id_token_hint or a client_id.")
                )
            if redirect_uri not in client.post_logout_redirect_uris.split():
                raise InvalidRequest(
                    _("The post_logout_redirect_uri is not registered for this client.")
                )
        return LogoutRequest(
            client=client,
            hint=hint,
            post_logout_redirect_uri=redirect_uri,
            state=parameters.get("state", ""),
        )

    def verified_hint(self, id_token_hint: str) -> dict[str, Any] | None:
        """The claims of ``id_token_hint`` (expired or not); ``None`` when none was sent."""
        if not id_token_hint:
            return None
        try:
            return decode_id_token(id_token_hint, verify_expiry=False)
        except InvalidToken as exc:
            raise InvalidRequest(
                _("The id_token_hint is not an ID token issued by this server.")
            ) from exc

    def log_out(self, logout_request: LogoutRequest) -> HttpResponse:
        """End the browser session and the hint's token family; send the browser on."""
        family = _family_of(logout_request.hint)
        if family is not None:
            sign_out_family(family)
        logout(self.request)
        if not logout_request.post_logout_redirect_uri:
            return render(self.request, self.signed_out_template_name)
        uri = logout_request.post_logout_redirect_uri
        if logout_request.state:
            uri = add_params_to_uri(uri, [("state", logout_request.state)])
        schemes = list(logout_request.client.get_allowed_schemes())
        if is_loopback_redirect_uri(uri):
            schemes.append("http")
        response: HttpResponse = OAuth2ResponseRedirect(uri, schemes)
        return response

    def confirmation_page(self, logout_request: LogoutRequest) -> HttpResponse:
        """Ask the signed-in user to confirm; the form re-sends the request's parameters."""
        fields = [
            (name, self.request.GET[name])
            for name in LOGOUT_PARAMETERS
            if self.request.GET.get(name)
        ]
        context = {"application": logout_request.client, "fields": fields}
        return render(self.request, self.template_name, context)

    def error_page(self, error: InvalidRequest) -> HttpResponse:
        """The request cannot be honoured: 400, the reason, no redirect."""
        return render(self.request, self.template_name, {"error": error}, status=400)

    def outage_response(self, request: HttpRequest) -> HttpResponse:
        """503 on the page, rendered without context processors (they may read the database)."""
        error = ServiceUnavailable()
        return HttpResponse(
            render_to_string(self.template_name, {"error": error}), status=error.status_code
        )


def _client(client_id: str) -> Any:
    """The registered client ``client_id``, or ``None``."""
    return get_application_model().objects.filter(client_id=client_id).first()


def _family_of(hint: dict[str, Any] | None) -> uuid.UUID | None:
    """The token family of the session the hint's ``sid`` names, for the hint's client."""
    sid = hint.get("sid") if hint is not None else None
    if not isinstance(sid, str):
        return None
    try:
        session_id = uuid.UUID(sid)
    except ValueError:
        return None
    family: uuid.UUID | None = (
        TokenSession.objects.filter(pk=session_id, application__client_id=hint["aud"])  # type: ignore[index]
        .values_list("token_family", flat=True)
        .first()
    )
    return family
