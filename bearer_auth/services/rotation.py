"""Refresh (RFC 6749 §6): ONE implementation for ``/auth/token/refresh/`` and ``/o/token/``.

Both entry points run oauthlib's refresh-token grant on the server DOT
builds with bearer_auth's validator, in one transaction; the first-party
endpoint (:func:`refresh`) runs it for the built-in first-party application,
``/o/token/`` for the client that authenticated there. The validator hands
the two steps that decide and write to this module:

- :func:`check_presented_token` (oauthlib's ``validate_refresh_token``):
  lock the family's session row, then the presented token; refuse an
  unknown, foreign, spent, orphaned or idle-expired token, a session past
  its absolute lifetime, an inactive user or a changed password. A spent
  token is a replay, and the whole family is revoked (RFC 9700 §4.14.2),
  unless it is the family's just-rotated token, rotated no longer than
  ``REFRESH_REUSE_INTERVAL`` before the request arrived (a parallel request
  that won the lock, a second tab, a retry): refused, family kept.
- :func:`rotate` (DOT's ``_save_bearer_token``): the presented token is
  revoked, the family's access-token row is rewritten in place with the new
  access token, a successor refresh token joins the family, and the session
  records the use. Each row is written with ``save()``, so DOT's model
  signals are sent.

oauthlib checks the client, the grant type and the scope (no wider than the
original, RFC 6749 §6) and mints the pair with DOT's generators in between.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from django.db import router, transaction
from django.db.models import F
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_refresh_token_model,
    refresh_token_expire_timedelta,
    set_token_value,
)
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import Request

from bearer_auth import dpop
from bearer_auth.exceptions import (
    BearerAuthError,
    InvalidDPoPProof,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    ServiceUnavailable,
)
from bearer_auth.jwt import token_checksum
from bearer_auth.services.issuing import TokenPair, client_headers, oauth_server, token_store
from bearer_auth.services.sessions import (
    ClientInfo,
    lock_session_of_token,
    session_usable,
    sign_out_family,
    touch_session,
)
from bearer_auth.settings import bearer_settings

#: The first-party answer for each RFC 6749 §5.2 error oauthlib returns; any
#: other is ``invalid_grant``. The caller of ``/auth/token/refresh/`` does not
#: authenticate a client: ``invalid_client`` there means the first-party
#: application does not exist (yet), so no such refresh token can either.
_ERRORS: Final[Mapping[str, type[BearerAuthError]]] = {
    error.error: error
    for error in (InvalidRequest, InvalidGrant, InvalidScope, InvalidDPoPProof, ServiceUnavailable)
}
# What a rotation rewrites in the family's access-token row.
_REWRITTEN_ACCESS_TOKEN_FIELDS: Final = (
    "token",
    "token_checksum",
    "expires",
    "scope",
    "source_refresh_token",
    "updated",
)


@dataclass
class RefreshRequest:
    """The running refresh request: when it arrived, and the session it rotated."""

    arrived: datetime
    #: Set by :func:`rotate`: the end of the session whose family was rotated.
    session_expires: datetime | None = None


# The running refresh request (set by request_arrived()).
_running: ContextVar[RefreshRequest | None] = ContextVar("bearer_auth_refresh", default=None)


@contextmanager
def request_arrived(at: datetime) -> Iterator[RefreshRequest]:
    """Tell :func:`check_presented_token` when the running token request arrived.

    ``/o/token/`` (``bearer_auth.views.oauth.TokenView``) and :func:`refresh`
    wrap each request in it; without it the request counts as arrived when
    the token is checked. What it yields learns, from :func:`rotate`, when
    the rotated session ends.
    """
    running = RefreshRequest(arrived=at)
    marker = _running.set(running)
    try:
        yield running
    finally:
        _running.reset(marker)


def refresh(
    raw_token: str,
    *,
    scope: str | None,
    meta: Mapping[str, Any],
    requested_at: datetime | None = None,
) -> TokenPair:
    """Rotate a first-party refresh token (``POST /auth/token/refresh/``): a new pair.

    Runs the same oauthlib grant as ``/o/token/``, for the first-party
    application, in one transaction: failures that revoke something (a
    replay, an unusable session) are answered, not raised, inside it, so the
    revocation commits. ``meta`` is the request's ``META`` (the session
    records its client IP and user agent); ``requested_at`` (default now) is
    when the request arrived (the race rule). Raises :class:`InvalidGrant`
    for anything but a live first-party refresh token of a usable session,
    :class:`InvalidScope` for a wider scope.
    """
    body = {
        "grant_type": "refresh_token",
        "refresh_token": raw_token,
        "client_id": bearer_settings.FIRST_PARTY_CLIENT_ID,
    }
    if scope:
        body["scope"] = scope
    database = router.db_for_write(get_refresh_token_model())
    with (
        token_store(),
        request_arrived(requested_at or timezone.now()) as running,
        transaction.atomic(using=database),
    ):
        _headers, response, status = oauth_server().create_token_response(
            "", http_method="POST", body=body, headers=client_headers(meta)
        )
    answer = json.loads(response)
    if status != 200:
        error = _ERRORS.get(answer.get("error"), InvalidGrant)
        # A DPoP refusal says what was wrong with the proof.
        raise error(answer.get("error_description")) if error is InvalidDPoPProof else error()
    return TokenPair.from_token(answer, session_expires=running.session_expires)


def check_presented_token(raw_token: str, *, client: Any, request: Request) -> bool:
    """Decide whether ``client`` may refresh ``raw_token`` (oauthlib's ``validate_refresh_token``).

    Runs in the request's transaction and leaves the family's session and the
    presented token locked until it ends. On success the request carries
    what oauthlib and :func:`rotate` use: ``user`` (the session's),
    ``refresh_token_instance`` (the presented row, with its access token),
    ``client`` (the same application, with its policy loaded for the new
    token's lifetime) and the session. Failures that end the family revoke
    it (DOT's ``RefreshToken.revoke_family``, then the session).
    """
    checksum = token_checksum(raw_token)
    # The lock order of every family operation: the session first.
    session = lock_session_of_token(checksum)
    spent = _locked_presented_token(checksum)
    if spent is None or spent.application_id != client.pk:
        return False  # unknown, or another client's token: left untouched
    if spent.revoked is not None:
        if _replayed(spent) and oauth2_settings.REFRESH_TOKEN_REUSE_PROTECTION:
            _end_family(spent.token_family)
        # Otherwise it was rotated an instant before (a parallel request won
        # the race, or this is a second tab or a retry): refused, but its
        # successor lives.
        return False
    now = timezone.now()
    if not _refreshable(spent, now=now) or (
        session is not None and not session_usable(session, now=now)
    ):
        _end_family(spent.token_family)
        return False
    _check_key_binding(session, spent.application, request)
    request.client = spent.application
    # A family without a session was issued before sessions existed: DOT's rules only.
    request.user = session.user if session is not None else spent.user
    request.refresh_token = raw_token
    request.refresh_token_instance = spent
    request.bearer_session = session
    return True


def _check_key_binding(session: Any, client: Any, request: Request) -> None:
    """A public client's family bound to a DPoP key refreshes only with a proof from that key.

    RFC 9449 §5: a public client's refresh token is bound to the key; a
    confidential client's is bound by its authentication instead, and each
    refresh binds the new access token to the key of that request's proof.
    Refused with ``invalid_dpop_proof``; the family lives on (the thief
    without the key gains nothing, the client with it may retry).
    """
    if session is None or client.client_type != client.CLIENT_PUBLIC:
        return
    refusal = dpop.binding_refusal(session.dpop_jkt, dpop.running_proof())
    if refusal is not None:
        raise dpop.oauth_refusal(refusal, request)


def rotate(token: Mapping[str, Any], request: Request) -> None:
    """Store a refresh's new pair in place of the presented token (DOT's ``_save_bearer_token``).

    In this order: the presented token is revoked and unlinked from its
    access token (the link is unique and the successor takes it); the
    family's one access-token row gets the new access token (digest,
    expiry, scope, the refresh token it came from), so the previous access
    token stops working at once, as DOT's own non-rotating path rewrites it;
    the successor refresh token joins the family with the same resources
    (RFC 8707); the session records the use.
    """
    spent = request.refresh_token_instance
    now = timezone.now()
    access_token = spent.access_token
    spent.revoked = now
    spent.access_token = None
    spent.save(update_fields=["revoked", "access_token", "updated"])

    set_token_value(access_token, token["access_token"])
    access_token.expires = now + timedelta(seconds=int(token["expires_in"]))
    access_token.scope = token["scope"]
    access_token.source_refresh_token = spent
    access_token.save(update_fields=_REWRITTEN_ACCESS_TOKEN_FIELDS)

    successor = get_refresh_token_model()(
        user=request.user,
        application=request.client,
        access_token=access_token,
        token_family=spent.token_family,
        resource=spent.resource,
    )
    set_token_value(successor, token["refresh_token"])
    successor.save()

    session = getattr(request, "bearer_session", None)
    if session is not None:
        touch_session(
            session, ClientInfo.from_meta(request.headers), now=now, dpop_jkt=dpop.running_jkt()
        )
        running = _running.get()
        if running is not None:
            running.session_expires = session.expires


def _locked_presented_token(checksum: str) -> Any:
    """The refresh token with this digest, locked, with its access token and the client's policy.

    A live row first: a digest can repeat among revoked rows.
    """
    found = (
        get_refresh_token_model()
        .objects.select_for_update(of=("self",))
        .select_related("access_token", "application__bearer_policy")
        .filter(token_checksum=checksum)
        .order_by(F("revoked").desc(nulls_first=True))
        .first()
    )
    return found


def _replayed(spent: Any) -> bool:
    """Whether presenting the spent token ``spent`` is a replay (not a benign race).

    Benign: ``spent`` was rotated at most ``REFRESH_REUSE_INTERVAL`` before
    the request arrived (or after: it waited for the lock), and it is the
    token the family's current access token was refreshed from, so the
    family's live token is its direct successor. An older generation, or a
    token revoked otherwise, is a replay however recent.
    """
    running = _running.get()
    arrived = running.arrived if running is not None else timezone.now()
    if spent.revoked < arrived - bearer_settings.REFRESH_REUSE_INTERVAL:
        return True
    just_rotated = get_access_token_model().objects.filter(source_refresh_token=spent.pk).exists()
    return not just_rotated


def _refreshable(spent: Any, *, now: datetime) -> bool:
    """DOT's own rules for a live refresh token: an access token, and not idle too long.

    A live refresh token without its access token was orphaned by an
    out-of-band deletion; ``REFRESH_TOKEN_EXPIRE_SECONDS`` ends a family
    that many seconds after its access token expired.
    """
    if spent.access_token is None:
        return False
    idle = refresh_token_expire_timedelta()
    return not (idle and spent.access_token.expires + idle <= now)


def _end_family(family: Any) -> None:
    if family is not None:
        sign_out_family(family)
