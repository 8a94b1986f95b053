"""The first-party token endpoints: sign-in, refresh and revocation.

Every response carries ``Cache-Control: no-store`` and ``Pragma: no-cache``
(RFC 6749 §5.1) and every error is RFC 6749 §5.2 JSON, including bodies DRF
or Django refuse before a view runs (bad JSON, another media type, too many
form fields, a body over :data:`MAX_BODY_BYTES`): DRF's ``{"detail": ...}``
shape is never used here.

A browser app may ask for cookie mode (``Refresh-Token-Delivery: cookie``,
:mod:`bearer_auth.browser`): its refresh token is then set, read and cleared
as an ``HttpOnly`` cookie, never in a body.

A request with a ``DPoP`` proof (RFC 9449, :mod:`bearer_auth.dpop`) to the
sign-in or refresh endpoint gets tokens bound to the proof's key
(``"token_type": "DPoP"``); where nonces are required at the token
endpoints, every answer carries a fresh one as ``DPoP-Nonce``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, NoReturn

from django.core.exceptions import SuspiciousOperation
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.exceptions import APIException, MethodNotAllowed
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from bearer_auth import browser, dpop, services
from bearer_auth.exceptions import BearerAuthError, InvalidGrant, InvalidRequest, SlowDown
from bearer_auth.parameters import repeated_parameter
from bearer_auth.serializers import (
    CookieRefreshSerializer,
    CookieRevokeSerializer,
    RefreshSerializer,
    RevokeSerializer,
    SignInSerializer,
)
from bearer_auth.services import TokenPair
from bearer_auth.settings import bearer_settings
from bearer_auth.throttling import FailureThrottle, ip_ident

#: Largest request body read at all; a sign-in needs far less.
MAX_BODY_BYTES: Final = 64 * 1024


class TokenEndpointView(APIView):
    """Base of the token endpoints: JSON or form in, RFC 6749 JSON out."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    parser_classes = (JSONParser, FormParser)
    renderer_classes = (JSONRenderer,)
    throttle_classes: tuple[type[BaseThrottle], ...] = ()

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        # The answer is JSON whatever the Accept header says (RFC 6749 §5).
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    def throttled(self, request: Request, wait: float | None) -> NoReturn:
        raise SlowDown(wait=wait)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, BearerAuthError):
            return super().handle_exception(exc)
        if isinstance(exc, MethodNotAllowed):
            response = super().handle_exception(InvalidRequest(_("Use POST.")))
            response.status_code = exc.status_code
            response["Allow"] = "POST"
            return response
        if isinstance(exc, APIException | SuspiciousOperation):
            return super().handle_exception(InvalidRequest())
        return super().handle_exception(exc)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        dpop.add_token_endpoint_nonce(response)
        return response

    def validated(
        self, request: Request, serializer_class: type[serializers.Serializer[Any]]
    ) -> dict[str, Any]:
        """Parse the body and validate it; anything malformed is ``invalid_request``."""
        serializer = serializer_class(data=_body(request))
        if not serializer.is_valid():
            raise InvalidRequest(_describe(serializer.errors))
        return dict(serializer.validated_data)

    def token_response(self, request: Request, pair: TokenPair, *, cookie: bool) -> Response:
        """The RFC 6749 §5.1 answer; in cookie mode the refresh token is set as a cookie instead."""
        response = Response(pair.as_response(refresh_token=not cookie))
        if cookie:
            browser.set_refresh_cookie(
                response, request, pair.refresh_token, expires=pair.session_expires
            )
        return response


class SignInView(TokenEndpointView):
    """``POST /auth/token/``: email (or ``username``) and password for a token pair."""

    def post(self, request: Request) -> Response:
        # An origin that may not use cookie mode is refused before any password hashing.
        cookie = browser.cookie_mode(request)
        data = self.validated(request, SignInSerializer)
        # A DPoP proof (RFC 9449) is checked before any password hashing too.
        proof = dpop.token_request_proof(request)
        # The DRF request goes to authenticate(), as DRF's own BasicAuthentication
        # does; the sign-in budgets are claimed around it (services.sign_in).
        with dpop.token_request_bound_to(proof):
            pair = services.sign_in(
                request,
                identifier=data["identifier"],
                password=data["password"],
                scope=data.get("scope") or None,
            )
        return self.token_response(request, pair, cookie=cookie)


