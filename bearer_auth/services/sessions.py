"""Sessions: what a user sees of each token family, and signing out of them.

A :class:`~bearer_auth.models.TokenSession` row is written when a family
starts (a first-party sign-in, or an OAuth authorization-code exchange) and
updated when it is refreshed. It holds the family's absolute lifetime and
the user's password fingerprint at sign-in, so a refresh after any password
change (a queryset update included) is refused.

Locking: every operation on a family first locks its ``TokenSession`` row
(``SELECT ... FOR UPDATE``), so a refresh, a sign-out and a password change
of the same family run one after the other; each runs in one transaction.
This is enforced here, not left to callers: the functions that end a family
(:func:`sign_out_family`, :func:`sign_out_session`, :func:`sign_out_everywhere`)
take the lock themselves, and the only code that revokes without taking it,
``_revoke_family``, is private to this module. A refresh takes the lock with
:func:`lock_session_of_token` before it reads the presented token.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import router, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_id_token_model,
    get_refresh_token_model,
)
from oauth2_provider.settings import oauth2_settings

from bearer_auth.jwt import password_fingerprint, password_fingerprint_matches
from bearer_auth.models import TokenSession
from bearer_auth.settings import bearer_settings
from bearer_auth.throttling import client_ip_from_meta

_USER_AGENT_LENGTH: Final = 512  # TokenSession.user_agent


@dataclass(frozen=True)
class ClientInfo:
    """What a session records about the device that signed in or refreshed."""

    ip_address: str | None
    user_agent: str

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> ClientInfo:
        """Read the client's address and user agent from WSGI ``META`` (or a copy of it)."""
        user_agent = str(meta.get("HTTP_USER_AGENT", "")).replace("\x00", "")
        return cls(ip_address=client_ip_from_meta(meta), user_agent=user_agent[:_USER_AGENT_LENGTH])


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
    #: Whether the sign-in's latest tokens are bound to a DPoP key (RFC 9449):
    #: a stolen refresh or access token of it is worthless without that key.
    dpop_bound: bool = False


def start_session(
    family: uuid.UUID,
    *,
    user: Any,
    application: Any,
    client: ClientInfo,
    session_id: uuid.UUID | None = None,
    id_token: Any = None,
    dpop_jkt: str = "",
) -> TokenSession:
    """Record a new family: its device, absolute lifetime and the user's password fingerprint.

    ``session_id`` is the id an OpenID Connect ID token issued with the family
    already names as its ``sid``, and ``id_token`` that token's row;
    ``dpop_jkt`` the thumbprint of the DPoP key its tokens are bound to.
    """
    now = timezone.now()
    session = TokenSession(
        id=session_id or uuid.uuid4(),
        id_token=id_token,
        token_family=family,
        user=user,
        application=application,
        created=now,
        last_used=now,
        expires=now + bearer_settings.REFRESH_TOKEN_LIFETIME,
        ip_address=client.ip_address,
        user_agent=client.user_agent[:_USER_AGENT_LENGTH],
        password_fingerprint=password_fingerprint(user),
        dpop_jkt=dpop_jkt,
    )
    session.save(force_insert=True)
    return session


def session_usable(session: TokenSession, *, now: datetime | None = None) -> bool:
    """Whether a family may still be refreshed: not revoked, lifetime, user, password."""
    user = session.user
    return (
        session.revoked is None
        and session.expires > (now or timezone.now())
        and getattr(user, "is_active", True)
        and password_fingerprint_matches(user, session.password_fingerprint)
    )


def lock_session_of_token(checksum: str) -> TokenSession | None:
    """Lock the session of the family whose refresh token has this digest; return it with its user.

    The first statement of a refresh, before the presented token is read, so
    that a refresh, a sign-out and a password change of one family take the
    same lock first. ``None`` for an unknown token or a family without a
    session (one issued before sessions existed). Call it in a transaction.
    """
    # The family is found by the digest alone (its index); joined to more
    # tables, SQLite's planner walks every token instead.
    family = (
        get_refresh_token_model().objects.filter(token_checksum=checksum).values("token_family")[:1]
    )
    # get(): a family has one session (unique), and no ORDER BY to build.
    sessions = TokenSession.objects.select_for_update(of=("self",)).select_related("user")
    try:
        session: TokenSession = sessions.get(token_family=Subquery(family))
    except TokenSession.DoesNotExist:
        return None
    return session


def touch_session(
    session: TokenSession, client: ClientInfo, *, now: datetime, dpop_jkt: str = ""
) -> None:
    """Record a refresh of ``session``'s family: when, from which device, bound to which key.

    One ``UPDATE``. ``dpop_jkt``: the DPoP key the new tokens are bound to
    (empty: Bearer tokens).
    """
    session.last_used = now
    session.ip_address = client.ip_address
    session.user_agent = client.user_agent[:_USER_AGENT_LENGTH]
    session.dpop_jkt = dpop_jkt
    session.save(update_fields=["last_used", "ip_address", "user_agent", "dpop_jkt"])


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
        _revoke_family(session.token_family, session)
    return True


def sign_out_family(family: uuid.UUID) -> None:
    """Revoke a family and its session, whoever it belongs to (admin, OAuth revocation).

    Locks the session row first when there is one, like every other
    operation on a family.
    """
    with transaction.atomic(using=router.db_for_write(TokenSession)):
        session = TokenSession.objects.select_for_update().filter(token_family=family).first()
        _revoke_family(family, session)


