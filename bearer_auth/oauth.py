"""The only glue to django-oauth-toolkit and oauthlib.

``OAUTH2_PROVIDER`` points DOT here (see
:data:`bearer_auth.settings.OAUTH2_PROVIDER_REQUIRED`): the JWT generator,
the server class that takes token lifetimes from ``BEARER_AUTH``, and the
request validator.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import router, transaction
from django.db.models import F
from oauth2_provider import oauth2_validators
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_refresh_token_model,
)
from oauthlib.common import Request
from oauthlib.oauth2 import Server as OAuthlibServer
from oauthlib.oauth2.rfc6749 import errors as oauth2_errors
from oauthlib.oauth2.rfc6749.tokens import random_token_generator

from bearer_auth import policy, services
from bearer_auth.jwt import mint_access_token, token_checksum
from bearer_auth.settings import bearer_settings

logger = logging.getLogger(__name__)
# When the running /o/token/ request arrived (set by token_request_arrived).
_arrival: ContextVar[datetime | None] = ContextVar("bearer_auth_token_arrival", default=None)


def access_token_lifetime(request: Request) -> timedelta:
    """Return the lifetime of the access token about to be issued for ``request``.

    The client's ``ApplicationPolicy.access_token_lifetime`` when set, else
    ``BEARER_AUTH["ACCESS_TOKEN_LIFETIME"]``.
    """
    return policy.access_token_lifetime(getattr(request, "client", None))


def access_token_expires_in(request: Request) -> int:
    """oauthlib's ``token_expires_in``: seconds until the new access token expires."""
    return int(access_token_lifetime(request).total_seconds())


def generate_access_token(request: Request) -> str:
    """Mint the RFC 9068 JWT for an oauthlib token request (DOT's ``ACCESS_TOKEN_GENERATOR``).

    oauthlib calls this after ``token_expires_in`` has set
    ``request.expires_in``; client-credentials tokens have no user. With
    ``ACCESS_TOKEN_FORMAT = "opaque"`` it returns oauthlib's random token.
    """
    if bearer_settings.ACCESS_TOKEN_FORMAT == "opaque":
        return random_token_generator(request)  # type: ignore[no-any-return]
    user = None if request.grant_type == "client_credentials" else request.user
    return mint_access_token(
        user=user,
        client_id=request.client.client_id,
        scope=" ".join(request.scopes or ()),
        lifetime=timedelta(seconds=request.expires_in),
    ).token


