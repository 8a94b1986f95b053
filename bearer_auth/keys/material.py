"""Key material: generate keys, load them from settings, JWKs, encryption at rest.

No state and no database here: :mod:`bearer_auth.keys.store` decides which
keys are in use and :mod:`bearer_auth.keys.cache` keeps them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

import jwt
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from bearer_auth.settings import bearer_settings

ALGORITHMS: Final = ("RS256", "ES256", "EdDSA", "HS256")
#: Algorithms of keys bearer_auth generates and stores (HS256 secrets never are).
GENERATED_ALGORITHMS: Final = ("RS256", "ES256", "EdDSA")
RSA_KEY_SIZE: Final = 2048
MIN_HMAC_KEY_BYTES: Final = 32
#: HKDF ``info`` label of the key that encrypts private keys at rest. Changing
#: it makes every stored key undecryptable: it is part of the storage format.
ENCRYPTION_INFO: Final = b"bearer_auth.keys signing-key encryption v1"
#: RFC 7638 §3.2: the members of each key type that make up its thumbprint.
_THUMBPRINT_MEMBERS: Final[dict[str, tuple[str, ...]]] = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),  # RFC 8037 §2
    "oct": ("k", "kty"),
}

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class SigningMaterial:
    """The active key, ready for ``jwt.encode(key=private_key, algorithm=algorithm)``."""

    kid: str
    algorithm: str
    private_key: Any  # a cryptography private key; bytes for HS256


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """Return the RFC 7638 SHA-256 thumbprint of ``jwk``, used as its ``kid``."""
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps(
        {name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True
    )
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def public_jwk(private_key: PrivateKey, algorithm: str) -> dict[str, Any]:
    """Return the public JWK of ``private_key`` with ``kid``, ``alg`` and ``use``."""
    jwk: dict[str, Any] = jwt.get_algorithm_by_name(algorithm).to_jwk(
        private_key.public_key(), as_dict=True
    )
    jwk.pop("key_ops", None)  # RFC 7517 §4.3: "use" and "key_ops" should not both appear
    return {**jwk, "kid": thumbprint(jwk), "alg": algorithm, "use": "sig"}


def generate_private_key(algorithm: str) -> PrivateKey:
    """Return a new private key for ``algorithm`` (RS256, ES256 or EdDSA)."""
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_SIZE)
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise ImproperlyConfigured(
        f"Cannot generate a {algorithm!r} key; use one of {', '.join(GENERATED_ALGORITHMS)}."
    )


def configured_algorithm() -> str:
    """Return ``SIGNING_ALGORITHM``, refusing one outside :data:`ALGORITHMS`."""
    algorithm = str(bearer_settings.SIGNING_ALGORITHM)
    if algorithm not in ALGORITHMS:
        raise ImproperlyConfigured(
            f"BEARER_AUTH['SIGNING_ALGORITHM'] must be one of {', '.join(ALGORITHMS)}."
        )
    return algorithm


# Encryption at rest.


def encrypt_private_key(private_key: PrivateKey) -> str:
    """Return the Fernet token of the key's PKCS #8 DER form, as text."""
    der = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return _fernet().encrypt(der).decode("ascii")


def decrypt_private_key(ciphertext: str, *, kid: str) -> Any:
    """Return the private key stored as ``ciphertext``.

    Raises ``ImproperlyConfigured`` naming the fix when no configured secret
    decrypts it.
    """
    try:
        der = _fernet().decrypt(ciphertext.encode("ascii"))
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            f"Cannot decrypt signing key {kid}: SECRET_KEY (or "
            "BEARER_AUTH['KEY_ENCRYPTION_KEY']) changed. Put the old value in "
            "SECRET_KEY_FALLBACKS (or second in KEY_ENCRYPTION_KEY's list), or run "
            "`manage.py bearer_keys rotate`."
        ) from exc
    return serialization.load_der_private_key(der, password=None)


def _fernet() -> MultiFernet:
    """Return the at-rest cipher: the first secret encrypts, every one decrypts."""
    kek = bearer_settings.KEY_ENCRYPTION_KEY
    if kek:
        secrets = [kek] if isinstance(kek, str | bytes) else list(kek)
    else:
        secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return MultiFernet([Fernet(_derive_fernet_key(secret)) for secret in secrets])


def _derive_fernet_key(secret: str | bytes) -> bytes:
    raw = secret.encode("utf-8") if isinstance(secret, str) else secret
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=ENCRYPTION_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(raw))


# Keys from settings.


def uses_settings_keys() -> bool:
    """Tell whether keys come from ``SIGNING_KEYS`` (always so for HS256)."""
    return bool(bearer_settings.SIGNING_KEYS) or configured_algorithm() == "HS256"


def settings_signing_keys() -> list[SigningMaterial]:
    """Parse ``SIGNING_KEYS``: PEM keys (text or file paths), or HS256 secrets."""
    entries: Sequence[Any] = bearer_settings.SIGNING_KEYS or []
    if not entries:
        raise ImproperlyConfigured(
            "HS256 needs a shared secret in BEARER_AUTH['SIGNING_KEYS'] (32 bytes or more)."
        )
    if configured_algorithm() == "HS256":
        return [_hmac_material(entry, index) for index, entry in enumerate(entries)]
    return [_pem_material(entry, index) for index, entry in enumerate(entries)]


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
    kid = public_jwk(cast(PrivateKey, private_key), algorithm)["kid"]
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


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
