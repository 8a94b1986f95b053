"""DOT's OAuth endpoints as bearer_auth serves them (mounted by :mod:`bearer_auth.oauth_urls`).

- :class:`AuthorizationView`: the consent page; ``S256`` PKCE only, RFC 9207
  ``iss`` equal to the token issuer, ``http`` redirects for loopback only.
- :class:`TokenView`, :class:`RevokeTokenView`, :class:`IntrospectTokenView`:
  DOT's views behind a failure throttle (DOT's views are not DRF views, so
  DRF's throttling is applied here, with DRF's own throttle class).

Each runs in one transaction and answers a database outage with 503
``temporarily_unavailable`` (:class:`DatabaseOutageMixin`); every error these
views write themselves is rendered by :func:`error_response`, the way DRF
renders the same exception on the first-party endpoints.
"""

from __future__ import annotations

import base64
import json
import logging
from contextlib import AbstractContextManager
from typing import Any, ClassVar, cast
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, router, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as oauth2_views
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.models import (
    AbstractApplication,
    get_access_token_model,
    get_refresh_token_model,
)
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.common import urlencode as oauthlib_urlencode
from oauthlib.oauth2.rfc6749.errors import (
    InvalidRedirectURIError,
    InvalidRequestFatalError,
    OAuth2Error,
    UnsupportedGrantTypeError,
)
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler

from bearer_auth import dpop
from bearer_auth.authentication import BearerTokenAuthentication
from bearer_auth.exceptions import (
    BearerAuthError,
    InvalidClient,
    InvalidDPoPProof,
    InvalidRequest,
    InvalidToken,
    ServiceUnavailable,
    SlowDown,
    UseDPoPNonce,
)
from bearer_auth.jwt import (
    decode_access_token,
    token_checksum,
    unverified_audience,
    user_subject,
)
from bearer_auth.middleware import frame_ancestors_none
from bearer_auth.oauth import check_code_request
from bearer_auth.parameters import repeated_parameter
from bearer_auth.policy import is_loopback_redirect_uri
from bearer_auth.resources import default_resource, find_resource
from bearer_auth.services.rotation import request_arrived
from bearer_auth.settings import bearer_settings
from bearer_auth.throttling import (
    FailureThrottle,
    client_ident,
    ip_ident,
    watch_client_authentication,
)
from bearer_auth.views.dpop_authorization import DPoPAuthorizationMixin
from bearer_auth.views.oidc_authorization import OpenIDAuthorizationMixin

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# Claims an active JWT access token's introspection answer repeats (RFC 7662 §2.2).
_INTROSPECTED_CLAIMS = ("iss", "sub", "aud", "iat", "nbf", "jti")

logger = logging.getLogger(__name__)

#: The challenge of a failed client authentication at /o/token/, /o/revoke_token/
#: and /o/introspect/ (RFC 6749 §2.3.1, §5.2).
CLIENT_CHALLENGE = 'Basic realm="oauth"'


def error_response(error: BearerAuthError) -> HttpResponse:
    """Render ``error`` for a plain Django view exactly as DRF renders it for an API view.

    DRF's own exception handler builds the answer (the RFC 6749 §5.2 body,
    ``WWW-Authenticate``, ``Retry-After``), rendered as JSON; like every
    token-endpoint answer it is never cached (RFC 6749 §5.1).
    """
    # DRF's handler answers every APIException (None is for other exceptions).
    response = cast(Response, exception_handler(error, {}))
    response.accepted_renderer = JSONRenderer()
    response.accepted_media_type = JSONRenderer.media_type
    response.renderer_context = {}  # type: ignore[attr-defined]  # set by APIView, unstubbed
    response.render()
    return _no_store(response)