def _revoke_family(family: uuid.UUID, session: TokenSession | None) -> None:
    """DOT's family revocation, then the family's session row and its ID token.

    ``session`` is the family's session as the caller locked it (``None``
    when the family has none). The caller holds the lock.
    """
    get_refresh_token_model().revoke_family(family)
    TokenSession.objects.filter(token_family=family, revoked__isnull=True).update(
        revoked=timezone.now()
    )
    if session is not None and session.id_token_id is not None:
        _delete_id_tokens([session.id_token_id])


def _delete_id_tokens(pks: list[Any]) -> None:
    """Delete the OpenID Connect ID token rows of ended sessions (DOT's ``IDToken.revoke()``).

    The signed ID tokens a client holds stay valid until they expire (they
    are assertions, not credentials); the rows go so that the admin shows
    none as live. The sessions keep their ids (the tokens' ``sid``); their
    ``id_token`` becomes ``NULL`` (``on_delete=SET_NULL``).
    """
    if pks:
        get_id_token_model().objects.filter(pk__in=pks).delete()


def sign_out_everywhere(user: AbstractBaseUser) -> None:
    """Revoke every refresh token and delete every access token of ``user``, at once.

    Covers every client, first party or OAuth, and deletes the ID token rows
    of the user's sessions. Called by the sessions API and on any password
    change or deactivation (:mod:`bearer_auth.receivers`).
    """
    refresh_token_model = get_refresh_token_model()
    with transaction.atomic(using=router.db_for_write(refresh_token_model)):
        # Lock the sessions first, in a fixed order: a refresh of any of them
        # either finished before (its new token is revoked below) or waits
        # and then finds its token revoked.
        sessions = list(TokenSession.objects.select_for_update().filter(user=user).order_by("pk"))
        now = timezone.now()
        refresh_token_model.objects.filter(user=user, revoked__isnull=True).update(
            revoked=now, updated=now
        )
        # Deleting is DOT's AccessToken.revoke().
        get_access_token_model().objects.filter(user=user).delete()
        TokenSession.objects.filter(user=user, revoked__isnull=True).update(revoked=now)
        _delete_id_tokens([s.id_token_id for s in sessions if s.id_token_id is not None])


def sign_out_client(application: Any) -> None:
    """Revoke every refresh token and delete every access token of ``application``, at once.

    :func:`sign_out_everywhere` for one client instead of one user: every
    user's sessions with it end (a disabled registered client,
    :func:`bearer_auth.oauth.client_registration.disable`).
    """
    refresh_token_model = get_refresh_token_model()
    with transaction.atomic(using=router.db_for_write(refresh_token_model)):
        sessions = list(
            TokenSession.objects.select_for_update().filter(application=application).order_by("pk")
        )
        now = timezone.now()
        refresh_token_model.objects.filter(application=application, revoked__isnull=True).update(
            revoked=now, updated=now
        )
        get_access_token_model().objects.filter(application=application).delete()
        TokenSession.objects.filter(application=application, revoked__isnull=True).update(
            revoked=now
        )
        _delete_id_tokens([s.id_token_id for s in sessions if s.id_token_id is not None])


def list_sessions(user: AbstractBaseUser, *, current_family: uuid.UUID | None) -> list[SessionInfo]:
    """Return ``user``'s active sessions, most recently used first.

    Active: not revoked, within its absolute lifetime, and with a live
    refresh token (whichever path revoked the family, DOT's admin included).
    First-party sign-ins and third-party (OAuth) authorizations alike, each
    saying whether its tokens are DPoP-bound (``dpop_jkt``, read with the row).
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
            dpop_bound=bool(session.dpop_jkt),
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


def delete_ended_sessions() -> int:
    """Delete the sessions of token families that have ended for good; return how many.

    A session goes once it is revoked or past its absolute lifetime *and*
    DOT holds no live (unrevoked) refresh token of its family, checked in the
    same statement. Such a family can never mint a token again, so its
    session has nothing left to decide; a session whose family still has a
    live refresh token stays, because that token's refresh must still find
    it to be refused (and to revoke the family). DOT's own revoked refresh
    tokens are left to DOT. Deletes in batches of
    ``OAUTH2_PROVIDER["CLEAR_EXPIRED_TOKENS_BATCH_SIZE"]``, pausing
    ``CLEAR_EXPIRED_TOKENS_BATCH_INTERVAL`` seconds between them, as DOT does.
    """
    ended = _ended_sessions()
    batch_size = int(oauth2_settings.CLEAR_EXPIRED_TOKENS_BATCH_SIZE)
    deleted = 0
    while batch := list(ended.values_list("pk", flat=True)[:batch_size]):
        count: int = ended.filter(pk__in=batch).delete()[0]
        deleted += count
        if count < len(batch):  # the rest changed under us: leave it to the next run
            break
        time.sleep(float(oauth2_settings.CLEAR_EXPIRED_TOKENS_BATCH_INTERVAL))
    return deleted


def _ended_sessions() -> QuerySet[TokenSession]:
    live_refresh_token = get_refresh_token_model().objects.filter(
        token_family=OuterRef("token_family"), revoked__isnull=True
    )
    ended: QuerySet[TokenSession] = TokenSession.objects.filter(
        Q(revoked__isnull=False) | Q(expires__lte=timezone.now()),
        ~Exists(live_refresh_token),
    )
    return ended
