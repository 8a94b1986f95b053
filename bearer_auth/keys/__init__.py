"""Signing keys: create, rotate and prune them; publish the public halves as a JWKS.

Keys come from the database (:class:`~bearer_auth.models.SigningKey`, private
halves encrypted at rest) or, when ``BEARER_AUTH["SIGNING_KEYS"]`` is set, from
settings only. A key lives through three states: *active* (signs), *retired*
(only verifies, until :func:`verification_deadline`), then *prunable*.

Every process keeps its own copy of the key set, so verifying a token costs a
dict look-up. The copy is rebuilt when the shared "key set version" in Django's
cache differs from the one it was built at; that version is looked at no more
than every ``KEY_CACHE_SECONDS`` (and at once for an unknown ``kid``). Rotation
and pruning bump it, so every process sees a change within ``KEY_CACHE_SECONDS``.
With the database unavailable, a process keeps the copy it has; one without
a copy answers :class:`~bearer_auth.exceptions.ServiceUnavailable` (503).
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import jwt
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import DatabaseError, IntegrityError, router, transaction
from django.db.models import F, Max
from django.dispatch import receiver
from django.utils import timezone

from bearer_auth.exceptions import ServiceUnavailable
from bearer_auth.keys.material import (
    ALGORITHMS,
    GENERATED_ALGORITHMS,
    SigningMaterial,
    configured_algorithm,
    decrypt_private_key,
    encrypt_private_key,
    generate_private_key,
    public_jwk,
    settings_signing_keys,
    thumbprint,
    uses_settings_keys,
)
from bearer_auth.models import ApplicationPolicy, SigningKey
from bearer_auth.settings import bearer_settings

__all__ = [
    "ALGORITHMS",
    "GENERATED_ALGORITHMS",
    "KeyStatus",
    "SigningMaterial",
    "VerificationKey",
    "clear_key_cache",
    "current_signing_key",
    "describe_signing_keys",
    "prune_signing_keys",
    "public_jwks",
    "rotate_signing_key",
    "thumbprint",
    "verification_deadline",
    "verification_key",
]

logger = logging.getLogger(__name__)

#: Django cache key of the shared key set version.
VERSION_CACHE_KEY: Final = "bearer_auth:signing-key-set-version"
_ROTATION_ATTEMPTS: Final = 3

# The time source of the process-local cache; a seam for tests (time-machine
# does not move the monotonic clock).
_monotonic = time.monotonic


@dataclass(frozen=True)
class VerificationKey:
    """A key ready for ``jwt.decode``, usable with exactly one algorithm."""

    kid: str
    algorithm: str
    public_key: Any  # a cryptography public key; bytes for HS256
    verify_until: datetime | None  # None while active


@dataclass(frozen=True)
class KeyStatus:
    """What ``bearer_keys list`` shows of a key: never any private material."""

    kid: str
    algorithm: str
    state: str  # "active", "retired", "expired" (prunable) or "configured"
    created: datetime | None
    verify_until: datetime | None


@dataclass(frozen=True)
class _KeySet:
    keys: Mapping[str, VerificationKey]
    jwks: tuple[Mapping[str, Any], ...]  # public JWKs, active first
    active_kid: str | None
    # Settings mode: the signer. Database mode: None; the active key's
    # ciphertext is decrypted on first use by current_signing_key().
    signing: SigningMaterial | None
    active_ciphertext: str | None
    version: int | None  # shared version this copy was built at; None: unknown
    from_settings: bool


class _ProcessCache:
    """This process's copy of the key set; attributes are replaced, never mutated."""

    def __init__(self) -> None:
        self.key_set: _KeySet | None = None
        self.check_after = -math.inf
        self.signing: SigningMaterial | None = None
        # Set after a key change inside a transaction that may yet roll back:
        # the next copy is built at an unknown version, so it is rebuilt again
        # within KEY_CACHE_SECONDS whatever the transaction's outcome.
        self.distrust_version = False


_process = _ProcessCache()


# Public interface.


def current_signing_key() -> SigningMaterial:
    """Return the active key; create the first one on first use.

    Two processes creating the first key at once end with one active key: the
    partial unique constraint refuses the second insert, which then loads the
    winner's key.
    """
    key_set = _current_key_set()
    if key_set.signing is not None:
        return key_set.signing
    if key_set.active_kid is None:
        clear_key_cache()  # another process may have created one already
        key_set = _current_key_set()
    if key_set.active_kid is None:
        _create_first_key()
        key_set = _current_key_set()
    signing = _process.signing
    if signing is None or signing.kid != key_set.active_kid:
        signing = _decrypt_active(key_set)
        _process.signing = signing
    return signing