class Server(OAuthlibServer):  # type: ignore[misc]
    """oauthlib's all-grants server with lifetimes from ``BEARER_AUTH``.

    DOT passes ``ACCESS_TOKEN_EXPIRE_SECONDS`` (10 hours by default); the
    access-token lifetime is bearer_auth's setting instead, so it is replaced.
    """

    def __init__(self, request_validator: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["token_expires_in"] = access_token_expires_in
        super().__init__(request_validator, *args, **kwargs)
        # Neither offered nor advertised (RFC 9700 §2.4, §2.1.2): the password
        # and implicit grants, and the device grant bearer_auth does not configure.
        for grant_type in ("password", "urn:ietf:params:oauth:grant-type:device_code"):
            self._grant_types.pop(grant_type, None)
        self._response_types.pop("token", None)


class OAuth2Validator(oauth2_validators.OAuth2Validator):  # type: ignore[misc]
    """DOT's validator with bearer_auth's client policy."""

    def validate_scopes(
        self,
        client_id: str,
        scopes: list[str],
        client: Any,
        request: Request,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        """Refuse a scope outside the application's allowed set (→ ``invalid_scope``)."""
        return bool(
            super().validate_scopes(client_id, scopes, client, request, *args, **kwargs)
            and set(scopes) <= policy.allowed_scopes(client)
        )

    def get_default_scopes(
        self, client_id: str, request: Request, *args: Any, **kwargs: Any
    ) -> list[str]:
        """Scopes granted when the client asks for none: defaults it is allowed (RFC 6749 §3.3)."""
        return sorted(policy.default_scopes(request.client))

    def validate_grant_type(
        self,
        client_id: str,
        grant_type: str,
        client: Any,
        request: Request,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        """Client credentials are for confidential clients only (RFC 6749 §4.4)."""
        if grant_type == "client_credentials" and client.client_type != client.CLIENT_CONFIDENTIAL:
            return False
        return bool(
            super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)
        )

    # Authorization codes are stored as SHA-256 digests, like tokens (DESIGN.md
    # "Keys"): every DOT method that looks a grant up by its code gets the
    # digest, so the raw code never reaches the database.

    def _create_authorization_code(
        self, request: Request, code: dict[str, str], expires: Any = None
    ) -> Any:
        return super()._create_authorization_code(
            request, {**code, "code": token_checksum(code["code"])}, expires
        )

    def confirm_redirect_uri(
        self, client_id: str, code: str, redirect_uri: str, client: Any, *args: Any, **kwargs: Any
    ) -> bool:
        return bool(
            super().confirm_redirect_uri(
                client_id, token_checksum(code), redirect_uri, client, *args, **kwargs
            )
        )

    def get_code_challenge(self, code: str, request: Request) -> str:
        return str(super().get_code_challenge(token_checksum(code), request))

    def get_code_challenge_method(self, code: str, request: Request) -> str:
        return str(super().get_code_challenge_method(token_checksum(code), request))

    def get_authorization_code_scopes(
        self, client_id: str, code: str, redirect_uri: str, request: Request
    ) -> list[str]:
        return list(
            super().get_authorization_code_scopes(
                client_id, token_checksum(code), redirect_uri, request
            )
        )

    def get_authorization_code_nonce(
        self, client_id: str, code: str, redirect_uri: str, request: Request
    ) -> str | None:
        return super().get_authorization_code_nonce(  # type: ignore[no-any-return]
            client_id, token_checksum(code), redirect_uri, request
        )

    def _check_and_set_request_resource(self, request: Request) -> None:
        raw_code = request.code
        if raw_code:
            request.code = token_checksum(raw_code)
        try:
            super()._check_and_set_request_resource(request)
        finally:
            request.code = raw_code

    def save_authorization_code(
        self, client_id: str, code: dict[str, str], request: Request, *args: Any, **kwargs: Any
    ) -> None:
        """Issue a code only for an ``S256`` PKCE challenge (RFC 9700 §2.1.1).

        oauthlib turns a missing ``code_challenge_method`` into ``plain``;
        both are refused here, whatever path reaches code creation.
        """
        require_s256(request.code_challenge_method, request=request)
        super().save_authorization_code(client_id, code, request, *args, **kwargs)

    def save_bearer_token(
        self, token: dict[str, Any], request: Request, *args: Any, **kwargs: Any
    ) -> None:
        """Save the tokens and keep the family's session.

        An authorization-code exchange starts a family: its session is
        recorded (the user sees and can end it in ``/auth/sessions/``) and
        what the code was exchanged for is remembered for code reuse. A
        refresh records its use on the family's session.
        """
        super().save_bearer_token(token, request, *args, **kwargs)
        client = services.ClientInfo.from_meta(request.headers)
        if request.grant_type == "authorization_code":
            request.bearer_issued = _issued_tokens(token)
            family = request.bearer_issued["token_family"]
            if family is not None:
                services.start_session(
                    uuid.UUID(family), user=request.user, application=request.client, client=client
                )
        elif request.grant_type == "refresh_token":
            services.touch_session(getattr(request, "bearer_family", None), client)

    def _save_bearer_token(
        self, token: dict[str, Any], request: Request, *args: Any, **kwargs: Any
    ) -> None:
        """Serialize refreshes of one family; a racer that lost gets ``invalid_grant``.

        DOT validates the refresh token before it locks it, so parallel
        requests with one token could each pass validation, and DOT then
        hands a loser the winner's tokens. Here, inside DOT's transaction,
        the family's session row is locked (the lock order of every family
        operation) and the token is checked again: already rotated means a
        parallel request won, and this one stores nothing. Not a replay, so
        the winner's tokens live (as at ``/auth/token/refresh/``).
        """
        spent = getattr(request, "refresh_token_instance", None)
        if request.grant_type == "refresh_token" and spent is not None:
            services.lock_family(spent.token_family)
            still_live = (
                get_refresh_token_model()
                .objects.select_for_update()
                .filter(pk=spent.pk, revoked__isnull=True)
                .values_list("pk", flat=True)
                .first()
            )
            if still_live is None:
                raise oauth2_errors.InvalidGrantError(request=request)
        super()._save_bearer_token(token, request, *args, **kwargs)

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: Request, *args: Any, **kwargs: Any
    ) -> None:
        """Consume the code once; a racing second redemption revokes both results.

        The grant row is locked, what the code was exchanged for is recorded,
        and the row is deleted, in one transaction. Of two racing exchanges
        the second waits for the lock, finds no row, and revokes its own
        tokens and the recorded ones. An exchange the database interrupted
        rolls back with its grant row kept; the record it left names tokens
        that no longer exist, and the retry overwrites it.
        """
        issued = getattr(request, "bearer_issued", None)
        grants = get_grant_model().objects.filter(
            code=token_checksum(code), application=request.client
        )
        with transaction.atomic(using=router.db_for_write(get_grant_model())):
            grant = grants.select_for_update().values_list("pk", flat=True).first()
            if grant is not None:
                if issued is not None:
                    _record_exchange(code, issued)
                grants.filter(pk=grant).delete()
                return
        revoke_issued_tokens(issued)
        revoke_issued_tokens(_recorded_exchange(code))
        raise oauth2_errors.InvalidGrantError(request=request)

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: Request, *args: Any, **kwargs: Any
    ) -> bool:
        """DOT's checks, then the family's session: lifetime, user, password.

        A family whose session is no longer usable (absolute lifetime over,
        user deactivated, password changed by any path) is revoked. A token
        rotated after this request arrived (:func:`token_request_arrived`) was
        rotated by a parallel request: refused, but not a replay, so DOT's
        reuse protection does not revoke the winner's family. First-party
        refresh tokens are refreshed at ``/auth/token/refresh/`` only
        (:func:`bearer_auth.services.refresh`), never here.
        """
        if client.client_id == bearer_settings.FIRST_PARTY_CLIENT_ID:
            return False
        if _lost_a_race(refresh_token):
            return False
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        family = request.refresh_token_instance.token_family
        request.bearer_family = family
        session = services.family_session(family)
        if session is not None and not services.session_usable(session):
            services.sign_out_family(family)
            return False
        return True

    def validate_code(
        self, client_id: str, code: str, client: Any, request: Request, *args: Any, **kwargs: Any
    ) -> bool:
        """Refuse an unknown or expired code; a reused one revokes what it was exchanged for.

        RFC 6749 §4.1.2: "If an authorization code is used more than once, the
        authorization server MUST deny the request and SHOULD revoke (when
        possible) all tokens previously issued based on that authorization code."
        """
        if super().validate_code(client_id, token_checksum(code), client, request, *args, **kwargs):
            return True
        revoke_issued_tokens(_recorded_exchange(code))
        return False


