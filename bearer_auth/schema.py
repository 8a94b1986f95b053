"""OpenAPI descriptions for drf-spectacular (optional: install the ``demo`` extra).

:class:`BearerTokenScheme` makes ``BearerTokenAuthentication`` an HTTP bearer
(JWT) security scheme and lists, per operation, the scopes its ``HasScope`` /
``HasReadWriteScope`` permissions require. The view extensions document the
``/auth/`` endpoints (bodies, responses, every error) without making the views
import drf-spectacular. ``BearerAuthConfig.ready()`` imports this module only
when drf-spectacular is installed; importing it registers the extensions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiViewExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.views import APIView

from bearer_auth.permissions import HasScope
from bearer_auth.serializers import RefreshSerializer, RevokeSerializer, SignInSerializer

#: Name of the security scheme in ``components.securitySchemes``.
SCHEME_NAME: Final = "bearerAuth"
_TAG: Final = "auth"


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """``Authorization: Bearer <RFC 9068 JWT>``, with the operation's scopes."""

    target_class = "bearer_auth.authentication.BearerTokenAuthentication"
    match_subclasses = True
    name = SCHEME_NAME

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        definition: dict[str, Any] = build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Bearer", bearer_format="JWT"
        )
        definition["description"] = str(
            _(
                "An RFC 9068 access token (typ at+jwt) from /auth/token/ or /o/token/. "
                "A DPoP-bound one (token_type DPoP, RFC 9449) is sent as "
                "`Authorization: DPoP <token>` with a `DPoP` proof header instead. "
                "Failures answer per RFC 6750 with a WWW-Authenticate challenge."
            )
        )
        return definition

    def get_security_requirement(self, auto_schema: AutoSchema) -> dict[str, list[Any]]:
        # OpenAPI 3.0 requires an empty list for non-OAuth schemes; 3.1 allows
        # the roles (here: scopes) an operation needs.
        if spectacular_settings.OAS_VERSION.startswith("3.0"):
            return {SCHEME_NAME: []}
        return {SCHEME_NAME: required_scopes(auto_schema.view)}


def required_scopes(view: APIView) -> list[str]:
    """Return the scopes the view's scope permissions require for its request's method."""
    scopes: list[str] = []
    for permission in view.get_permissions():
        if isinstance(permission, HasScope):
            for scope in permission.get_required_scopes(view.request, view):
                if scope not in scopes:
                    scopes.append(scope)
    return scopes


def _documented(view: type[APIView], **operations: Any) -> type[APIView]:
    """Return a subclass of ``view`` carrying ``extend_schema`` per method."""
    subclass = type(view.__name__, (view,), {"__module__": view.__module__})
    documented: type[APIView] = extend_schema_view(**operations)(subclass)
    return documented


# One serializer class per component name: drf-spectacular warns when two
# different classes claim the same name.
@cache
def _error_body(name: str, codes: tuple[str, ...]) -> serializers.Serializer[Any]:
    """An RFC 6749 §5.2 / RFC 6750 §3 error body with its possible codes."""
    return inline_serializer(
        name=name,
        fields={
            "error": serializers.ChoiceField(choices=codes),
            "error_description": serializers.CharField(),
        },
    )


def _error(name: str, codes: tuple[str, ...], description: str) -> OpenApiResponse:
    return OpenApiResponse(response=_error_body(name, codes), description=description)


@cache
def _token_body() -> serializers.Serializer[Any]:
    return inline_serializer(
        name="TokenResponse",
        fields={
            "access_token": serializers.CharField(help_text="RFC 9068 JWT (typ at+jwt)."),
            "token_type": serializers.ChoiceField(
                choices=["Bearer", "DPoP"],
                help_text=(
                    "DPoP when the request carried a DPoP proof (RFC 9449): the access "
                    "token is bound to the proof's key (`cnf.jkt`)."
                ),
            ),
            "expires_in": serializers.IntegerField(help_text="Seconds."),
            "refresh_token": serializers.CharField(
                required=False,
                help_text="Opaque; single use. Not in cookie mode: it is the refresh cookie.",
            ),
            "scope": serializers.CharField(help_text="Space-separated granted scopes."),
        },
    )