def verification_key(kid: str) -> VerificationKey | None:
    """Return the key for ``kid``, or ``None`` if unknown or past its deadline.

    On the request path: a dict look-up and a clock comparison, no query.
    """
    if _monotonic() >= _process.check_after:
        _refresh()
    key_set = _process.key_set
    key = key_set.keys.get(kid) if key_set is not None else None
    if key is None and key_set is not None and not key_set.from_settings:
        # A key another process just made: look at the shared version now
        # (one cache read) instead of failing until the next periodic check.
        key = _refresh(force=True).keys.get(kid)
    if key is None or (key.verify_until is not None and timezone.now() > key.verify_until):
        return None
    return key


def rotate_signing_key(*, algorithm: str | None = None) -> SigningKey:
    """Make a new active key and retire the active one; return the new key.

    Raises ``ImproperlyConfigured`` when keys come from ``SIGNING_KEYS``.
    """
    _require_database_keys()
    algorithm = algorithm or configured_algorithm()
    created = _new_key_row(algorithm)
    for attempt in range(_ROTATION_ATTEMPTS):
        try:
            with transaction.atomic(using=router.db_for_write(SigningKey)):
                SigningKey.objects.filter(active=True).update(
                    active=None, retired_at=timezone.now()
                )
                created.save(force_insert=True)
            break
        except IntegrityError:
            # A concurrent rotation won the insert; retire its key in turn.
            created.pk = None
            if attempt == _ROTATION_ATTEMPTS - 1:
                raise
    _key_set_changed()
    return created


def prune_signing_keys() -> int:
    """Delete retired keys past their verification deadline; return how many."""
    cutoff = timezone.now() - _retirement_grace(_longest_token_lifetime())
    expired = SigningKey.objects.filter(active__isnull=True, retired_at__lt=cutoff)
    deleted: int = expired.delete()[0]
    if deleted:
        _key_set_changed()
    return deleted


def public_jwks() -> dict[str, Any]:
    """Return the RFC 7517 JWK Set: active and not yet expired retired keys, public parts only."""
    key_set = _current_key_set()
    now = timezone.now()
    return {
        "keys": [
            dict(jwk)
            for jwk in key_set.jwks
            if (until := key_set.keys[jwk["kid"]].verify_until) is None or now <= until
        ]
    }


def verification_deadline(retired_at: datetime) -> datetime:
    """Return when a key retired at ``retired_at`` stops verifying.

    The last token it signed was issued up to ``KEY_CACHE_SECONDS`` after
    ``retired_at`` (other processes learn of the rotation that late) and lives
    for the longest access-token lifetime, plus ``LEEWAY``.
    """
    return retired_at + _retirement_grace(_longest_token_lifetime())


def describe_signing_keys() -> list[KeyStatus]:
    """Describe every key in use, newest first, for ``bearer_keys list``."""
    if uses_settings_keys():
        key_set = _settings_key_set()
        return [
            KeyStatus(
                kid=kid,
                algorithm=key.algorithm,
                state="configured",
                created=None,
                verify_until=None,
            )
            for kid, key in key_set.keys.items()
        ]
    grace = _retirement_grace(_longest_token_lifetime())
    now = timezone.now()
    statuses = []
    for row in SigningKey.objects.order_by("-created", "-pk"):
        until = row.retired_at + grace if row.retired_at is not None else None
        state = "active" if row.active else ("retired" if until and now <= until else "expired")
        statuses.append(
            KeyStatus(
                kid=row.kid,
                algorithm=row.algorithm,
                state=state,
                created=row.created,
                verify_until=until,
            )
        )
    return statuses


def clear_key_cache() -> None:
    """Forget this process's copy of the key set; the next use rebuilds it."""
    _process.key_set = None
    _process.signing = None
    _process.check_after = -math.inf


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in {"BEARER_AUTH", "SECRET_KEY", "SECRET_KEY_FALLBACKS"}:
        clear_key_cache()


# The process-local copy and the shared version.


def _current_key_set() -> _KeySet:
    if _monotonic() >= _process.check_after or _process.key_set is None:
        _refresh()
    key_set = _process.key_set
    if key_set is None:  # only if a concurrent clear_key_cache() raced us
        return _refresh()
    return key_set


def _refresh(*, force: bool = False) -> _KeySet:
    """Rebuild the copy if the shared version moved (or is unknown); reset the timer."""
    if uses_settings_keys():
        key_set = _process.key_set
        if key_set is None or not key_set.from_settings:
            key_set = _settings_key_set()
            _process.key_set = key_set
            _process.check_after = math.inf  # rebuilt on setting_changed only
        return key_set
    if _process.distrust_version:
        _process.distrust_version = False
        version = None
    else:
        version = _shared_version()
    key_set = _process.key_set
    if key_set is None or _is_stale(key_set, version, force=force):
        try:
            fresh = _database_key_set(version)
        except DatabaseError as exc:
            if key_set is None:
                # Nothing to verify or sign with: fail closed, as a 503.
                raise ServiceUnavailable from exc
            # Keep the copy this process has (as between two checks anyway)
            # and look again at the next check.
            logger.warning("bearer_auth: database unavailable, keeping the loaded signing keys")
            _process.check_after = _monotonic() + float(bearer_settings.KEY_CACHE_SECONDS)
            return key_set
        key_set = fresh
        _process.key_set = key_set
    if not force or _process.check_after == -math.inf:
        _process.check_after = _monotonic() + float(bearer_settings.KEY_CACHE_SECONDS)
    return key_set


