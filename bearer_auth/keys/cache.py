"""This process's copy of the key set, and the key-set version read from the database.

Every process keeps its own copy of the key set, so verifying a token costs a
dict look-up. The copy is rebuilt when the key set's version in the database
(:func:`_database_version`: one aggregate query over the signing-key table)
differs from the one it was built at; that version is read no more than every
``KEY_CACHE_SECONDS`` (and at once for an unknown ``kid``, but not twice
within a second for unknown kids).
Async code verifies tokens inside :func:`without_io`: there a copy that is
due for its check (or lacks a ``kid``) raises :class:`KeysNotLoaded` instead
of reading the database, and the caller repeats the verification off the
event loop.
Every change to the table (first key, rotation, pruning) changes the version,
so every process sees it within ``KEY_CACHE_SECONDS`` whatever Django's cache
is: the version never lives in the cache, which may be per process
(``LocMemCache``). With the database unavailable, a process keeps the copy it
has; one without a copy answers
:class:`~bearer_auth.exceptions.ServiceUnavailable` (503).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import jwt
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import DatabaseError, router, transaction
from django.db.models import Count, F, Max
from django.dispatch import receiver
from django.utils import timezone

from bearer_auth.exceptions import ServiceUnavailable
from bearer_auth.keys.deadlines import retirement_grace
from bearer_auth.keys.material import (
    SigningMaterial,
    decrypt_private_key,
    public_jwk,
    settings_signing_keys,
    uses_settings_keys,
)
from bearer_auth.models import SigningKey
from bearer_auth.settings import bearer_settings

logger = logging.getLogger(__name__)

#: A key set's version: how many rows, the largest primary key, the newest
#: ``created``. A first key or a rotation adds a row with a larger key and a
#: later ``created``; pruning removes rows (never the active, newest one).
KeySetVersion = tuple[int, Any, datetime | None]

#: Unknown ``kid``s read the version at most this often (seconds), so a
#: stream of made-up kids costs at most one query a second per process. Only
#: reads for unknown kids count: a periodic read never delays one, so a token
#: of a key made just after a periodic read verifies at once.
UNKNOWN_KID_RECHECK_SECONDS: Final = 1.0

# The time source of the process-local cache; a seam for tests (time-machine
# does not move the monotonic clock).
_monotonic = time.monotonic

#: Set by :func:`without_io`: the key set may not be read from the database now.
_no_io: ContextVar[bool] = ContextVar("bearer_auth_keys_no_io", default=False)


class KeysNotLoaded(Exception):
    """Inside :func:`without_io`: the key set must be read first (the database, a remote JWKS).

    Not a refusal: the caller runs the same verification again where it may
    wait for I/O (``sync_to_async``).
    """


@contextmanager
def without_io() -> Iterator[None]:
    """Verify keys from this process's copy only; raise :class:`KeysNotLoaded` where I/O is due.

    For code on an event loop, which must not wait for the database: the
    copy's periodic check, an unknown ``kid`` and a first load all need the
    database (a settings key set needs none). The remote JWKS of
    ``JWKS_URL`` honours it too (:func:`bearer_auth.jwt.decode_access_token`).
    """
    token = _no_io.set(True)
    try:
        yield
    finally:
        _no_io.reset(token)


def io_forbidden() -> bool:
    """Whether the caller runs inside :func:`without_io`."""
    return _no_io.get()


def _io_needed() -> None:
    """Inside :func:`without_io`, raise :class:`KeysNotLoaded` if the keys are in the database."""
    if _no_io.get() and not uses_settings_keys():
        raise KeysNotLoaded


@dataclass(frozen=True)
class VerificationKey:
    """A key ready for ``jwt.decode``, usable with exactly one algorithm."""

    kid: str
    algorithm: str
    public_key: Any  # a cryptography public key; bytes for HS256
    verify_until: datetime | None  # None while active


@dataclass(frozen=True)
class KeySet:
    """Every key in use, as one process holds them."""

    keys: Mapping[str, VerificationKey]
    jwks: tuple[Mapping[str, Any], ...]  # public JWKs, active first
    active_kid: str | None
    # Settings mode: the signer. Database mode: None; the active key's
    # ciphertext is decrypted on first use by active_signer().
    signing: SigningMaterial | None
    active_ciphertext: str | None
    version: KeySetVersion | None  # the version this copy was built at; None: unknown
    from_settings: bool


class _ProcessCache:
    """This process's copy of the key set; attributes are replaced, never mutated."""

    def __init__(self) -> None:
        self.key_set: KeySet | None = None
        self.check_after = -math.inf
        self.unknown_kid_read_at = -math.inf  # last version read for an unknown kid
        self.signing: SigningMaterial | None = None
        # Set after a key change inside a transaction that may yet roll back:
        # the next copy is built at an unknown version, so it is rebuilt again
        # within KEY_CACHE_SECONDS whatever the transaction's outcome.
        self.distrust_version = False


