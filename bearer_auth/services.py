"""First-party sign-in, refresh, revocation and sessions, on DOT's one token store.

Views, admin actions, commands and signal receivers call these functions for
every security operation. Tokens are made by DOT/oauthlib exactly as for OAuth
clients: the built-in first-party :func:`first_party_application` owns them,
DOT writes its hashed ``AccessToken`` / ``RefreshToken`` rows with a
``token_family``, and a refresh is DOT's own refresh-token grant (rotation,
reuse protection, family revocation). :class:`~bearer_auth.models.TokenSession`
holds what the user sees of one sign-in.

Locking: every operation on a family first locks its ``TokenSession`` row
(``SELECT ... FOR UPDATE``), so a refresh, a sign-out and a password change of
the same sign-in run one after the other; each runs in one transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

from django.contrib.auth import authenticate, user_logged_in
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import DatabaseError, router, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_refresh_token_model,
)
from oauth2_provider.oauth2_backends import get_oauthlib_core
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth2 import OAuth2Error

from bearer_auth.exceptions import (
    BearerAuthError,
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    ServiceUnavailable,
)
from bearer_auth.models import TokenSession
from bearer_auth.settings import bearer_settings
from bearer_auth.tokens import password_fingerprint, password_fingerprint_matches, token_checksum

#: The name the built-in first-party application is created with.
FIRST_PARTY_APPLICATION_NAME: Final = "First-party sign-in"
#: What oauthlib sees as the grant of a first-party sign-in (it mints the tokens only).
SIGN_IN_GRANT: Final = "password"
# oauthlib wants a URI for every request it builds; nothing reads it back.
_TOKEN_URI: Final = "/auth/token/"
_USER_AGENT_LENGTH: Final = 512  # TokenSession.user_agent
# Every failed sign-in answers with this one description, whatever the reason.
_BAD_CREDENTIALS: Final = _("The email or password is incorrect.")
# True while this module drives oauthlib's refresh grant (see first_party_grant_in_progress).
_first_party_grant: ContextVar[bool] = ContextVar("bearer_auth_first_party_grant", default=False)
# oauthlib error codes on the refresh grant, and the error each one becomes.
_GRANT_ERRORS: Final[Mapping[str, type[BearerAuthError]]] = {
    "invalid_request": InvalidRequest,
    "invalid_client": InvalidClient,
    "invalid_scope": InvalidScope,
}


@dataclass(frozen=True)
class ClientInfo:
    """What a session records about the device that signed in or refreshed."""

    ip_address: str | None
    user_agent: str


@dataclass(frozen=True)
class TokenPair:
    """An RFC 6749 §5.1 token response."""

    access_token: str
    refresh_token: str
    expires_in: int
    scope: str
    token_type: str = "Bearer"

    def as_response(self) -> dict[str, Any]:
        """Return the JSON body of the token response."""
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
        }


@dataclass(frozen=True)
class SessionInfo:
    """One active sign-in of a user, as the sessions API lists it."""

    id: uuid.UUID
    client_name: str
    created: datetime
    last_used: datetime
    expires: datetime
    ip_address: str | None
    user_agent: str
    current: bool


def first_party_application() -> Any:
    """Return the built-in first-party DOT application, creating it on first use.

    A public client (no secret) whose ``client_id`` is ``FIRST_PARTY_CLIENT_ID``.
    ``get_or_create`` is race-safe: ``client_id`` is unique, and a concurrent
    creator's row is fetched after the losing insert rolls back its savepoint.
    """
    application_model = get_application_model()
    application, _created = application_model.objects.get_or_create(
        client_id=bearer_settings.FIRST_PARTY_CLIENT_ID,
        defaults={
            "name": FIRST_PARTY_APPLICATION_NAME,
            "client_type": application_model.CLIENT_PUBLIC,
            "authorization_grant_type": application_model.GRANT_PASSWORD,
            "client_secret": "",
            "redirect_uris": "",
            "skip_authorization": True,
        },
    )
    return application


def first_party_grant_in_progress() -> bool:
    """Tell whether the running oauthlib grant was started by :func:`refresh`.

    For the OAuth validator: a first-party refresh token must be refreshed
    here, never through DOT's ``/o/token/``, which would skip the session
    lock, the absolute session lifetime and the password check. The
    validator refuses ``FIRST_PARTY_CLIENT_ID`` when this is ``False``.
    """
    return _first_party_grant.get()


def sign_in(
    request: HttpRequest,
    *,
    identifier: str,
    password: str,
    scope: str | None,
    client: ClientInfo,
) -> TokenPair:
    """Check the credentials with ``authenticate()`` and start a new session.

    Unknown user, wrong password, inactive user and unusable password all
    raise the same :class:`InvalidGrant`; Django's ``ModelBackend`` runs the
    hasher in each case, so they take about as long. A scope outside the
    first-party application's allowed scopes raises :class:`InvalidScope`
    before any password hashing. Sends ``user_logged_in`` (which updates
    ``last_login``).
    """
    with _token_store():
        application = first_party_application()
        scopes = _sign_in_scopes(scope, application)
        user = authenticate(request, username=identifier, password=password)
        if user is None or not getattr(user, "is_active", True):
            raise InvalidGrant(_BAD_CREDENTIALS)
        with transaction.atomic(using=router.db_for_write(TokenSession)):
            token = _issue_tokens(user, application=application, scopes=scopes)
            family = (
                get_refresh_token_model()
                .objects.filter(token_checksum=token_checksum(token["refresh_token"]))
                .values_list("token_family", flat=True)
                .get()
            )
            now = timezone.now()
            TokenSession.objects.create(
                token_family=family,
                user=user,
                application=application,
                created=now,
                last_used=now,
                expires=now + bearer_settings.REFRESH_TOKEN_LIFETIME,
                ip_address=client.ip_address,
                user_agent=client.user_agent[:_USER_AGENT_LENGTH],
                password_fingerprint=password_fingerprint(user),
            )
            user_logged_in.send(sender=type(user), request=request, user=user)
    return _token_pair(token)


def refresh(
    raw_token: str,
    *,
    scope: str | None,
    client: ClientInfo,
    requested_at: datetime | None = None,
) -> TokenPair:
    """Rotate a first-party refresh token through DOT's refresh-token grant.

    Raises :class:`InvalidGrant` for an unknown, expired, revoked or foreign
    token, an access token, an inactive user, a changed password or a session
    past its absolute lifetime; a replayed (already rotated) token also makes
    DOT revoke its whole family. A request that arrived (``requested_at``,
    default now) while the token was still live, and finds it rotated once it
    holds the lock, lost a race with a parallel request: it is refused
    without revoking the family, so exactly one successor survives. A wider ``scope`` raises
    :class:`InvalidScope`; a narrower one is honoured.
    """
    requested_at = requested_at or timezone.now()
    with _token_store():
        application = first_party_application()
        with transaction.atomic(using=router.db_for_write(get_refresh_token_model())):
            # Failures that revoke something are returned, not raised, so that
            # the revocation commits.
            outcome = _rotate(
                raw_token,
                scope=scope,
                application=application,
                client=client,
                requested_at=requested_at,
            )
    if isinstance(outcome, BearerAuthError):
        raise outcome
    return outcome


def revoke(raw_token: str) -> None:
    """Revoke the sign-in a first-party refresh or access token belongs to (RFC 7009).

    The whole family goes: every refresh token and access token of that
    sign-in. Unknown tokens and other clients' tokens are ignored (§2.2).
    """
    checksum = token_checksum(raw_token)
    with _token_store(), transaction.atomic(using=router.db_for_write(TokenSession)):
        application = first_party_application()
        family = (
            get_refresh_token_model()
            .objects.filter(application=application)
            .filter(Q(token_checksum=checksum) | Q(access_token__token_checksum=checksum))
            .values_list("token_family", flat=True)
            .first()
        )
        if family is None:
            return
        TokenSession.objects.select_for_update().filter(token_family=family).first()
        _revoke_family(family)


def sign_out_session(user: AbstractBaseUser, session_id: uuid.UUID) -> bool:
    """Revoke one of ``user``'s sessions; ``False`` when it is not theirs or not active."""
    with transaction.atomic(using=router.db_for_write(TokenSession)):
        session = (
            TokenSession.objects.select_for_update()
            .filter(pk=session_id, user=user, revoked__isnull=True)
            .first()
        )
        if session is None:
            return False
        _revoke_family(session.token_family)
    return True


