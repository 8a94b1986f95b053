"""First-party sign-in, refresh and revocation (``/auth/token/...``).

The built-in first-party application (:func:`~bearer_auth.services.store.first_party_application`)
owns these tokens; they are minted and stored like every OAuth client's
(:mod:`bearer_auth.services.store`), and each sign-in is a
:class:`~bearer_auth.models.TokenSession` (:mod:`bearer_auth.services.sessions`).

A refresh does not go through oauthlib's refresh-token grant: that grant
re-reads the application, the refresh token and its access token several
times (19 statements per refresh). Here it is two locking reads and four
writes on the same DOT rows (two round trips on PostgreSQL), with the
same rules: rotation, reuse detection that revokes the family, DOT's idle
expiry, no wider scope (RFC 6749 §6).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from django.contrib.auth import authenticate, get_user_model, user_logged_in
from django.db import router, transaction
from django.db.models import F, Subquery
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import get_refresh_token_model, refresh_token_expire_timedelta

from bearer_auth.exceptions import BearerAuthError, InvalidGrant, InvalidScope
from bearer_auth.jwt import token_checksum
from bearer_auth.models import TokenSession
from bearer_auth.prepared import Param, PreparedSelect, execute_together, fetch_together
from bearer_auth.services.sessions import (
    ClientInfo,
    session_usable,
    sign_out_family,
    start_session_write,
    touch_session_write,
)
from bearer_auth.services.store import (
    TokenPair,
    first_party_application,
    mint_tokens,
    new_family_writes,
    revoke_family,
    rotation_writes,
    token_request,
    token_store,
    validate_scopes,
)
from bearer_auth.settings import bearer_settings

# Every failed sign-in answers with this one description, whatever the reason.
_BAD_CREDENTIALS: Final = _("The email or password is incorrect.")


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
    with token_store():
        application = first_party_application()
        scopes = scope.split() if scope else list(bearer_settings.DEFAULT_SCOPES)
        minting = token_request(application, scopes=scopes)
        if not validate_scopes(minting, scopes):
            raise InvalidScope
        user = authenticate(request, username=identifier, password=password)
        if user is None or not getattr(user, "is_active", True):
            raise InvalidGrant(_BAD_CREDENTIALS)
        minting.user = user
        token = mint_tokens(minting)
        family, writes = new_family_writes(token, minting)
        with transaction.atomic(using=router.db_for_write(TokenSession)):
            # The two token rows and the session: one round trip on PostgreSQL.
            execute_together(
                [
                    *writes,
                    start_session_write(family, user=user, application=application, client=client),
                ]
            )
            user_logged_in.send(sender=type(user), request=request, user=user)
    return TokenPair.from_token(token)


def refresh(
    raw_token: str,
    *,
    scope: str | None,
    client: ClientInfo,
    requested_at: datetime | None = None,
) -> TokenPair:
    """Rotate a first-party refresh token: a new pair, the old token spent.

    Raises :class:`InvalidGrant` for an unknown, expired, revoked or foreign
    token, an access token, an inactive user, a changed password or a session
    past its absolute lifetime; a replayed (already rotated) token also
    revokes its whole family. A request that arrived (``requested_at``,
    default now) while the token was still live, and finds it rotated once it
    holds the lock, lost a race with a parallel request: it is refused
    without revoking the family, so exactly one successor survives. A wider
    ``scope`` raises :class:`InvalidScope`; a narrower one is honoured.
    """
    requested_at = requested_at or timezone.now()
    database = router.db_for_write(get_refresh_token_model())
    with token_store(), transaction.atomic(using=database):
        # Failures that revoke something are returned, not raised, so that
        # the revocation commits.
        outcome = _rotate(raw_token, scope=scope, client=client, requested_at=requested_at)
    if isinstance(outcome, BearerAuthError):
        raise outcome
    return outcome


def revoke(raw_token: str) -> None:
    """Revoke the sign-in a first-party refresh or access token belongs to (RFC 7009).

    The whole family goes: every refresh token and access token of that
    sign-in. Unknown tokens and other clients' tokens are ignored (§2.2).
    """
    checksum = token_checksum(raw_token)
    refresh_tokens = get_refresh_token_model().objects
    with token_store():
        # Two look-ups by unique digest (an OR across the join would make
        # SQLite walk every first-party token); the client is checked after.
        found = _family_and_client(refresh_tokens.filter(token_checksum=checksum)) or (
            _family_and_client(refresh_tokens.filter(access_token__token_checksum=checksum))
        )
        if found is not None and found[1] == bearer_settings.FIRST_PARTY_CLIENT_ID:
            sign_out_family(found[0])


def _family_and_client(refresh_tokens: Any) -> tuple[Any, str] | None:
    found: tuple[Any, str] | None = refresh_tokens.values_list(
        "token_family", "application__client_id"
    ).first()
    return found


def _locked_session() -> Any:
    # The family is found by the digest alone (its unique index): joined to
    # the application, SQLite's planner walks every first-party token instead.
    refresh_tokens = get_refresh_token_model()
    family = refresh_tokens.objects.filter(
        token_checksum=Param("checksum", refresh_tokens._meta.get_field("token_checksum"))
    ).values("token_family")[:1]
    return (
        TokenSession.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(token_family=Subquery(family))
        .order_by("pk")
        # Only what a refresh reads (session_usable, the new token's claims):
        # every other column is fetched and converted for nothing.
        .only(
            "token_family", "expires", "password_fingerprint", "revoked", *_claimed_user_fields()
        )[:1]
    )


def _claimed_user_fields() -> list[str]:
    """The user's columns a refresh reads: password (fingerprint), is_active, public_id (sub).

    Those a swapped user model lacks are left out; its ``pk`` always comes.
    """
    user_model = get_user_model()
    names = {field.name for field in user_model._meta.concrete_fields}
    return [f"user__{name}" for name in ("password", "is_active", "public_id") if name in names]


def _locked_presented_token() -> Any:
    # A live row first: a digest can repeat among revoked rows.
    refresh_tokens = get_refresh_token_model()
    application = refresh_tokens._meta.get_field("application").related_model
    return (
        refresh_tokens.objects.select_for_update(of=("self",))
        .select_related("access_token", "application__bearer_policy")
        .filter(
            token_checksum=Param("checksum", refresh_tokens._meta.get_field("token_checksum")),
            application__client_id=Param("client_id", application._meta.get_field("client_id")),
        )
        .order_by(F("revoked").desc(nulls_first=True))
        # What _rotate and rotation_writes read (the policy row whole: the
        # new token's lifetime); the new access-token values are written, not read.
        .only(
            "token_family",
            "revoked",
            "application__client_id",
            "application__bearer_policy",
            "access_token__expires",
            "access_token__scope",
        )[:1]
    )


#: The session row of the presented token's family, locked, with its user.
_LOCKED_SESSION: Final = PreparedSelect(_locked_session)
#: The presented first-party refresh token, locked, with its access token and policy.
_LOCKED_PRESENTED_TOKEN: Final = PreparedSelect(_locked_presented_token)


def _rotate(
    raw_token: str, *, scope: str | None, client: ClientInfo, requested_at: datetime
) -> TokenPair | BearerAuthError:
    checksum = token_checksum(raw_token)
    # The session row first (the lock order of every family operation),
    # with its user; then the presented token, with its access token and
    # the application's policy, checked to be first-party. Neither lock
    # touches the user row. Both statements are compiled once (prepared),
    # and go in one round trip on PostgreSQL (in this order: the locks too).
    session, spent = fetch_together(
        [
            _LOCKED_SESSION.bind(checksum=checksum),
            _LOCKED_PRESENTED_TOKEN.bind(
                checksum=checksum, client_id=bearer_settings.FIRST_PARTY_CLIENT_ID
            ),
        ]
    )
    if session is None or spent is None:
        return InvalidGrant()
    if spent.revoked is not None:
        if spent.revoked < requested_at:
            # Spent before this request arrived: a replay (RFC 9700 §4.14.2).
            revoke_family(session.token_family)
        # Otherwise a parallel request rotated it first and won the race:
        # refused, but not a replay, so its successor lives.
        return InvalidGrant()
    now = timezone.now()
    if not (session_usable(session, now=now) and _refreshable(spent, now=now)):
        revoke_family(session.token_family)
        return InvalidGrant()
    original = spent.access_token.scope.split()
    scopes = scope.split() if scope else original
    if not set(scopes) <= set(original):
        return InvalidScope()
    minting = token_request(spent.application, user=session.user, scopes=scopes)
    token = mint_tokens(minting)
    # Four writes, one round trip on PostgreSQL: the rotation, then the session.
    execute_together(
        [
            *rotation_writes(token, minting, spent=spent, now=now),
            touch_session_write(session.token_family, client, now=now),
        ]
    )
    return TokenPair.from_token(token)


def _refreshable(spent: Any, *, now: datetime) -> bool:
    """DOT's own rules for a live refresh token: an access token, and not idle too long.

    A live refresh token without its access token was orphaned by an
    out-of-band deletion; ``REFRESH_TOKEN_EXPIRE_SECONDS``, when set, ends a
    family that many seconds after its access token expired.
    """
    if spent.access_token is None:
        return False
    idle = refresh_token_expire_timedelta()
    return not (idle and spent.access_token.expires + idle <= now)
