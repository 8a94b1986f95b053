"""Authorization codes: stored as digests, spent once, and a reused code revokes what it bought.

DOT stores a code in ``Grant.code`` as given; bearer_auth hands it the
SHA-256 digest instead (like tokens, RFC 9700 storage), so a database dump
yields no usable code. Every validator method that looks a grant up by its
code receives the digest (:mod:`bearer_auth.oauth.validator`).

RFC 6749 §4.1.2: "If an authorization code is used more than once, the
authorization server MUST deny the request and SHOULD revoke (when possible)
all tokens previously issued based on that authorization code." What a code
was exchanged for is remembered in the shared cache for as long as those
tokens can live.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.core.cache import cache
from django.db import router, transaction
from oauth2_provider.models import get_access_token_model, get_grant_model

from bearer_auth.jwt import token_checksum
from bearer_auth.services.sessions import sign_out_family
from bearer_auth.settings import bearer_settings

logger = logging.getLogger(__name__)


def lock_code(code: str, *, application: Any) -> list[str] | None:
    """Lock ``code``'s grant row until the caller's transaction ends; ``None`` when it is gone.

    Returns the grant's RFC 8707 resources (DOT's ``resource`` column; an empty
    list for none), read by the same statement. The token endpoint calls this
    first (``validate_code``), so every later lookup of the grant in the same
    exchange (PKCE challenge, redirect URI, RFC 8707 resources) finds the row:
    a racing exchange waits here until the winner has committed, then finds
    no row. (SQLite has no row locks; its transactions are serialized as a
    whole, see docs/deployment.md.)
    """
    with transaction.atomic(using=router.db_for_write(get_grant_model()), savepoint=False):
        rows = _grants(code, application).select_for_update().values_list("resource", flat=True)
        for resources in rows[:1]:
            return list(resources or [])
        return None


def spend_code(code: str, *, application: Any, issued: dict[str, Any] | None) -> bool:
    """Consume ``code`` under a row lock; ``False`` when it was already spent.

    The grant row is locked, what the code was exchanged for (``issued``) is
    recorded, and the row is deleted, in one transaction. Of two racing
    exchanges the second waits for the lock and finds no row. An exchange the
    database interrupted rolls back with its grant row kept; the record it
    left names tokens that no longer exist, and the retry overwrites it.
    """
    grants = _grants(code, application)
    with transaction.atomic(using=router.db_for_write(get_grant_model())):
        grant = grants.select_for_update().values_list("pk", flat=True).first()
        if grant is None:
            return False
        if issued is not None:
            _record_exchange(code, issued)
        grants.filter(pk=grant).delete()
    return True


def revoke_exchanged_tokens(code: str) -> None:
    """Revoke what ``code`` was exchanged for, if the cache (still) remembers it."""
    revoke_issued_tokens(_recorded_exchange(code))


def revoke_issued_tokens(issued: dict[str, Any] | None) -> None:
    """Revoke the access token and the whole family (and session) described by ``issued``."""
    if not issued:
        return
    if issued.get("token_family"):
        sign_out_family(uuid.UUID(issued["token_family"]))
    get_access_token_model().objects.filter(pk=issued["access_token_id"]).delete()


def _grants(code: str, application: Any) -> Any:
    """The grant rows of ``code`` (at most one) for ``application``: looked up by digest."""
    return get_grant_model().objects.filter(code=token_checksum(code), application=application)


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