def _token_response() -> OpenApiResponse:
    return OpenApiResponse(
        response=_token_body(),
        description="RFC 6749 §5.1 token response (Cache-Control: no-store).",
        examples=[
            OpenApiExample(
                "token",
                value={
                    "access_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiIsInR5cCI6ImF0K2p3dCJ9...",
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "refresh_token": "Xq3Qb4lE9mYw0cR2kVfZ8tH1sJ6uP5nA",
                    "scope": "read write",
                },
            )
        ],
    )


_RETRY_AFTER: Final = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds to wait before the next attempt.",
)
#: Cookie mode (bearer_auth.browser, docs/browser-apps.md), on the three token endpoints.
_DELIVERY: Final = OpenApiParameter(
    "Refresh-Token-Delivery",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    enum=["cookie"],
    description=(
        "Cookie mode, for browser apps (send with credentials): the refresh token is "
        "set, read and cleared as an HttpOnly `__Host-bearer_refresh` cookie and is "
        "never in a body; refresh and revocation then take an empty body. The "
        "request's `Origin` must be the API's own or in `BROWSER_APP_ORIGINS`."
    ),
)
_SET_COOKIE: Final = OpenApiParameter(
    "Set-Cookie",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200],
    description=(
        "Cookie mode only: `__Host-bearer_refresh=…; HttpOnly; Secure; SameSite=Strict; "
        "Path=/; Max-Age=<the session's lifetime>` (cleared with `Max-Age=0` by revocation)."
    ),
)
#: RFC 9449 on sign-in and refresh: the optional proof, and the server nonce answered.
_DPOP: Final = OpenApiParameter(
    "DPoP",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        "Optional DPoP proof (RFC 9449 §4): a JWT (`typ` dpop+jwt) signed with the client's "
        "key, `htm` POST, `htu` this endpoint's URL. With it the tokens are bound to that key: "
        '`token_type` is "DPoP", the access token carries `cnf.jkt`, and the sign-in refreshes '
        "only with proofs from the same key. Required of a client whose policy says "
        '"DPoP required". Ignored while the server has DPoP off.'
    ),
)
_DPOP_NONCE: Final = OpenApiParameter(
    "DPoP-Nonce",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=True,
    description=(
        "Where the server requires DPoP nonces at the token endpoints (`DPOP_NONCE_REQUIRED` "
        'has "token"): a fresh nonce on every answer, for the `nonce` claim of the next '
        "proof (RFC 9449 §8); `use_dpop_nonce` refuses a proof without a current one."
    ),
)
_TOKEN_ERRORS: Final = (
    "invalid_request",
    "invalid_grant",
    "invalid_scope",
    "invalid_dpop_proof",
    "use_dpop_nonce",
)
_SLOW_DOWN: Final = ("slow_down",)
_UNAVAILABLE: Final = ("temporarily_unavailable",)
_UNAVAILABLE_DESCRIPTION: Final = (
    "The token store (or, for a throttled endpoint, the cache) is unreachable: "
    "nothing is issued, revoked or served until it is back."
)
_RESOURCE_ERRORS: Final = ("invalid_request", "invalid_token")


def _unauthorized() -> OpenApiResponse:
    return _error(
        "ResourceError",
        _RESOURCE_ERRORS,
        "RFC 6750: 401 invalid_token (or no credentials: bare challenge), "
        "400 invalid_request for a malformed Authorization header.",
    )


def _issued() -> dict[int, Any]:
    """What sign-in and refresh answer: a token pair or an RFC 6749 §5.2 error."""
    return {
        200: _token_response(),
        400: _error(
            "TokenError",
            _TOKEN_ERRORS,
            "RFC 6749 §5.2 error; RFC 9449's invalid_dpop_proof and use_dpop_nonce for DPoP.",
        ),
    }


