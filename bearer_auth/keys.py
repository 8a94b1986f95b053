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
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, cast

import jwt
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import IntegrityError, router, transaction
from django.db.models import F, Max
from django.dispatch import receiver
from django.utils import timezone

from bearer_auth.models import ApplicationPolicy, SigningKey
from bearer_auth.settings import bearer_settings

logger = logging.getLogger(__name__)

ALGORITHMS: Final = ("RS256", "ES256", "EdDSA", "HS256")
#: Algorithms of keys bearer_auth generates and stores (HS256 secrets never are).
GENERATED_ALGORITHMS: Final = ("RS256", "ES256", "EdDSA")
RSA_KEY_SIZE: Final = 2048
MIN_HMAC_KEY_BYTES: Final = 32
#: HKDF ``info`` label of the key that encrypts private keys at rest. Changing
#: it makes every stored key undecryptable: it is part of the storage format.
ENCRYPTION_INFO: Final = b"bearer_auth.keys signing-key encryption v1"
#: Django cache key of the shared key set version.
VERSION_CACHE_KEY: Final = "bearer_auth:signing-key-set-version"
#: RFC 7638 §3.2: the members of each key type that make up its thumbprint.
_THUMBPRINT_MEMBERS: Final[dict[str, tuple[str, ...]]] = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),  # RFC 8037 §2
    "oct": ("k", "kty"),
}
_ROTATION_ATTEMPTS: Final = 3

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

# The time source of the process-local cache; a seam for tests (time-machine
# does not move the monotonic clock).
_monotonic = time.monotonic


@dataclass(frozen=True)
class SigningMaterial:
    """The active key, ready for ``jwt.encode(key=private_key, algorithm=algorithm)``."""

    kid: str
    algorithm: str
    private_key: Any  # a cryptography private key; bytes for HS256


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
    algorithm = algorithm or _configured_algorithm()
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


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """Return the RFC 7638 SHA-256 thumbprint of ``jwk``, used as its ``kid``."""
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps(
        {name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True
    )
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def verification_deadline(retired_at: datetime) -> datetime:
    """Return when a key retired at ``retired_at`` stops verifying.

    The last token it signed was issued up to ``KEY_CACHE_SECONDS`` after
    ``retired_at`` (other processes learn of the rotation that late) and lives
    for the longest access-token lifetime, plus ``LEEWAY``.
    """
    return retired_at + _retirement_grace(_longest_token_lifetime())


def describe_signing_keys() -> list[KeyStatus]:
    """Describe every key in use, newest first, for ``bearer_keys list``."""
    if _uses_settings_keys():
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
    if _uses_settings_keys():
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
        key_set = _database_key_set(version)
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
        cache.incr(VERSION_CACHE_KEY)
    except ValueError:  # no version yet (or evicted): any new random one differs
        cache.set(VERSION_CACHE_KEY, secrets.randbits(62), timeout=None)
    except Exception:
        logger.warning("bearer_auth: cache unavailable, key change not published", exc_info=True)
    _process.distrust_version = False
    clear_key_cache()


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
    row = _new_key_row(_configured_algorithm())
    try:
        with transaction.atomic(using=router.db_for_write(SigningKey)):
            row.save(force_insert=True)
    except IntegrityError:
        clear_key_cache()  # another process created it first: use theirs
        return
    _key_set_changed()


def _new_key_row(algorithm: str) -> SigningKey:
    """Generate a key pair and return an unsaved, active row holding it."""
    if algorithm not in GENERATED_ALGORITHMS:
        raise ImproperlyConfigured(
            f"Cannot generate a {algorithm!r} key; use one of {', '.join(GENERATED_ALGORITHMS)}."
        )
    private_key = _generate_private_key(algorithm)
    jwk = _public_jwk(private_key, algorithm)
    der = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return SigningKey(
        kid=jwk["kid"],
        algorithm=algorithm,
        public_jwk=jwk,
        encrypted_private_key=_fernet().encrypt(der).decode("ascii"),
        active=True,
    )


def _generate_private_key(algorithm: str) -> PrivateKey:
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_SIZE)
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()


def _decrypt_active(key_set: _KeySet) -> SigningMaterial:
    if key_set.active_kid is None or key_set.active_ciphertext is None:
        raise ImproperlyConfigured("No active signing key could be created.")
    try:
        der = _fernet().decrypt(key_set.active_ciphertext.encode("ascii"))
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            f"Cannot decrypt signing key {key_set.active_kid}: SECRET_KEY (or "
            "BEARER_AUTH['KEY_ENCRYPTION_KEY']) changed. Put the old value in "
            "SECRET_KEY_FALLBACKS (or first in KEY_ENCRYPTION_KEY's list), or run "
            "`manage.py bearer_keys rotate`."
        ) from exc
    private_key = serialization.load_der_private_key(der, password=None)
    algorithm = key_set.keys[key_set.active_kid].algorithm
    return SigningMaterial(kid=key_set.active_kid, algorithm=algorithm, private_key=private_key)


def _fernet() -> MultiFernet:
    """Return the at-rest cipher: the first secret encrypts, every one decrypts."""
    kek = bearer_settings.KEY_ENCRYPTION_KEY
    if kek:
        secrets_ = [kek] if isinstance(kek, str | bytes) else list(kek)
    else:
        secrets_ = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return MultiFernet([Fernet(_derive_fernet_key(secret)) for secret in secrets_])