def sign_out_everywhere(user: AbstractBaseUser) -> None:
    """Revoke every refresh token and delete every access token of ``user``, at once.

    Covers every client, first party or OAuth. Called by the sessions API and
    on any password change or deactivation (:mod:`bearer_auth.receivers`).
    """
    refresh_token_model = get_refresh_token_model()
    with transaction.atomic(using=router.db_for_write(refresh_token_model)):
        # Lock the sessions first, in a fixed order: a refresh of any of them
        # either finished before (its new token is revoked below) or waits
        # and then finds its token revoked.
        list(TokenSession.objects.select_for_update().filter(user=user).order_by("pk"))
        now = timezone.now()
        refresh_token_model.objects.filter(user=user, revoked__isnull=True).update(
            revoked=now, updated=now
        )
        # Deleting is DOT's AccessToken.revoke().
        get_access_token_model().objects.filter(user=user).delete()
        TokenSession.objects.filter(user=user, revoked__isnull=True).update(revoked=now)


def list_sessions(user: AbstractBaseUser, *, current_family: uuid.UUID | None) -> list[SessionInfo]:
    """Return ``user``'s active sessions, most recently used first.

    Active: not revoked, within its absolute lifetime, and with a live
    refresh token (whichever path revoked the family, DOT's admin included).
    """
    live_token = get_refresh_token_model().objects.filter(
        token_family=OuterRef("token_family"), revoked__isnull=True
    )
    sessions = (
        TokenSession.objects.filter(user=user, revoked__isnull=True, expires__gt=timezone.now())
        .filter(Exists(live_token))
        .select_related("application")
        .order_by("-last_used")
    )
    return [
        SessionInfo(
            id=session.id,
            client_name=session.application.name,
            created=session.created,
            last_used=session.last_used,
            expires=session.expires,
            ip_address=session.ip_address,
            user_agent=session.user_agent,
            current=session.token_family == current_family,
        )
        for session in sessions
    ]