class DatabaseOutageMixin:
    """Run the request in one transaction; answer a database outage with 503, writing nothing.

    Any :class:`~django.db.DatabaseError` (or a :class:`ServiceUnavailable`
    raised on the way) rolls the whole request back: a code exchange or a
    refresh interrupted half-way leaves the code or the refresh token as it
    was, so the same request succeeds once the database is back. The
    transaction is on the token store's database (where DOT writes tokens).
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            with self.request_transaction():
                response: HttpResponse = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        except (DatabaseError, ServiceUnavailable):
            # Logged with its cause; the client sees no detail of it.
            logger.warning("bearer_auth: database unavailable at %s", request.path, exc_info=True)
            return self.outage_response(request)
        return response

    def request_transaction(self) -> AbstractContextManager[Any]:
        """Return the transaction the request runs in."""
        return transaction.atomic(using=router.db_for_write(get_access_token_model()))

    def outage_response(self, request: HttpRequest) -> HttpResponse:
        """The answer while the database is unavailable: 503 ``temporarily_unavailable``."""
        return error_response(ServiceUnavailable())


@method_decorator(xframe_options_deny, name="dispatch")
@method_decorator(frame_ancestors_none, name="dispatch")
@method_decorator(never_cache, name="dispatch")
class AuthorizationView(
    DatabaseOutageMixin,
    OpenIDAuthorizationMixin,
    DPoPAuthorizationMixin,
    oauth2_views.AuthorizationView,  # type: ignore[misc]
):
    """The consent page and the redirect back to the client.

    OpenID Connect's request parameters (``max_age``, ``prompt``,
    ``id_token_hint``, ``login_hint``, ``ui_locales``) are answered by
    :class:`~bearer_auth.views.oidc_authorization.OpenIDAuthorizationMixin`;
    DPoP's ``dpop_jkt`` (RFC 9449 §10) is carried to the code by
    :class:`~bearer_auth.views.dpop_authorization.DPoPAuthorizationMixin`.

    The template is ``bearer_auth/authorize.html``: DOT's own
    ``oauth2_provider/authorize.html`` would win the template search when
    ``oauth2_provider`` comes first in ``INSTALLED_APPS``.
    """

    template_name = "bearer_auth/authorize.html"

    def validate_authorization_request(self, request: HttpRequest) -> tuple[list[str], Any]:
        """Refuse a missing or ``plain`` PKCE method, a challenge that is no S256 one or an
        overlong nonce (:func:`~bearer_auth.oauth.check_code_request`) before asking the user.

        A ``redirect_uri`` that cannot even be parsed (``https://[12345::1]/``
        makes ``urlsplit`` raise ``ValueError`` inside DOT's matching) is a
        fatal ``invalid_request`` shown to the user, never a 500 or a redirect.
        So is a query parameter sent twice (RFC 6749 §3.1): oauthlib refuses
        a repeated ``client_id``, ``response_type``, ``redirect_uri``, ``scope``
        or ``state`` itself, and would read the last of any other
        (``code_challenge``, ``code_challenge_method``).
        """
        repeated = repeated_parameter(request.GET)
        if repeated is not None:
            raise FatalClientError(
                error=InvalidRequestFatalError(
                    description=_("The parameter %(name)s was sent more than once.")
                    % {"name": repeated}
                )
            )
        try:
            scopes, credentials = super().validate_authorization_request(request)
        except ValueError as exc:
            raise OAuthToolkitError(
                error=InvalidRedirectURIError(description=_("The redirect_uri is malformed."))
            ) from exc
        try:
            check_code_request(credentials["request"])
        except OAuth2Error as error:
            raise OAuthToolkitError(
                error=error, redirect_uri=credentials["redirect_uri"]
            ) from error
        return scopes, credentials

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        context["scope_items"] = list(
            zip(context.get("scopes", ()), context.get("scopes_descriptions", ()), strict=True)
        )
        application = context.get("application")
        # A client that registered itself (RFC 7591) chose its own name: the
        # page says so, since nobody running this site vouched for it.
        context["self_registered"] = application is not None and (
            application.registration_source == application.RegistrationSource.DCR
        )
        # RFC 8707: the API the token will be for, when it is not the default one.
        requested = find_resource(str(context.get("resource") or ""))
        context["requested_resource"] = (
            requested if requested is not None and requested.uri != default_resource().uri else None
        )
        return context

    def form_invalid(self, form: Any) -> HttpResponse:
        """A consent answer that is not the form the page sent: 400, the error page, no code.

        The page's hidden fields carry the request (``scope``, ``client_id``,
        ``redirect_uri``...); a post without one, or with one DOT's form
        refuses, cannot be sent back to a redirect URI nobody has checked.
        DOT's own answer re-renders the consent page without its client.
        """
        error = InvalidRequest(
            _("The answer to the consent page was incomplete. Start again from the application.")
        )
        response: HttpResponse = self.render_to_response({"error": error}, status=error.status_code)
        return response

    def redirect(self, redirect_to: str, application: Any) -> HttpResponse:
        """Send the browser back to the client, stating this server's ``iss`` (RFC 9207).

        DOT adds ``iss`` (``OIDC_ISS_ENDPOINT``, which ``bearer_auth.E012``
        holds to the ``iss`` of the tokens) to a successful response only;
        RFC 9207 §2 wants it in error responses too (``access_denied``, the
        ``login_required`` of ``prompt=none``), so every redirect gets DOT's
        value here. ``http`` is allowed for loopback redirect URIs only
        (RFC 8252 §7.3).
        """
        if oauth2_settings.COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS:
            redirect_to = _with_iss(
                redirect_to, oauth2_settings.oauth2_authorization_server_issuer(self.request)
            )
        schemes = list(
            application.get_allowed_schemes()
            if application is not None
            else oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES
        )
        if is_loopback_redirect_uri(redirect_to):
            schemes.append("http")
        response: HttpResponse = OAuth2ResponseRedirect(redirect_to, schemes)
        return response

    def outage_response(self, request: HttpRequest) -> HttpResponse:
        """503 with the consent page's short error message; never a redirect.

        RFC 6749 §4.1.2.1 allows ``temporarily_unavailable`` in a redirect, but
        only to a redirect URI verified against the client's registration,
        and that check needs the database. The page is rendered without the
        request's context processors, which could reach the database again
        (the session, messages).
        """
        error = ServiceUnavailable()  # its .error and .description fill the template
        page = render_to_string(self.template_name, {"error": error})
        return HttpResponse(page, status=error.status_code)


def _with_iss(uri: str, iss: str) -> str:
    """Return ``uri`` with ``iss`` as its one ``iss`` query parameter (RFC 9207 §2).

    An ``iss`` already in the query (a registered redirect URI may carry one)
    is dropped, so the client reads exactly one. Authorization responses are
    in the query: the implicit grant (a fragment response) is not offered.
    """
    parts = urlsplit(uri)
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name != "iss"
    ]
    query.append(("iss", iss))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


class ThrottledOAuthMixin:
    """Answer 429 + ``Retry-After`` once failures at this endpoint exceed a budget.

    A failure by a confidential client that proved its secret (the validator
    says so, :func:`~bearer_auth.throttling.client_authenticated`) counts
    against that client's budget (``OAUTH_CLIENT_THROTTLE_RATES``); any
    other failure against the client IP's (``OAUTH_THROTTLE_RATES``). A
    request is refused when its IP's budget is spent, or the budget of the
    client it names: only that client's own authenticated failures fill it,
    so a busy backend is not locked out by other users' failures on its
    address, and nobody without its secret can lock it out.
    """

    throttle_scope: ClassVar[str]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        by_ip = self.failure_throttle(request, None)
        named = _named_client_id(request)
        throttles = [by_ip] + ([self.failure_throttle(request, named)] if named else [])
        for throttle in throttles:
            if not throttle.allow_request(request, self):
                return throttled_response(throttle.wait())
        with watch_client_authentication() as authenticated:
            response: HttpResponse = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        if self.is_failure(response):
            charged = self.failure_throttle(request, authenticated[0]) if authenticated else by_ip
            charged.record_failure()
        return response

    def failure_throttle(self, request: HttpRequest, client_id: str | None) -> FailureThrottle:
        """The failure budget of ``client_id`` at this endpoint, or of the request's IP."""
        if client_id is None:
            rates = bearer_settings.OAUTH_THROTTLE_RATES
            ident = ip_ident(request)
        else:
            rates = bearer_settings.OAUTH_CLIENT_THROTTLE_RATES
            ident = client_ident(client_id)
        scope = f"oauth-{self.throttle_scope}"
        return FailureThrottle(scope, rate=rates.get(self.throttle_scope), ident=ident)

    def is_failure(self, response: HttpResponse) -> bool:
        """A 4xx answer: failed client authentication, an invalid grant or request."""
        return 400 <= response.status_code < 500 and response.status_code != 429