class FailureThrottledView(TokenEndpointView):
    """A token endpoint whose failures per client IP are limited (``REFRESH_THROTTLE_RATE``).

    Only failures count (any 4xx answer, and whatever :meth:`failed` adds):
    an office behind one address, or a backend refreshing for its users,
    is never refused for its volume; parallel requests are checked before
    any of them is decided, so a race is never answered 429.
    """

    def get_throttles(self) -> list[BaseThrottle]:
        self.failure_throttle = FailureThrottle(
            "bearer_auth_refresh",
            rate=bearer_settings.REFRESH_THROTTLE_RATE,
            ident=ip_ident(self.request),
        )
        return [self.failure_throttle]

    def failed(self, response: Response) -> bool:
        """Whether the answer counts as a failure: a 4xx other than 429."""
        return 400 <= response.status_code < 500 and response.status_code != 429

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        throttle = getattr(self, "failure_throttle", None)
        if throttle is not None and self.failed(response):
            throttle.record_failure()
        return response


class RefreshView(FailureThrottledView):
    """``POST /auth/token/refresh/``: a refresh token for a new pair (rotation)."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # When the request arrived: a token rotated after this moment was
        # rotated by a parallel request, not replayed (services.refresh).
        self.requested_at = timezone.now()
        super().initial(request, *args, **kwargs)

    def post(self, request: Request) -> Response:
        cookie = browser.cookie_mode(request)
        if cookie:
            data = self.validated(request, CookieRefreshSerializer)
            raw_token = browser.refresh_cookie(request)
            if raw_token is None:
                raise InvalidGrant(_("No refresh cookie was sent."))
        else:
            data = self.validated(request, RefreshSerializer)
            raw_token = data["refresh_token"]
        proof = dpop.token_request_proof(request)
        # A refused refresh leaves the cookie alone: a second tab that lost a
        # race to rotate it must not delete the winner's successor.
        with dpop.token_request_bound_to(proof):
            pair = services.refresh(
                raw_token,
                scope=data.get("scope") or None,
                meta=request.META,
                requested_at=self.requested_at,
            )
        return self.token_response(request, pair, cookie=cookie)


class RevokeView(FailureThrottledView):
    """``POST /auth/token/revoke/`` (RFC 7009): 200 for any well-formed request.

    A token that revoked nothing (unknown, another client's) still answers
    200 (RFC 7009 §2.2) but counts as a failure: token scanning is throttled.
    """

    revoked_something = True

    def post(self, request: Request) -> Response:
        if not browser.cookie_mode(request):
            data = self.validated(request, RevokeSerializer)
            self.revoked_something = services.revoke(data["token"])
            return Response(status=200)
        # Cookie mode's sign-out: the cookie's session ends and the cookie goes.
        self.validated(request, CookieRevokeSerializer)
        raw_token = browser.refresh_cookie(request)
        self.revoked_something = raw_token is not None and services.revoke(raw_token)
        response = Response(status=200)
        browser.clear_refresh_cookie(response, request)
        return response

    def failed(self, response: Response) -> bool:
        return super().failed(response) or (
            response.status_code == 200 and not self.revoked_something
        )


def _body(request: Request) -> Mapping[str, Any]:
    """Return the parsed body, refusing oversized, unparsable and non-object bodies."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        raise InvalidRequest(_("The request body is too large."))
    try:
        data = request.data
    except (APIException, SuspiciousOperation, RecursionError, ValueError) as exc:
        raise InvalidRequest(_("The request body could not be parsed.")) from exc
    if not isinstance(data, Mapping):
        raise InvalidRequest(_("The request body must be a JSON object or a form."))
    repeated = repeated_parameter(data)
    if repeated is not None:
        # RFC 6749 §3.1; a form's field read with get() would be its last value.
        raise InvalidRequest(
            _("The parameter %(name)s was sent more than once.") % {"name": repeated}
        )
    return data


def _describe(errors: Mapping[str, Any]) -> str:
    """Turn serializer errors into one ``error_description`` line."""
    field, messages = next(iter(errors.items()))
    message = messages[0] if isinstance(messages, list) and messages else messages
    return str(message) if field == "non_field_errors" else f"{field}: {message}"