def token_family_of(access_token_row: Any) -> uuid.UUID | None:
    """Return the family of the refresh token issued with a DOT access-token row."""
    if access_token_row is None:
        return None
    family: uuid.UUID | None = (
        get_refresh_token_model()
        .objects.filter(access_token_id=access_token_row.pk)
        .values_list("token_family", flat=True)
        .first()
    )
    return family


@contextmanager
def _token_store() -> Iterator[None]:
    """Turn a database failure into 503 ``temporarily_unavailable``: fail closed, write nothing."""
    try:
        yield
    except DatabaseError as exc:
        raise ServiceUnavailable from exc


def _sign_in_scopes(scope: str | None, application: Any) -> list[str]:
    """Return the requested scopes, or ``DEFAULT_SCOPES``, checked by DOT's validator."""
    scopes = scope.split() if scope else list(bearer_settings.DEFAULT_SCOPES)
    server = get_oauthlib_core().server
    request = _oauthlib_request(application)
    if not scopes or not server.request_validator.validate_scopes(
        application.client_id, scopes, application, request
    ):
        raise InvalidScope
    return scopes


def _oauthlib_request(application: Any, *, user: Any = None) -> OAuthlibRequest:
    request = OAuthlibRequest(_TOKEN_URI, http_method="POST")
    request.client = application
    request.client_id = application.client_id
    request.user = user
    request.grant_type = SIGN_IN_GRANT
    return request