_process = _ProcessCache()


def current_key_set() -> KeySet:
    """Return this process's copy of the key set, rebuilt first if it is due."""
    if _monotonic() >= _process.check_after or _process.key_set is None:
        _refresh()
    key_set = _process.key_set
    if key_set is None:  # only if a concurrent clear_key_cache() raced us
        return _refresh()
    return key_set


def verification_key(kid: str) -> VerificationKey | None:
    """Return the key for ``kid``, or ``None`` if unknown or past its deadline.

    On the request path: a dict look-up and a clock comparison, no query.
    Inside :func:`without_io`, a read the database would need raises
    :class:`KeysNotLoaded`.
    """
    if _monotonic() >= _process.check_after:
        _io_needed()
        _refresh()
    key_set = _process.key_set
    key = key_set.keys.get(kid) if key_set is not None else None
    if key is None and key_set is not None and not key_set.from_settings:
        # A key another process just made: read the version now (unknown
        # kids: once a second at most) instead of failing until the next
        # periodic check.
        _io_needed()
        key = _refresh(force=True).keys.get(kid)
    if key is None or (key.verify_until is not None and timezone.now() > key.verify_until):
        return None
    return key


def public_jwks() -> dict[str, Any]:
    """Return the RFC 7517 JWK Set: active and not yet expired retired keys, public parts only."""
    key_set = current_key_set()
    now = timezone.now()
    return {
        "keys": [
            dict(jwk)
            for jwk in key_set.jwks
            if (until := key_set.keys[jwk["kid"]].verify_until) is None or now <= until
        ]
    }


def active_signer(key_set: KeySet) -> SigningMaterial:
    """Return the active key of a database key set, decrypted once per process."""
    signing = _process.signing
    if signing is None or signing.kid != key_set.active_kid:
        signing = _decrypt_active(key_set)
        _process.signing = signing
    return signing


def clear_key_cache() -> None:
    """Forget this process's copy of the key set; the next use rebuilds it."""
    _process.key_set = None
    _process.signing = None
    _process.check_after = -math.inf
    _process.unknown_kid_read_at = -math.inf


def key_set_changed() -> None:
    """Reload here now, and again after commit.

    Other processes need no message: the change is the new version they read
    from the database within ``KEY_CACHE_SECONDS``.
    """
    clear_key_cache()
    _process.distrust_version = transaction.get_connection(
        router.db_for_write(SigningKey)
    ).in_atomic_block
    transaction.on_commit(_key_set_committed, using=router.db_for_write(SigningKey))


def settings_key_set() -> KeySet:
    """Build the key set from ``SIGNING_KEYS``: the first key signs, every key verifies."""
    materials = settings_signing_keys()
    hmac = materials[0].algorithm == "HS256"
    keys = {
        m.kid: VerificationKey(
            kid=m.kid,
            algorithm=m.algorithm,
            public_key=m.private_key if hmac else m.private_key.public_key(),
            verify_until=None,
        )
        for m in materials
    }
    jwks = () if hmac else tuple(public_jwk(m.private_key, m.algorithm) for m in materials)
    return KeySet(
        keys=keys,
        jwks=jwks,
        active_kid=materials[0].kid,
        signing=materials[0],
        active_ciphertext=None,
        version=None,
        from_settings=True,
    )


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in {"BEARER_AUTH", "SECRET_KEY", "SECRET_KEY_FALLBACKS"}:
        clear_key_cache()