def _is_stale(key_set: _KeySet, version: int | None, *, force: bool) -> bool:
    if force:
        # An unknown kid: rebuild only on a known, different version, so a
        # stream of made-up kids never reaches the database.
        return version is not None and version != key_set.version
    return key_set.from_settings or version is None or version != key_set.version


def _shared_version() -> int | None:
    """Return the shared key set version, starting a random one when absent."""
    try:
        version = cache.get(VERSION_CACHE_KEY)
        if version is None:
            # Random, so a restarted cache never repeats a version some process holds.
            cache.add(VERSION_CACHE_KEY, secrets.randbits(62), timeout=None)
            version = cache.get(VERSION_CACHE_KEY)
    except Exception:  # any cache backend error: rebuild from the database instead
        logger.warning("bearer_auth: cache unavailable, reloading signing keys", exc_info=True)
        return None
    return int(version) if isinstance(version, int) else None


def _key_set_changed() -> None:
    """Reload here now; after commit, make every process reload."""
    clear_key_cache()
    _process.distrust_version = transaction.get_connection(
        router.db_for_write(SigningKey)
    ).in_atomic_block
    transaction.on_commit(_publish_key_set_change, using=router.db_for_write(SigningKey))


def _publish_key_set_change() -> None:
    try:
        _bump_shared_version()
    except Exception:  # any cache backend error: processes still reload on their timer
        logger.warning("bearer_auth: cache unavailable, key change not published", exc_info=True)
    _process.distrust_version = False
    clear_key_cache()


def _bump_shared_version() -> None:
    try:
        cache.incr(VERSION_CACHE_KEY)
    except ValueError:  # no version yet (or evicted): any new random one differs
        cache.set(VERSION_CACHE_KEY, secrets.randbits(62), timeout=None)


# Database keys.


def _database_key_set(version: int | None) -> _KeySet:
    grace = _retirement_grace(_longest_token_lifetime())
    keys: dict[str, VerificationKey] = {}
    jwks: list[Mapping[str, Any]] = []
    active_kid = active_ciphertext = None
    for row in SigningKey.objects.order_by(F("active").desc(nulls_last=True), "-created"):
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
    return _KeySet(
        keys=keys,
        jwks=tuple(jwks),
        active_kid=active_kid,
        signing=None,
        active_ciphertext=active_ciphertext,
        version=version,
        from_settings=False,
    )


def _create_first_key() -> None:
    row = _new_key_row(configured_algorithm())
    try:
        with transaction.atomic(using=router.db_for_write(SigningKey)):
            row.save(force_insert=True)
    except IntegrityError:
        clear_key_cache()  # another process created it first: use theirs
        return
    _key_set_changed()


def _new_key_row(algorithm: str) -> SigningKey:
    """Generate a key pair and return an unsaved, active row holding it."""
    private_key = generate_private_key(algorithm)
    jwk = public_jwk(private_key, algorithm)
    return SigningKey(
        kid=jwk["kid"],
        algorithm=algorithm,
        public_jwk=jwk,
        encrypted_private_key=encrypt_private_key(private_key),
        active=True,
    )


def _decrypt_active(key_set: _KeySet) -> SigningMaterial:
    if key_set.active_kid is None or key_set.active_ciphertext is None:
        raise ImproperlyConfigured("No active signing key could be created.")
    private_key = decrypt_private_key(key_set.active_ciphertext, kid=key_set.active_kid)
    algorithm = key_set.keys[key_set.active_kid].algorithm
    return SigningMaterial(kid=key_set.active_kid, algorithm=algorithm, private_key=private_key)


def _require_database_keys() -> None:
    if uses_settings_keys():
        raise ImproperlyConfigured(
            "Signing keys come from BEARER_AUTH['SIGNING_KEYS']; rotate them by "
            "editing that setting, not in the database."
        )


def _settings_key_set() -> _KeySet:
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
    return _KeySet(
        keys=keys,
        jwks=jwks,
        active_kid=materials[0].kid,
        signing=materials[0],
        active_ciphertext=None,
        version=None,
        from_settings=True,
    )


def _longest_token_lifetime() -> timedelta:
    """Return the longest access-token lifetime any application may be given."""
    lifetime: timedelta = bearer_settings.ACCESS_TOKEN_LIFETIME
    longest: timedelta | None = ApplicationPolicy.objects.aggregate(
        longest=Max("access_token_lifetime")
    )["longest"]
    return max(lifetime, longest) if longest is not None else lifetime


def _retirement_grace(lifetime: timedelta) -> timedelta:
    leeway: timedelta = bearer_settings.LEEWAY
    return lifetime + leeway + timedelta(seconds=float(bearer_settings.KEY_CACHE_SECONDS))
