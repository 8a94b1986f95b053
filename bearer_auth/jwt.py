"""RFC 9068 JWT access tokens: the only module that calls PyJWT.

:func:`mint_access_token` makes every access token the project issues (first
party and OAuth, through :func:`bearer_auth.oauth.generate_access_token`);
:func:`decode_access_token` is the one verifier. OpenID Connect ID tokens are
signed by the same managed keys (:func:`sign_id_token`) and checked, as an
``id_token_hint``, by :func:`decode_id_token`; the ``typ`` header keeps the two
apart in both directions. simplejwt's backend cannot write ``kid``/``typ``
headers, so PyJWT is wrapped here directly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from bearer_auth import keys
from bearer_auth.claims import extra_claims
from bearer_auth.exceptions import InvalidToken, TokenExpired
from bearer_auth.settings import DEBUG_ISSUER, bearer_settings

#: RFC 9068 §2.1 media type, compared case-insensitively, ``application/`` optional.
TOKEN_TYPE: Final = "at+jwt"
#: The ``typ`` of an OpenID Connect ID token (Core §2, RFC 7519 §5.1).
ID_TOKEN_TYPE: Final = "JWT"
#: OpenID Connect Core §2: claims every ID token carries.
ID_TOKEN_REQUIRED_CLAIMS: Final = ("iss", "sub", "aud", "exp", "iat")
#: Tokens longer than this are refused before any decoding (DESIGN.md).
MAX_TOKEN_LENGTH: Final = 8 * 1024
#: RFC 9068 §2.2: claims every access token carries.
REQUIRED_CLAIMS: Final = ("iss", "sub", "aud", "exp", "iat", "jti", "client_id")
#: Claim holding the password fingerprint of the user the token was issued to.
PASSWORD_CLAIM: Final = "pfp"
#: Asymmetric algorithms accepted from a remote JWKS (HS256 never is).
ASYMMETRIC_ALGORITHMS: Final = frozenset(keys.GENERATED_ALGORITHMS)
# Header parameters that would let a token bring or point at its own key, or
# change how it is processed (RFC 8725 §3.10, §2.8; RFC 7515 §4.1.11).
_FORBIDDEN_HEADERS: Final = frozenset({"jku", "jwk", "x5u", "x5c", "crit", "zip", "enc"})
_MAX_KID_LENGTH: Final = 128
# Distinct JOSE headers remembered: one per signing key in practice.
_HEADER_CACHE_SIZE: Final = 256
# 9999-12-31T23:59:59Z: any later exp/iat/nbf is hostile, not a date.
_MAX_TIMESTAMP: Final = 253402300799
#: What a hostile JWT can make PyJWT or json raise besides PyJWTError (DPoP
#: proofs too, :mod:`bearer_auth.dpop`).
DECODE_ERRORS: Final = (
    jwt.PyJWTError,
    ValueError,
    TypeError,
    KeyError,
    OverflowError,
    RecursionError,
    UnicodeError,
)
# The HMAC salt is part of every stored fingerprint (sessions, the pfp claim):
# it keeps the module's old name, since changing it would sign everyone out.
_PASSWORD_SALT: Final = "bearer_auth.tokens.password_fingerprint"
# PyJWT copies the options it is given, so one mapping serves every call.
_DECODE_OPTIONS: Final[jwt.types.Options] = {"require": list(REQUIRED_CLAIMS), "strict_aud": True}
_NUMBER_TYPES: Final = (int, float)
# Claim values a remembered token may carry: immutable, so the copy handed to
# each request shares nothing another request could change.
_SCALAR_TYPES: Final = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class MintedToken:
    """A freshly signed access token and the facts about it the caller stores."""

    token: str
    jti: str
    expires_at: datetime
    claims: Mapping[str, Any]


def user_subject(user: AbstractBaseUser) -> str:
    """Return the ``sub`` of ``user``: its public id, or its primary key.

    bearer_auth's user model has a UUID ``public_id`` so database ids never
    leave the server; any other user model falls back to ``pk``.
    """
    public_id = getattr(user, "public_id", None)
    return str(public_id if public_id is not None else user.pk)


def user_by_subject(subject: str) -> Any | None:
    """Return the user whose ``sub`` is ``subject``, or ``None``: :func:`user_subject` reversed.

    One query on the user model's ``public_id``, or its primary key when it
    has none; a ``subject`` that cannot be such a value (a client's
    ``client_id``) is ``None`` without a query.
    """
    users = get_user_model()._default_manager
    field = "public_id" if _has_public_id(users.model) else "pk"
    try:
        return users.filter(**{field: subject}).first()
    except (ValidationError, ValueError, TypeError):
        return None


def _has_public_id(model: Any) -> bool:
    try:
        model._meta.get_field("public_id")
    except FieldDoesNotExist:
        return False
    return True


def password_fingerprint(user: AbstractBaseUser) -> str:
    """Return a short keyed digest of the user's password hash.

    It changes whenever the stored hash changes, by any path (``set_password``,
    the admin, ``changepassword``, a queryset update), like Django's session
    auth hash. It is an HMAC keyed with ``SECRET_KEY``: it reveals nothing
    about the password.
    """
    return salted_hmac(_PASSWORD_SALT, user.password, algorithm="sha256").hexdigest()[:32]


def password_fingerprint_matches(user: AbstractBaseUser, fingerprint: object) -> bool:
    """Compare a stored or claimed fingerprint with the user's current one.

    Compared as UTF-8 bytes: ``compare_digest`` raises ``TypeError`` for
    ``str`` arguments holding non-ASCII characters.
    """
    return isinstance(fingerprint, str) and hmac.compare_digest(
        fingerprint.encode("utf-8", "surrogatepass"), password_fingerprint(user).encode("ascii")
    )


def issuer() -> str:
    """Return the configured ``iss``; outside ``DEBUG`` refuse to work without one."""
    value = bearer_settings.ISSUER
    if not value:
        if settings.DEBUG:
            return DEBUG_ISSUER
        raise ImproperlyConfigured(
            'Set BEARER_AUTH["ISSUER"] to the URL of this server, e.g. "https://auth.example.com".'
        )
    return str(value)


def audience() -> str:
    """Return the ``aud`` of issued tokens: ``AUDIENCE``, else the issuer itself."""
    return str(bearer_settings.AUDIENCE or issuer())


def mint_access_token(
    *,
    user: AbstractBaseUser | None,
    client_id: str,
    scope: str,
    lifetime: timedelta | None = None,
    request: Any = None,
    resource: str | None = None,
    confirmation: Mapping[str, str] | None = None,
) -> MintedToken:
    """Sign an RFC 9068 access token with the active key.

    ``user`` is ``None`` for client-credentials tokens; their ``sub`` is the
    client id (RFC 9068 §2.2). ``aud`` is ``resource`` (an RFC 8707 resource
    indicator the server accepted, :mod:`bearer_auth.resources`), else
    :func:`audience`. ``confirmation`` is the ``cnf`` claim of a token
    bound to a DPoP key (RFC 9449 §6.1, :mod:`bearer_auth.dpop`).
    The project's ``EXTRA_CLAIMS_HOOK`` adds its
    claims (:mod:`bearer_auth.claims`), given ``request``: oauthlib's request
    of the token endpoint, when there is one. Raises ``ImproperlyConfigured``
    when the hook returns a reserved claim or a value that is not JSON.
    """
    key = keys.current_signing_key()
    issued_at = int(timezone.now().timestamp())
    expires = issued_at + int((lifetime or bearer_settings.ACCESS_TOKEN_LIFETIME).total_seconds())
    claims: dict[str, Any] = {
        "iss": issuer(),
        "sub": user_subject(user) if user is not None else client_id,
        "aud": resource or audience(),
        "exp": expires,
        "iat": issued_at,
        "jti": secrets.token_urlsafe(16),  # 128 random bits
        "client_id": client_id,
        "scope": scope,
    }
    if user is not None:
        claims[PASSWORD_CLAIM] = password_fingerprint(user)
    if confirmation is not None:
        claims["cnf"] = dict(confirmation)
    claims.update(
        extra_claims(user=user, client_id=client_id, scopes=tuple(scope.split()), request=request)
    )
    token = jwt.encode(
        claims,
        key.private_key,
        algorithm=key.algorithm,
        headers={"kid": key.kid, "typ": TOKEN_TYPE},
    )
    return MintedToken(
        token=token,
        jti=claims["jti"],
        expires_at=datetime.fromtimestamp(expires, tz=dt_timezone.utc),
        claims=claims,
    )


def looks_like_jwt(token: str) -> bool:
    """Tell a compact JWS (three dot-separated parts) from an opaque DOT token."""
    return token.count(".") == 2


def decode_access_token(token: str, *, resource: str | None = None) -> dict[str, Any]:
    """Verify ``token`` and return its claims (a new dict each call).

    Checks, in order: size, header (``typ``, ``kid``, no key-bearing or
    critical parameters), the key and its one algorithm, the signature, then
    every claim (RFC 9068 §4, RFC 8725). ``aud`` must be exactly ``resource``
    (a resource server's identifier, :mod:`bearer_auth.resources`), else
    :func:`audience`. A token this process verified before with the same key
    skips PyJWT and has only its dates and ``aud`` checked again
    (:class:`_VerifiedTokens`). Raises :class:`TokenExpired` or
    :class:`InvalidToken` with a generic description; never anything else.
    """
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken
    try:
        key, algorithm = _verification_key(_checked_kid(token.partition(".")[0]))
        expected_audience = resource or audience()
        verified = _verified_tokens.get(token)
        if verified is not None and verified.key is key and verified.algorithm == algorithm:
            # Verified for some resource server: ``aud`` is one string (strict_aud).
            if verified.claims["aud"] != expected_audience:
                raise InvalidToken
            return verified.claims_now(leeway=bearer_settings.LEEWAY)
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=expected_audience,
            issuer=issuer(),
            leeway=bearer_settings.LEEWAY,
            options=_DECODE_OPTIONS,
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired from exc
    except DECODE_ERRORS as exc:
        raise InvalidToken from exc
    _check_claim_types(claims)
    _verified_tokens.add(token, key=key, algorithm=algorithm, claims=claims)
    return claims


def unverified_audience(token: str) -> str | None:
    """Return the ``aud`` a JWT names, WITHOUT verifying anything; ``None`` if it names none.

    Only for choosing the resource to verify the token for
    (:func:`decode_access_token`'s ``resource``), where any resource this
    server issues tokens for will do (token introspection); the token is then
    verified in full.
    """
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except DECODE_ERRORS:
        return None
    value = claims.get("aud") if isinstance(claims, dict) else None
    return value if isinstance(value, str) else None


@lru_cache(maxsize=_HEADER_CACHE_SIZE)
def _checked_kid(header_segment: str) -> str:
    """Parse and check a JOSE header segment; return its ``kid``.

    Only the header segment is parsed (PyJWT's parser, with an empty payload
    and signature standing in): ``jwt.get_unverified_header(token)`` would
    decode the payload and signature too, which ``jwt.decode`` then does
    again. Every token signed by one key has the same header, so the result
    is remembered by the segment's exact text; a header that fails a check
    raises and is never remembered. ``jwt.decode`` parses the same segment
    again and verifies the signature over it.
    """
    header = jwt.get_unverified_header(f"{header_segment}..")
    _check_header(header)
    kid: str = header["kid"]
    return kid


def _verification_key(kid: str) -> tuple[Any, str]:
    """Return the key and the one algorithm allowed for ``kid``."""
    if bearer_settings.JWKS_URL:
        return _remote_key(kid)
    key = keys.verification_key(kid)
    if key is None:
        raise InvalidToken
    return key.public_key, key.algorithm


def _check_header(header: Mapping[str, Any]) -> None:
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower().removeprefix("application/") != TOKEN_TYPE:
        raise InvalidToken(_("The token is not an access token."))
    if _FORBIDDEN_HEADERS.intersection(header):
        raise InvalidToken
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > _MAX_KID_LENGTH:
        raise InvalidToken


def _check_claim_types(claims: Mapping[str, Any]) -> None:
    """Enforce the shapes PyJWT does not check (RFC 9068 §2.2)."""
    for name in ("sub", "jti", "client_id", "iss"):
        if not isinstance(claims.get(name), str) or not claims[name]:
            raise InvalidToken
    if not isinstance(claims.get("scope", ""), str):
        raise InvalidToken
    for name in ("exp", "iat", "nbf"):
        value = claims.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, _NUMBER_TYPES):
            raise InvalidToken
        if not 0 <= value <= _MAX_TIMESTAMP:
            raise InvalidToken


@dataclass(frozen=True, slots=True)
class _Verified:
    """A token whose signature and every date-independent claim were checked."""

    claims: Mapping[str, Any]
    #: The key object that verified it, and its one algorithm; a later key
    #: for the same ``kid`` is another object.
    key: object
    algorithm: str
    #: The latest of ``iat`` and ``nbf``, and ``exp``, as PyJWT compares them.
    not_before: int
    expires: int

    def claims_now(self, *, leeway: timedelta | float) -> dict[str, Any]:
        """Check the dates again at this moment; return a copy of the claims.

        The same comparisons as PyJWT's ``_validate_iat``, ``_validate_nbf``
        and ``_validate_exp``, in that order (a test holds them equal at each
        boundary): a date in the future is :class:`InvalidToken`, ``exp``
        reached is :class:`TokenExpired`.
        """
        margin = leeway.total_seconds() if isinstance(leeway, timedelta) else float(leeway)
        now = datetime.now(tz=dt_timezone.utc).timestamp()
        if self.not_before > now + margin:
            raise InvalidToken
        if self.expires <= now - margin:
            raise TokenExpired
        claims = dict(self.claims)
        for name, value in claims.items():
            if isinstance(value, Mapping):  # cnf: a copy of its own for each request
                claims[name] = dict(value)
        return claims


class _VerifiedTokens:
    """The tokens this process verified, by their exact text: the signature once per token.

    A client sends the same access token with every request until it expires,
    so the RSA or EC signature check, PyJWT's parsing and the claim checks,
    which depend only on the token's bytes, the key and the settings, are
    done on its first request alone. What can change later is checked on every
    request all the same: the key is looked up again (a retired or replaced
    key is not the one remembered, so the token is verified afresh or
    refused), the dates are compared with the clock, and strict mode's query
    still finds the token's row and user. Only tokens that passed every check
    are remembered, never a failure; at most ``VERIFIED_TOKEN_CACHE_SIZE``
    (0 turns it off), the oldest dropped first. Forgotten when ``BEARER_AUTH``
    or ``DEBUG`` (the default issuer) changes.
    """

    def __init__(self) -> None:
        self._entries: dict[str, _Verified] = {}
        # Reads are one dict look-up (atomic); adding and dropping take the lock.
        self._lock = threading.Lock()

    def get(self, token: str) -> _Verified | None:
        return self._entries.get(token)

    def add(self, token: str, *, key: object, algorithm: str, claims: Mapping[str, Any]) -> None:
        """Remember a verified token whose claims are JSON scalars or flat objects of them.

        A flat object (``cnf``) is kept read-only and copied for each request:
        nothing is shared that a request could change.
        """
        size = bearer_settings.VERIFIED_TOKEN_CACHE_SIZE
        # Anything but a positive int (bearer_auth.E011 reports it) turns the cache off.
        if (
            not isinstance(size, int)
            or size <= 0
            or not all(_rememberable(value) for value in claims.values())
        ):
            return
        verified = _Verified(
            claims={
                name: MappingProxyType(dict(value)) if isinstance(value, dict) else value
                for name, value in claims.items()
            },
            key=key,
            algorithm=algorithm,
            not_before=max(int(claims["iat"]), int(claims.get("nbf", 0))),
            expires=int(claims["exp"]),
        )
        with self._lock:
            while token not in self._entries and len(self._entries) >= size:
                # Insertion order: the oldest first, which is (lifetimes being
                # alike) the nearest to expiry.
                del self._entries[next(iter(self._entries))]
            self._entries[token] = verified

    def clear(self) -> None:
        with self._lock:
            self._entries = {}


def _rememberable(value: object) -> bool:
    """A claim value a remembered token may carry: a scalar, or a flat object of scalars."""
    if isinstance(value, dict):
        return all(isinstance(item, _SCALAR_TYPES) for item in value.values())
    return isinstance(value, _SCALAR_TYPES)


_verified_tokens = _VerifiedTokens()


@receiver(setting_changed)
def _forget_verified_tokens(*, setting: str, **kwargs: Any) -> None:
    if setting in {"BEARER_AUTH", "DEBUG"}:
        _verified_tokens.clear()


_jwks_clients: dict[str, jwt.PyJWKClient] = {}
#: The remote keys found so far, per JWKS URL and ``kid``: what ``PyJWKClient``
#: (``cache_keys=True``: its signing-key cache has no expiry) answers again
#: without fetching, readable where no I/O may happen (:func:`keys.without_io`).
_remote_keys: dict[tuple[str, str], tuple[Any, str]] = {}
_REMOTE_KEYS_SIZE: Final = 16


def _remote_key(kid: str) -> tuple[Any, str]:
    """Find ``kid`` in the configured remote JWKS (stateless resource servers).

    Inside :func:`bearer_auth.keys.without_io` only a key found before is
    used; another raises :class:`~bearer_auth.keys.KeysNotLoaded` (fetching
    the JWKS is network I/O).
    """
    url = str(bearer_settings.JWKS_URL)
    found = _remote_keys.get((url, kid))
    if found is not None:
        return found
    if keys.io_forbidden():
        raise keys.KeysNotLoaded
    client = _jwks_clients.get(url)
    if client is None:
        client = jwt.PyJWKClient(
            url,
            cache_keys=True,
            lifespan=int(bearer_settings.KEY_CACHE_SECONDS) or 30,
            timeout=5,
        )
        _jwks_clients[url] = client
    try:
        signing_key = client.get_signing_key(kid)
    except jwt.PyJWKClientError as exc:
        raise InvalidToken from exc
    algorithm = signing_key.algorithm_name
    if algorithm not in ASYMMETRIC_ALGORITHMS:
        raise InvalidToken
    if len(_remote_keys) >= _REMOTE_KEYS_SIZE:
        _remote_keys.clear()
    _remote_keys[url, kid] = found = (signing_key.key, algorithm)
    return found


@receiver(setting_changed)
def _forget_remote_keys(*, setting: str, **kwargs: Any) -> None:
    if setting == "BEARER_AUTH":
        _jwks_clients.clear()
        _remote_keys.clear()


def sign_id_token(claims: Mapping[str, Any], *, access_token: str | None = None) -> str:
    """Sign ID-token ``claims`` with the active key, adding ``at_hash`` for ``access_token``.

    The same key, ``kid`` and JWKS as access tokens, with ``typ: JWT``: an ID
    token is never taken for an access token (:func:`decode_access_token`
    wants ``at+jwt``). ``at_hash`` uses the hash of the key's ``alg``
    (:func:`token_hash`). An HMAC key (``SIGNING_KEYS`` with HS256) would
    sign ID tokens that relying parties cannot verify from the JWKS:
    ``ImproperlyConfigured`` (``bearer_auth.E015`` reports it first).
    """
    key = keys.current_signing_key()
    if key.algorithm not in ASYMMETRIC_ALGORITHMS:
        raise ImproperlyConfigured(
            "OpenID Connect ID tokens need an asymmetric signing key "
            f"({', '.join(sorted(ASYMMETRIC_ALGORITHMS))}), not {key.algorithm}."
        )
    payload = dict(claims)
    if access_token is not None:
        payload["at_hash"] = token_hash(access_token, key.algorithm)
    return jwt.encode(
        payload,
        key.private_key,
        algorithm=key.algorithm,
        headers={"kid": key.kid, "typ": ID_TOKEN_TYPE},
    )


def signing_algorithm() -> str:
    """Return the ``alg`` new tokens are signed with: the active key's."""
    return keys.current_signing_key().algorithm


def token_hash(value: str, algorithm: str) -> str:
    """Return the ``at_hash``/``c_hash`` of ``value`` for a token signed with ``algorithm``.

    OpenID Connect Core §3.1.3.6: the left half of the hash the ``alg`` uses,
    base64url-encoded: SHA-256 for RS256 and ES256, SHA-512 for EdDSA
    (Ed25519), as relying parties such as authlib compute it. oauthlib's own
    ``at_hash`` is always SHA-256.
    """
    digest = (hashlib.sha512 if algorithm == "EdDSA" else hashlib.sha256)(
        value.encode("ascii")
    ).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).decode("ascii").rstrip("=")


def decode_id_token(
    token: str, *, audience: str | None = None, verify_expiry: bool = True
) -> dict[str, Any]:
    """Verify an ID token this server issued (an ``id_token_hint``); return its claims.

    The signature against the managed key set, ``typ: JWT`` (an access token
    is refused), ``iss``, the required claims, and ``aud``: ``audience`` when
    given, otherwise any string (the caller then checks it names a client).
    ``verify_expiry=False`` accepts an expired token (OpenID Connect
    RP-Initiated Logout §2 allows an expired ``id_token_hint``). Raises
    :class:`InvalidToken`, never anything else.
    """
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken
    try:
        header = jwt.get_unverified_header(token)
        if _FORBIDDEN_HEADERS.intersection(header) or header.get("typ") != ID_TOKEN_TYPE:
            raise InvalidToken
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > _MAX_KID_LENGTH:
            raise InvalidToken
        key = keys.verification_key(kid)
        if key is None or key.algorithm not in ASYMMETRIC_ALGORITHMS:
            raise InvalidToken
        claims: dict[str, Any] = jwt.decode(
            token,
            key.public_key,
            algorithms=[key.algorithm],
            audience=audience,
            issuer=issuer(),
            leeway=bearer_settings.LEEWAY,
            options={
                "require": list(ID_TOKEN_REQUIRED_CLAIMS),
                "verify_exp": verify_expiry,
                "verify_aud": audience is not None,
                "strict_aud": audience is not None,
            },
        )
    except DECODE_ERRORS as exc:
        raise InvalidToken from exc
    for name in ("sub", "iss"):
        if not isinstance(claims.get(name), str) or not claims[name]:
            raise InvalidToken
    if audience is None and not isinstance(claims.get("aud"), str):
        raise InvalidToken
    return claims


def token_checksum(raw_token: str) -> str:
    """Return the digest DOT stores for a token (``TokenChecksumField``): SHA-256 hex."""
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()