def _derive_fernet_key(secret: str | bytes) -> bytes:
    raw = secret.encode("utf-8") if isinstance(secret, str) else secret
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=ENCRYPTION_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(raw))


def _require_database_keys() -> None:
    if _uses_settings_keys():
        raise ImproperlyConfigured(
            "Signing keys come from BEARER_AUTH['SIGNING_KEYS']; rotate them by "
            "editing that setting, not in the database."
        )


# Keys from settings.


def _uses_settings_keys() -> bool:
    return bool(bearer_settings.SIGNING_KEYS) or _configured_algorithm() == "HS256"


def _settings_key_set() -> _KeySet:
    """Parse ``SIGNING_KEYS``: the first key signs, every key verifies."""
    entries: Sequence[Any] = bearer_settings.SIGNING_KEYS or []
    if not entries:
        raise ImproperlyConfigured(
            "HS256 needs a shared secret in BEARER_AUTH['SIGNING_KEYS'] (32 bytes or more)."
        )
    hmac = _configured_algorithm() == "HS256"
    materials = [
        _hmac_material(entry, index) if hmac else _pem_material(entry, index)
        for index, entry in enumerate(entries)
    ]
    keys = {
        m.kid: VerificationKey(
            kid=m.kid,
            algorithm=m.algorithm,
            public_key=m.private_key if hmac else m.private_key.public_key(),
            verify_until=None,
        )
        for m in materials
    }
    jwks = () if hmac else tuple(_public_jwk(m.private_key, m.algorithm) for m in materials)
    return _KeySet(
        keys=keys,
        jwks=jwks,
        active_kid=materials[0].kid,
        signing=materials[0],
        active_ciphertext=None,
        version=None,
        from_settings=True,
    )


def _hmac_material(entry: Any, index: int) -> SigningMaterial:
    secret = entry.encode("utf-8") if isinstance(entry, str) else entry
    if not isinstance(secret, bytes) or b"-----BEGIN" in secret:
        raise ImproperlyConfigured(
            f"BEARER_AUTH['SIGNING_KEYS'][{index}] must be an HS256 secret (str or bytes), "
            "not a PEM key, when SIGNING_ALGORITHM is 'HS256'."
        )
    if len(secret) < MIN_HMAC_KEY_BYTES:
        raise ImproperlyConfigured(
            f"BEARER_AUTH['SIGNING_KEYS'][{index}] is shorter than {MIN_HMAC_KEY_BYTES} bytes; "
            "HS256 needs a random secret of 32 bytes or more."
        )
    kid = thumbprint({"kty": "oct", "k": _b64url(secret)})
    return SigningMaterial(kid=kid, algorithm="HS256", private_key=secret)


def _pem_material(entry: Any, index: int) -> SigningMaterial:
    where = f"BEARER_AUTH['SIGNING_KEYS'][{index}]"
    data = _pem_bytes(entry, where)
    try:
        private_key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:  # never echo the value: it may be a key
        raise ImproperlyConfigured(f"{where} is not an unencrypted PEM private key.") from exc
    algorithm = _algorithm_of(private_key, where)  # also narrows it to a PrivateKey
    kid = _public_jwk(cast(PrivateKey, private_key), algorithm)["kid"]
    return SigningMaterial(kid=kid, algorithm=algorithm, private_key=private_key)


def _pem_bytes(entry: Any, where: str) -> bytes:
    if isinstance(entry, bytes):
        return entry
    if isinstance(entry, str) and "-----BEGIN" in entry:
        return entry.encode("utf-8")
    try:
        return Path(entry).read_bytes()
    except (OSError, TypeError, ValueError) as exc:
        raise ImproperlyConfigured(
            f"{where} is neither a PEM private key nor the path of a readable PEM file."
        ) from exc


def _algorithm_of(private_key: Any, where: str) -> str:
    """Return the one algorithm a key is used with, from its type."""
    if isinstance(private_key, rsa.RSAPrivateKey):
        if private_key.key_size < RSA_KEY_SIZE:
            raise ImproperlyConfigured(f"{where}: RSA keys must be {RSA_KEY_SIZE} bits or more.")
        return "RS256"
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise ImproperlyConfigured(f"{where}: EC keys must use the P-256 curve (ES256).")
        return "ES256"
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return "EdDSA"
    raise ImproperlyConfigured(f"{where}: use an RSA, EC P-256 or Ed25519 private key.")


# Shared helpers.


def _public_jwk(private_key: PrivateKey, algorithm: str) -> dict[str, Any]:
    """Return the public JWK of ``private_key`` with ``kid``, ``alg`` and ``use``."""
    jwk: dict[str, Any] = jwt.get_algorithm_by_name(algorithm).to_jwk(
        private_key.public_key(), as_dict=True
    )
    jwk.pop("key_ops", None)  # RFC 7517 §4.3: "use" and "key_ops" should not both appear
    return {**jwk, "kid": thumbprint(jwk), "alg": algorithm, "use": "sig"}


def _configured_algorithm() -> str:
    algorithm = str(bearer_settings.SIGNING_ALGORITHM)
    if algorithm not in ALGORITHMS:
        raise ImproperlyConfigured(
            f"BEARER_AUTH['SIGNING_ALGORITHM'] must be one of {', '.join(ALGORITHMS)}."
        )
    return algorithm


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


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