def _issue_tokens(user: Any, *, application: Any, scopes: list[str]) -> dict[str, Any]:
    """Mint an access + refresh token pair with oauthlib and let DOT's validator store it."""
    server = get_oauthlib_core().server
    request = _oauthlib_request(application, user=user)
    request.scopes = scopes
    token: dict[str, Any] = server.default_token_type.create_token(request, refresh_token=True)
    server.request_validator.save_token(token, request)
    return token


def _rotate(
    raw_token: str,
    *,
    scope: str | None,
    application: Any,
    client: ClientInfo,
    requested_at: datetime,
) -> TokenPair | BearerAuthError:
    refresh_token_model = get_refresh_token_model()
    seen = (
        refresh_token_model.objects.filter(
            token_checksum=token_checksum(raw_token), application=application
        )
        .order_by(F("revoked").desc(nulls_first=True))
        .values("pk", "token_family", "revoked")
        .first()
    )
    if seen is None:
        return InvalidGrant()
    session = (
        TokenSession.objects.select_for_update()
        .select_related("user")
        .filter(token_family=seen["token_family"])
        .first()
    )
    if session is None:
        return InvalidGrant()
    current = (
        refresh_token_model.objects.select_for_update()
        .filter(pk=seen["pk"])
        .values("revoked")
        .first()
    )
    if current is None:
        return InvalidGrant()
    revoked = current["revoked"]
    if revoked is not None and revoked >= requested_at:
        # Rotated after this request arrived: a parallel request won the
        # race. Refused, but not a replay, so the successor lives.
        return InvalidGrant()
    if revoked is None and not _session_usable(session):
        _revoke_family(session.token_family)
        return InvalidGrant()
    marker = _first_party_grant.set(True)
    try:
        _headers, body, status = get_oauthlib_core().server.create_token_response(
            _TOKEN_URI,
            "POST",
            urlencode(
                {
                    "grant_type": "refresh_token",
                    "refresh_token": raw_token,
                    "client_id": application.client_id,
                    **({"scope": scope} if scope else {}),
                }
            ),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
    except OAuth2Error as exc:
        body, status = exc.json, exc.status_code
    finally:
        _first_party_grant.reset(marker)
    data = json.loads(body)
    if status != 200:
        _sync_revoked_session(session)
        return _GRANT_ERRORS.get(data.get("error", ""), InvalidGrant)()
    session.last_used = timezone.now()
    session.ip_address = client.ip_address
    session.user_agent = client.user_agent[:_USER_AGENT_LENGTH]
    session.save(update_fields=["last_used", "ip_address", "user_agent"])
    return _token_pair(data)


def _session_usable(session: TokenSession) -> bool:
    """Whether a live family may still be refreshed: lifetime, user, password."""
    user = session.user
    return (
        session.revoked is None
        and session.expires > timezone.now()
        and getattr(user, "is_active", True)
        and password_fingerprint_matches(user, session.password_fingerprint)
    )


def _revoke_family(family: uuid.UUID) -> None:
    """Revoke a sign-in: DOT's family revocation, then the session row."""
    get_refresh_token_model().revoke_family(family)
    TokenSession.objects.filter(token_family=family, revoked__isnull=True).update(
        revoked=timezone.now()
    )


def _sync_revoked_session(session: TokenSession) -> None:
    """Mark the session revoked once DOT's reuse protection left it no live token."""
    if session.revoked is not None:
        return
    live = get_refresh_token_model().objects.filter(
        token_family=session.token_family, revoked__isnull=True
    )
    if not live.exists():
        session.revoked = timezone.now()
        session.save(update_fields=["revoked"])


def _token_pair(token: Mapping[str, Any]) -> TokenPair:
    return TokenPair(
        access_token=str(token["access_token"]),
        refresh_token=str(token["refresh_token"]),
        expires_in=int(token["expires_in"]),
        scope=str(token.get("scope", "")),
    )