def _refresh(*, force: bool = False) -> KeySet:
    """Rebuild the copy if the database's version moved (or is unknown); reset the timer.

    ``force`` (an unknown kid): read the version unless it was read for an
    unknown kid less than :data:`UNKNOWN_KID_RECHECK_SECONDS` ago, and leave
    the periodic timer alone.
    """
    if uses_settings_keys():
        key_set = _process.key_set
        if key_set is None or not key_set.from_settings:
            key_set = settings_key_set()
            _process.key_set = key_set
            _process.check_after = math.inf  # rebuilt on setting_changed only
        return key_set
    key_set = _process.key_set
    now = _monotonic()
    if force and key_set is not None:
        if now < _process.unknown_kid_read_at + UNKNOWN_KID_RECHECK_SECONDS:
            return key_set
        _process.unknown_kid_read_at = now
    try:
        if key_set is None or _is_stale(key_set):
            key_set = _database_key_set()
            _process.key_set = key_set
    except DatabaseError as exc:
        if key_set is None:
            # Nothing to verify or sign with: fail closed, as a 503.
            raise ServiceUnavailable from exc
        # Keep the copy this process has (as between two checks anyway)
        # and look again at the next check.
        logger.warning("bearer_auth: database unavailable, keeping the loaded signing keys")
        _process.check_after = now + float(bearer_settings.KEY_CACHE_SECONDS)
        return key_set
    if not force or _process.check_after == -math.inf:
        _process.check_after = now + float(bearer_settings.KEY_CACHE_SECONDS)
    return key_set


def _is_stale(key_set: KeySet) -> bool:
    """Whether the database's version differs from the copy's (one query)."""
    if key_set.from_settings or key_set.version is None:
        return True
    return _database_version() != key_set.version


def _database_version() -> KeySetVersion:
    """Return the signing-key table's version: one aggregate query, no rows."""
    row = SigningKey.objects.aggregate(count=Count("pk"), last=Max("pk"), newest=Max("created"))
    return (row["count"], row["last"], row["newest"])


def _key_set_committed() -> None:
    _process.distrust_version = False
    clear_key_cache()


def _database_key_set() -> KeySet:
    """Build the copy from the rows; its version is computed from the same rows."""
    grace = retirement_grace()
    keys: dict[str, VerificationKey] = {}
    jwks: list[Mapping[str, Any]] = []
    active_kid = active_ciphertext = None
    rows = list(SigningKey.objects.order_by(F("active").desc(nulls_last=True), "-created"))
    version: KeySetVersion | None = (
        len(rows),
        max((row.pk for row in rows), default=None),
        max((row.created for row in rows), default=None),
    )
    if _process.distrust_version:
        # Built inside a transaction that changed the keys and may roll back:
        # rebuilt at the next check whatever the outcome.
        _process.distrust_version = False
        version = None
    for row in rows:
        until = None if row.active else (row.retired_at or row.created) + grace
        keys[row.kid] = VerificationKey(
            kid=row.kid,
            algorithm=row.algorithm,
            public_key=jwt.PyJWK(row.public_jwk, algorithm=row.algorithm).key,
            verify_until=until,
        )
        jwks.append(row.public_jwk)
        if row.active:
            active_kid, active_ciphertext = row.kid, row.encrypted_private_key
    return KeySet(
        keys=keys,
        jwks=tuple(jwks),
        active_kid=active_kid,
        signing=None,
        active_ciphertext=active_ciphertext,
        version=version,
        from_settings=False,
    )


def _decrypt_active(key_set: KeySet) -> SigningMaterial:
    if key_set.active_kid is None or key_set.active_ciphertext is None:
        raise ImproperlyConfigured("No active signing key could be created.")
    private_key = decrypt_private_key(key_set.active_ciphertext, kid=key_set.active_kid)
    algorithm = key_set.keys[key_set.active_kid].algorithm
    return SigningMaterial(kid=key_set.active_kid, algorithm=algorithm, private_key=private_key)