def token_request_arrived(at: datetime) -> AbstractContextManager[None]:
    """Tell the validator when the running ``/o/token/`` request arrived.

    ``bearer_auth.views.oauth.TokenView`` wraps each request in it; without
    it every use of a rotated refresh token counts as a replay.
    """
    return _arrival_set(at)


@contextmanager
def _arrival_set(at: datetime) -> Iterator[None]:
    marker = _arrival.set(at)
    try:
        yield
    finally:
        _arrival.reset(marker)


def _lost_a_race(refresh_token: str) -> bool:
    """Whether ``refresh_token`` was rotated after the running request arrived."""
    arrived = _arrival.get()
    if arrived is None:
        return False
    revoked: datetime | None = (
        get_refresh_token_model()
        .objects.filter(token_checksum=token_checksum(refresh_token))
        .order_by(F("revoked").desc(nulls_first=True))
        .values_list("revoked", flat=True)
        .first()
    )
    return revoked is not None and revoked >= arrived


def require_s256(method: str | None, *, request: Request | None = None) -> None:
    """Raise oauthlib's ``invalid_request`` unless the PKCE method is ``S256``."""
    if method != "S256":
        raise oauth2_errors.UnsupportedCodeChallengeMethodError(
            description='Only the "S256" code_challenge_method is supported.', request=request
        )


def _issued_tokens(token: dict[str, Any]) -> dict[str, Any]:
    """Describe the rows just saved for ``token``: the access token and refresh family."""
    access = get_access_token_model().objects.get(
        token_checksum=token_checksum(token["access_token"])
    )
    family = None
    if token.get("refresh_token"):
        family = (
            get_refresh_token_model()
            .objects.filter(token_checksum=token_checksum(token["refresh_token"]), revoked=None)
            .values_list("token_family", flat=True)
            .first()
        )
    return {"access_token_id": access.pk, "token_family": str(family) if family else None}


def revoke_issued_tokens(issued: dict[str, Any] | None) -> None:
    """Revoke the access token and the whole family (and session) recorded in ``issued``."""
    if not issued:
        return
    if issued.get("token_family"):
        services.revoke_family(uuid.UUID(issued["token_family"]))
    get_access_token_model().objects.filter(pk=issued["access_token_id"]).delete()


def _code_cache_key(code: str) -> str:
    return f"bearer_auth:code:{token_checksum(code)}"


def _record_exchange(code: str, issued: dict[str, Any]) -> None:
    """Remember, in the shared cache, what ``code`` was exchanged for (for reuse revocation).

    Without a reachable cache the exchange still succeeds (logged): a reuse
    of this code is still refused, but what it was exchanged for cannot be
    revoked then (RFC 6749 §4.1.2: "SHOULD revoke (when possible)").
    """
    try:
        cache.set(_code_cache_key(code), issued, timeout=_code_record_seconds())
    except Exception:
        # Any cache backend error (Redis, memcached, database cache).
        logger.warning("Authorization code exchange not recorded: the cache is unavailable")


def _recorded_exchange(code: str) -> dict[str, Any] | None:
    """Return what ``code`` was exchanged for, if the cache (still) holds it."""
    try:
        recorded: dict[str, Any] | None = cache.get(_code_cache_key(code))
    except Exception:
        logger.warning("Reused authorization code not traced: the cache is unavailable")
        return None
    return recorded


def _code_record_seconds() -> int:
    """Keep a redeemed code's record as long as anything it produced can live."""
    return int(bearer_settings.REFRESH_TOKEN_LIFETIME.total_seconds())