def _named_client_id(request: HttpRequest) -> str | None:
    """The client a request names (HTTP Basic user name or ``client_id``), authenticated or not."""
    scheme, _space, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        # RFC 6749 §2.3.1: the client id is form-encoded before Basic encoding.
        return unquote_plus(decoded.partition(":")[0]) or None
    client_id = request.POST.get("client_id")
    return client_id or None


class ClientRequestMixin:
    """RFC 6749 at the client endpoints: each parameter once, one client authentication.

    Checked before anything else (no transaction, no client lookup): a
    parameter sent twice (§3.1) or ``client_secret`` in the body of a request
    that also carries an ``Authorization`` header (§2.3: "MUST NOT use more
    than one authentication method") is ``invalid_request``, a failure for the
    throttle. ``client_id`` beside HTTP Basic is allowed: it names the client
    (§3.2.1), it does not authenticate it, and oauthlib refuses one that
    differs from the authenticated client.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            refusal = client_request_refusal(request)
            if refusal is not None:
                return _client_endpoint_answer(error_response(refusal))
        response: HttpResponse = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        return response


def client_request_refusal(request: HttpRequest) -> InvalidRequest | None:
    """Return the ``invalid_request`` a client endpoint answers ``request`` with, if any."""
    repeated = repeated_parameter(request.POST)
    if repeated is not None:
        return InvalidRequest(
            _("The parameter %(name)s was sent more than once.") % {"name": repeated}
        )
    if "HTTP_AUTHORIZATION" in request.META and "client_secret" in request.POST:
        return InvalidRequest(
            _("Use one client authentication method: HTTP Basic or client_secret, not both.")
        )
    return None


def throttled_response(wait: float | None) -> HttpResponse:
    """RFC 6749 §5.2-shaped 429 with ``Retry-After`` (the project's :class:`SlowDown`)."""
    return error_response(SlowDown(wait=wait))


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(login_not_required, name="dispatch")
class TokenView(
    ThrottledOAuthMixin,
    ClientRequestMixin,
    DatabaseOutageMixin,
    oauth2_views.TokenView,  # type: ignore[misc]
):
    """``/o/token/``: DOT's token endpoint behind the failure throttle.

    A request with a valid DPoP proof gets tokens bound to its key (RFC 9449,
    :mod:`bearer_auth.dpop`); an invalid proof is ``invalid_dpop_proof``.
    """

    throttle_scope = "token"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Parallel refresh versus replay is decided by when the request arrived.
        with request_arrived(timezone.now()):
            response: HttpResponse = super().dispatch(request, *args, **kwargs)
        dpop.add_token_endpoint_nonce(response)
        return response

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.POST.get("grant_type") == DEVICE_CODE_GRANT:
            # The device grant is not offered (no device endpoints are mounted);
            # DOT's device path would look up a device grant that cannot exist.
            error = UnsupportedGrantTypeError()
            return _no_store(
                HttpResponse(error.json, status=error.status_code, content_type="application/json")
            )
        # RFC 9449: tokens bound to the key of a valid DPoP proof, for every grant.
        try:
            proof = dpop.token_request_proof(request)
        except (InvalidDPoPProof, UseDPoPNonce) as refusal:
            return _client_endpoint_answer(error_response(refusal))
        with dpop.token_request_bound_to(proof):
            response: HttpResponse = self.authorization_flow_token_response(request)
        # Every oauthlib token-endpoint body is JSON, but an error raised after
        # validation (the loser of a race for one code) reaches DOT without
        # oauthlib's default headers.
        response["Content-Type"] = "application/json"
        return _client_endpoint_answer(response)


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(login_not_required, name="dispatch")
class RevokeTokenView(
    ThrottledOAuthMixin,
    ClientRequestMixin,
    DatabaseOutageMixin,
    oauth2_views.RevokeTokenView,  # type: ignore[misc]
):
    """``/o/revoke_token/`` (RFC 7009): a client revokes only its own tokens.

    A token the server never stored answers 200 all the same (§2.2) but
    counts as a failure for the throttle, so token scanning is throttled; a
    client revoking its own tokens (even twice: a revoked refresh token stays
    stored) is not counted.
    """

    throttle_scope = "revoke"
    token_stored = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.token_stored = _stored(request.POST.get("token", ""))
        return _client_endpoint_answer(super().post(request, *args, **kwargs))

    def is_failure(self, response: HttpResponse) -> bool:
        return super().is_failure(response) or (
            response.status_code == 200 and not self.token_stored
        )


def _stored(raw_token: str) -> bool:
    """Whether ``raw_token`` is an access or refresh token the server stored (any client)."""
    checksum = token_checksum(raw_token)
    return any(
        model.objects.filter(token_checksum=checksum).exists()
        for model in (get_access_token_model(), get_refresh_token_model())
    )


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(login_not_required, name="dispatch")
class IntrospectTokenView(
    ThrottledOAuthMixin,
    ClientRequestMixin,
    DatabaseOutageMixin,
    oauth2_views.IntrospectTokenView,  # type: ignore[misc]
):
    """``/o/introspect/`` (RFC 7662): POST only, for an authenticated caller.

    A token is active exactly when the API it is for would accept it
    (:class:`IntrospectedTokenAuthentication`); anything else
    is ``{"active": false}`` and nothing more. Inactive answers count as
    failures for the throttle, so token scanning is throttled.
    """

    throttle_scope = "introspect"
    http_method_names: ClassVar[list[str]] = ["post", "options"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = request.POST.get("token")
        if not token:
            return error_response(InvalidRequest(_("The token is missing.")))
        # A token store outage raises ServiceUnavailable: 503 (DatabaseOutageMixin).
        return _no_store(JsonResponse(introspect(token)))

    def authenticate_client(self, request: HttpRequest) -> bool:
        """Authenticate a confidential client; a public one proves nothing (RFC 7662 §2.1).

        A public client's stored secret is the hash of an empty one, so the
        validator's client authentication accepts its ``client_id`` alone (in
        the body or as ``Basic client_id:``), which is right at /o/token/ and
        wrong here. DOT's wrapper returns only a boolean: the oauthlib request
        is built from the same parts (DOT's ``extract_body`` and
        ``extract_headers``), and the client the validator set on it decides.
        The query string plays no part (the endpoint reads the body).
        """
        core = self.get_oauthlib_core()
        oauthlib_request = OAuthlibRequest(
            request.build_absolute_uri(request.path),
            request.method,
            oauthlib_urlencode(core.extract_body(request)),
            core.extract_headers(request),
        )
        if not core.server.request_validator.authenticate_client(oauthlib_request):
            return False
        client_type = getattr(oauthlib_request.client, "client_type", None)
        return bool(client_type == AbstractApplication.CLIENT_CONFIDENTIAL)

    def verify_request(self, request: HttpRequest) -> tuple[bool, Any]:
        """DOT's other way in: a confidential client's access token with scope ``introspection``.

        A token issued to a public client (its user consented to a scope the
        project defines) does not make that client a resource server.
        """
        valid, oauthlib_request = super().verify_request(request)
        client_type = getattr(getattr(oauthlib_request, "client", None), "client_type", None)
        confidential = client_type == AbstractApplication.CLIENT_CONFIDENTIAL
        return bool(valid and confidential), oauthlib_request

    def unauthenticated_response(
        self, request: HttpRequest, oauthlib_request: Any = None
    ) -> HttpResponse:
        """RFC 7662 §2.3: an unauthenticated caller gets 401, not an answer."""
        return _client_endpoint_answer(error_response(InvalidClient()))

    def is_failure(self, response: HttpResponse) -> bool:
        if super().is_failure(response):
            return True
        return response.status_code == 200 and json.loads(response.content) == {"active": False}


class IntrospectedTokenAuthentication(BearerTokenAuthentication):
    """Introspection's check: :class:`BearerTokenAuthentication`'s, for any resource.

    A token is active when the API it was issued for would accept it: the
    default resource's, or one of ``RESOURCES`` (RFC 8707), named by its
    ``aud`` (read unverified only to choose which resource to verify it for)
    or, for an opaque token, by its row's ``resource`` column.
    """

    def get_validated_token(self, raw_token: str) -> dict[str, Any]:
        named = unverified_audience(raw_token)
        resource = named if named is not None and find_resource(named) is not None else None
        return decode_access_token(raw_token, resource=resource)

    def accepts_resources(self, resources: list[str]) -> bool:
        return all(find_resource(resource) is not None for resource in resources)


def introspect(token: str) -> dict[str, Any]:
    """Return the RFC 7662 answer for ``token``: its facts when active, else only ``active``."""
    try:
        user, bearer = IntrospectedTokenAuthentication().authenticate_credentials(token)
    except InvalidToken:
        return {"active": False}
    bound_jkt = dpop.bound_key(bearer.claims)
    data: dict[str, Any] = {
        "active": True,
        # RFC 9449 §6.2: a DPoP-bound token is said to be one, with its key.
        "token_type": dpop.SCHEME if bound_jkt else "Bearer",
        "scope": bearer.scope,
        "client_id": bearer.client_id,
        "exp": int(bearer.expires_at.timestamp()),
    }
    data.update(
        {name: bearer.claims[name] for name in _INTROSPECTED_CLAIMS if name in bearer.claims}
    )
    if "sub" not in data and user.is_authenticated:
        data["sub"] = user_subject(user)
    if bound_jkt:
        data["cnf"] = {"jkt": bound_jkt}
    return data


def _client_endpoint_answer(response: HttpResponse) -> HttpResponse:
    """An answer of an endpoint where clients authenticate: never cached, Basic on a 401.

    RFC 6749 §5.2 challenges a failed client authentication with the scheme
    clients use there, HTTP Basic (oauthlib's error headers name RFC 6750's
    ``Bearer``, the scheme of a resource server); RFC 6749 §5.1 and RFC 7009
    answers are never cached.
    """
    if response.status_code == 401:
        response["WWW-Authenticate"] = CLIENT_CHALLENGE
    return _no_store(response)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response