@cache
def _me() -> serializers.Serializer[Any]:
    return inline_serializer(
        name="Me",
        fields={
            "id": serializers.CharField(help_text="The token's `sub`."),
            "username": serializers.CharField(),
            "email": serializers.CharField(),
            "full_name": serializers.CharField(),
            "short_name": serializers.CharField(),
            "date_joined": serializers.DateTimeField(allow_null=True),
        },
    )


@cache
def _session() -> serializers.Serializer[Any]:
    return inline_serializer(
        name="Session",
        fields={
            "id": serializers.UUIDField(),
            "client_name": serializers.CharField(),
            "created": serializers.DateTimeField(),
            "last_used": serializers.DateTimeField(),
            "expires": serializers.DateTimeField(),
            "ip_address": serializers.IPAddressField(allow_null=True),
            "user_agent": serializers.CharField(),
            "current": serializers.BooleanField(help_text="The session of this token."),
            "dpop_bound": serializers.BooleanField(
                help_text=(
                    "Its latest tokens are bound to a DPoP key (RFC 9449): they are "
                    "refreshed and used only with proofs from that key."
                )
            ),
        },
        many=True,
    )


@cache
def _userinfo() -> serializers.Serializer[Any]:
    return inline_serializer(
        name="UserInfo",
        fields={
            "sub": serializers.CharField(help_text="The ID token's and access token's `sub`."),
            "name": serializers.CharField(help_text="Scope `profile`.", required=False),
            "given_name": serializers.CharField(help_text="Scope `profile`.", required=False),
            "family_name": serializers.CharField(help_text="Scope `profile`.", required=False),
            "nickname": serializers.CharField(help_text="Scope `profile`.", required=False),
            "preferred_username": serializers.CharField(
                help_text="Scope `profile`.", required=False
            ),
            "email": serializers.CharField(help_text="Scope `email`.", required=False),
            "email_verified": serializers.BooleanField(help_text="Scope `email`.", required=False),
        },
    )


def _userinfo_responses() -> dict[int, Any]:
    return {
        200: _userinfo(),
        403: _error(
            "ScopeError",
            ("insufficient_scope",),
            'RFC 6750: the token lacks the `openid` scope (challenge scope="openid").',
        ),
        404: OpenApiResponse(description="OpenID Connect is not enabled (OIDC_ENABLED)."),
    }


_USERINFO_DESCRIPTION: Final = (
    "OpenID Connect Core §5.3: the claims the token's scopes release (claims with "
    "no value are left out). The access token goes in the Authorization header only."
)


@dataclass(frozen=True)
class _Operation:
    """One operation of an ``/auth/`` view: what differs from its kind's shared shape.

    An operation with a ``request`` body is a token endpoint (RFC 6749 §5: no
    bearer token, throttled: 429 with ``Retry-After``); one without is an
    account endpoint (a bearer token, answering RFC 6750's 400 and 401).
    Every operation fails closed with 503 when the token store (or the
    throttle cache) cannot be reached.
    """

    view: str
    method: str
    operation_id: str
    summary: str
    responses: Callable[[], dict[int, Any]]
    description: str | None = None
    request: type[serializers.Serializer[Any]] | None = None
    #: A token endpoint that accepts a DPoP proof (RFC 9449).
    dpop: bool = False

    def extend_schema(self) -> Any:
        """Return the ``extend_schema`` decorator of this operation."""
        responses = self.responses()
        responses[503] = _error("Unavailable", _UNAVAILABLE, _UNAVAILABLE_DESCRIPTION)
        details: dict[str, Any] = {}
        if self.request is None:
            responses.update({400: _unauthorized(), 401: _unauthorized()})
            details["request"] = None  # no body (UserInfo's POST included)
        else:
            responses[429] = _error("SlowDown", _SLOW_DOWN, "Throttled: see Retry-After.")
            parameters = [_RETRY_AFTER, _DELIVERY, _SET_COOKIE]
            if self.dpop:
                parameters += [_DPOP, _DPOP_NONCE]
            details.update(request=self.request, auth=[], parameters=parameters)
        return extend_schema(
            tags=[_TAG],
            operation_id=self.operation_id,
            summary=self.summary,
            description=self.description,
            responses=dict(sorted(responses.items())),
            **details,
        )


_OPERATIONS: Final = (
    _Operation(
        view="bearer_auth.views.first_party.SignInView",
        method="post",
        operation_id="auth_sign_in",
        summary="Sign in with email and password",
        description=(
            "First-party sign-in: `email` (or its alias `username`) and "
            "`password`, optional `scope`. Unknown user, wrong password and "
            "inactive user give the same `invalid_grant` answer."
        ),
        request=SignInSerializer,
        responses=_issued,
        dpop=True,
    ),
    _Operation(
        view="bearer_auth.views.first_party.RefreshView",
        method="post",
        operation_id="auth_refresh",
        summary="Rotate a refresh token",
        description=(
            "Returns a new access token and a NEW refresh token; the old one "
            "stops working. Replaying a rotated token revokes the whole sign-in. "
            "In cookie mode the body is empty (or a narrower `scope`): the refresh "
            "token is the cookie's."
        ),
        request=RefreshSerializer,
        responses=_issued,
        dpop=True,
    ),
    _Operation(
        view="bearer_auth.views.first_party.RevokeView",
        method="post",
        operation_id="auth_revoke",
        summary="Revoke a token (RFC 7009)",
        description=(
            "Revokes the sign-in a refresh or access token belongs to. Unknown "
            "tokens are answered 200 too. In cookie mode the body is empty: the "
            "refresh cookie's sign-in is revoked and the cookie cleared."
        ),
        request=RevokeSerializer,
        responses=lambda: {
            200: OpenApiResponse(description="Revoked, or nothing to revoke."),
            400: _error("RevokeError", ("invalid_request",), "`token` is missing."),
        },
    ),
    _Operation(
        view="bearer_auth.views.account.MeView",
        method="get",
        operation_id="auth_me",
        summary="The signed-in user",
        responses=lambda: {200: _me()},
    ),
    _Operation(
        view="bearer_auth.views.account.SessionsView",
        method="get",
        operation_id="auth_sessions_list",
        summary="The user's active sign-ins",
        responses=lambda: {200: _session()},
    ),
    _Operation(
        view="bearer_auth.views.account.SessionsView",
        method="delete",
        operation_id="auth_sign_out_everywhere",
        summary="Sign out everywhere",
        description="Every refresh and access token of the user stops working.",
        responses=lambda: {204: None},
    ),
    _Operation(
        view="bearer_auth.views.account.SessionDetailView",
        method="delete",
        operation_id="auth_session_sign_out",
        summary="Sign out one session",
        responses=lambda: {
            204: None,
            404: OpenApiResponse(description="Not one of the user's active sessions."),
        },
    ),
    *(
        _Operation(
            view="bearer_auth.views.oidc.UserInfoView",
            method=method,
            operation_id=f"oidc_userinfo_{method}",
            summary="OpenID Connect UserInfo",
            description=_USERINFO_DESCRIPTION,
            responses=_userinfo_responses,
        )
        for method in ("get", "post")
    ),
)


class _AuthViewSchema(OpenApiViewExtension):  # type: ignore[no-untyped-call]
    """Document one ``/auth/`` view with its rows of :data:`_OPERATIONS`."""

    def view_replacement(self) -> type[APIView]:
        view = f"{self.target.__module__}.{self.target.__qualname__}"
        return _documented(
            self.target,
            **{op.method: op.extend_schema() for op in _OPERATIONS if op.view == view},
        )


# One extension per documented view (drf-spectacular matches an extension to
# one target class); creating the subclass registers it.
for _view in dict.fromkeys(op.view for op in _OPERATIONS):
    type(f"{_view.rsplit('.', 1)[1]}Schema", (_AuthViewSchema,), {"target_class": _view})
