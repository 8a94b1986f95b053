"""DPoP (RFC 9449): proofs that a client holds a key, and tokens bound to that key.

A client signs a short JWT, the *proof*, for each request, with a key pair it
holds, and sends it in the ``DPoP`` header. The token endpoints bind the
tokens they issue to the proof's key: the access token carries the key's
RFC 7638 thumbprint as ``cnf.jkt`` (RFC 9449 §6.1) and its ``token_type`` is
``DPoP``; a public client's refresh token (a first-party sign-in's
included) is bound through its session (``TokenSession.dpop_jkt``), so a
refresh needs a proof from the same key. ``BearerTokenAuthentication``
accepts a bound token only as ``Authorization: DPoP <token>`` with a proof
from the bound key whose ``ath`` is the token's hash.

This module checks proofs (:func:`verify_proof`, the RFC 9449 §4.3 list) for
both sides, remembers each proof's ``jti`` in Django's cache
(``DPOP_REPLAY_CACHE``) so that a proof is used once, and hands out and
checks server nonces (RFC 9449 §8): an HMAC of the time they were made,
keyed with ``SECRET_KEY``, so they need no storage. PyJWT verifies the
signature; the key comes from the proof's own ``jwk`` header (public members
only), which is what DPoP is about.

DPoP is on while ``DPOP_SIGNING_ALGORITHMS`` is not empty and access tokens
are JWTs (``ACCESS_TOKEN_FORMAT = "jwt"``): an opaque token has no claims to
carry ``cnf``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any, Final
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import jwt
from django.core.cache import InvalidCacheBackendError, caches
from django.http import HttpRequest, HttpResponseBase
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from oauthlib.oauth2.rfc6749.errors import CustomOAuth2Error

from bearer_auth import policy
from bearer_auth.exceptions import (
    DPoPNonceRequired,
    DPoPProofRefused,
    InvalidDPoPProof,
    ServiceUnavailable,
    UseDPoPNonce,
)
from bearer_auth.jwt import DECODE_ERRORS
from bearer_auth.settings import bearer_settings

#: The request header that carries a proof; also the authorization scheme.
PROOF_HEADER: Final = "DPoP"
SCHEME: Final = "DPoP"
#: The response header that carries a server nonce (RFC 9449 §8.1).
NONCE_HEADER: Final = "DPoP-Nonce"
#: The ``typ`` of every proof (RFC 9449 §4.2).
PROOF_TYPE: Final = "dpop+jwt"
#: The ``META`` entry through which ``BearerTokenAuthentication`` hands a
#: fresh nonce to :class:`bearer_auth.middleware.BearerAuthHeadersMiddleware`,
#: which sends it as ``DPoP-Nonce``.
NONCE_META_KEY: Final = "bearer_auth.dpop_nonce"
#: Where ``DPOP_NONCE_REQUIRED`` may require nonces.
NONCE_PLACES: Final = frozenset({"token", "resource"})
#: The proof algorithms that may be configured: asymmetric signatures PyJWT
#: verifies, each with the key type (and curves) its key must have.
KEY_TYPES: Final[Mapping[str, tuple[str, frozenset[str] | None]]] = {
    "ES256": ("EC", frozenset({"P-256"})),
    "ES384": ("EC", frozenset({"P-384"})),
    "ES512": ("EC", frozenset({"P-521"})),
    "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
}
#: The members of a public JWK whose thumbprint is taken (RFC 7638 §3.2).
_THUMBPRINT_MEMBERS: Final[Mapping[str, tuple[str, ...]]] = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
}
# Members only a private (or symmetric) key has: a proof must carry a public key.
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# Header parameters that would point at another key or change processing.
_FORBIDDEN_HEADERS: Final = frozenset({"jku", "x5u", "x5c", "crit", "zip", "enc", "b64"})
_MIN_RSA_BITS: Final = 2048
#: Longest proof read at all; a proof with an RSA-4096 key is under 2 KB.
MAX_PROOF_LENGTH: Final = 8 * 1024
_MAX_JTI_LENGTH: Final = 256
_HEADER_CACHE_SIZE: Final = 1024
# A client calls a handful of URIs; each request's and each proof's is normalized.
_URI_CACHE_SIZE: Final = 1024
_NONCE_SALT: Final = "bearer_auth.dpop.nonce"
_DECODE_OPTIONS: Final[jwt.types.Options] = {
    "require": ["jti", "htm", "htu", "iat"],
    "verify_aud": False,
    "verify_iss": False,
    "verify_iat": False,  # compared below, both ways, with DPOP_PROOF_LIFETIME
}
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Proof:
    """A verified proof: the thumbprint of its key and its claims."""

    #: RFC 7638 SHA-256 thumbprint of the proof's public key (``cnf.jkt``).
    jkt: str
    claims: Mapping[str, Any]


def algorithms() -> tuple[str, ...]:
    """The proof algorithms accepted; empty while DPoP is off (:func:`enabled`)."""
    if bearer_settings.ACCESS_TOKEN_FORMAT != "jwt":
        return ()
    return tuple(str(name) for name in bearer_settings.DPOP_SIGNING_ALGORITHMS or ())


def enabled() -> bool:
    """Whether DPoP is on: proof algorithms configured, and JWT access tokens."""
    return bool(algorithms())


def nonce_required(place: str) -> bool:
    """Whether proofs at ``place`` (``"token"`` or ``"resource"``) must carry a server nonce."""
    return place in (bearer_settings.DPOP_NONCE_REQUIRED or ())


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """Return the RFC 7638 SHA-256 thumbprint of a public JWK, base64url-encoded.

    The required members of its key type, in lexicographic order, as compact
    JSON. Raises ``KeyError`` or ``ValueError`` for a key of another type or
    without them.
    """
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    values = {name: jwk[name] for name in members}
    if not all(isinstance(value, str) for value in values.values()):
        raise ValueError("JWK members must be strings")
    canonical = json.dumps(values, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return _b64(hashlib.sha256(canonical.encode("utf-8")).digest())


def access_token_hash(access_token: str) -> str:
    """The ``ath`` of a proof sent with ``access_token``: base64url SHA-256 (RFC 9449 §4.2)."""
    return _b64(hashlib.sha256(access_token.encode("ascii")).digest())


def confirmation(proof: Proof) -> dict[str, str]:
    """The ``cnf`` claim of an access token bound to ``proof``'s key (RFC 9449 §6.1)."""
    return {"jkt": proof.jkt}


def bound_key(claims: Mapping[str, Any]) -> str | None:
    """The thumbprint an access token's ``cnf.jkt`` binds it to; ``None`` for a Bearer token."""
    cnf = claims.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, Mapping) else None
    return jkt if isinstance(jkt, str) else None


@lru_cache(maxsize=_URI_CACHE_SIZE)
def normalized_uri(uri: str) -> str:
    """``uri`` without query and fragment, normalized as RFC 9449 §4.3 asks before comparing.

    RFC 3986 §6.2.2 and §6.2.3: scheme and host lower-cased, the scheme's
    default port dropped, an empty path as ``/``. The path is decoded and
    encoded again the one way: unreserved characters plain, the rest
    upper-case percent-encodings. That decodes ``%2F`` too, which RFC 3986
    keeps apart from ``/``; Django decodes the path before routing, so both
    reach the same view, and ``request.path`` has no other form to compare.
    """
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=-._~") or "/"
    return urlunsplit((scheme, netloc, path, "", ""))


def target_uri(request: HttpRequest) -> str:
    """The URI a proof sent with ``request`` must name (``htu``): scheme, host and path.

    Django's ``build_absolute_uri`` (``SECURE_PROXY_SSL_HEADER`` and
    ``USE_X_FORWARDED_HOST`` decide the scheme and host behind a proxy).
    """
    return request.build_absolute_uri(request.path)


def proof_header(request: HttpRequest) -> str | None:
    """The request's one ``DPoP`` header, or ``None`` when it has none.

    Several ``DPoP`` headers reach Django joined with commas, which no compact
    JWS contains (RFC 9449 §4.3: exactly one): :class:`InvalidDPoPProof`.
    """
    value = request.META.get("HTTP_DPOP")
    if value is None:
        return None
    value = str(value).strip()
    if not value or "," in value:
        raise InvalidDPoPProof(_("Send exactly one DPoP proof."))
    return value


def verify_proof(
    proof: str,
    *,
    method: str,
    uri: str,
    access_token: str | None = None,
    nonce: bool = False,
) -> Proof:
    """Check a proof as RFC 9449 §4.3 lists; return it verified, its ``jti`` now spent.

    ``method`` and ``uri`` are the request's (``htm``, ``htu``: compared after
    :func:`normalized_uri`); ``access_token`` the token sent with it at a
    resource server (the proof's ``ath`` must be its hash); ``nonce``: the
    proof must carry a nonce this server handed out and that is still
    current. Raises :class:`InvalidDPoPProof` (with what was wrong),
    :class:`UseDPoPNonce`, or :class:`ServiceUnavailable` when the replay
    cache cannot be reached (fail closed: a proof whose use cannot be
    recorded could be replayed).
    """
    accepted = algorithms()
    if len(proof) > MAX_PROOF_LENGTH:
        raise InvalidDPoPProof(_("The DPoP proof is too large."))
    try:
        key, algorithm, jkt = _checked_header(proof.partition(".")[0], accepted)
        claims = jwt.decode(proof, key, algorithms=[algorithm], options=_DECODE_OPTIONS)
    except InvalidDPoPProof:
        raise
    except DECODE_ERRORS as exc:
        raise InvalidDPoPProof(_("The DPoP proof is not a valid signed JWT.")) from exc
    _check_claims(claims, method=method, uri=uri, access_token=access_token)
    if nonce and not _nonce_current(claims.get("nonce")):
        raise UseDPoPNonce
    verified = Proof(jkt=jkt, claims=claims)
    _spend(verified)
    return verified


@lru_cache(maxsize=_HEADER_CACHE_SIZE)
def _checked_header(segment: str, accepted: tuple[str, ...]) -> tuple[Any, str, str]:
    """Parse and check a proof's JOSE header; return its key, algorithm and thumbprint.

    Every proof a client signs with one key has the same header, so the result
    is remembered by the segment's exact text (and the algorithms accepted); a
    header that fails raises and is never remembered.
    """
    header = jwt.get_unverified_header(f"{segment}..")
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower().removeprefix("application/") != PROOF_TYPE:
        raise InvalidDPoPProof(_('The DPoP proof\'s typ is not "dpop+jwt".'))
    algorithm = header.get("alg")
    if algorithm not in accepted:
        raise InvalidDPoPProof(_("The DPoP proof's algorithm is not accepted."))
    if _FORBIDDEN_HEADERS.intersection(header):
        raise InvalidDPoPProof(_("The DPoP proof's header has a parameter that is not accepted."))
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or _PRIVATE_MEMBERS.intersection(jwk):
        raise InvalidDPoPProof(_("The DPoP proof's jwk must be a public key."))
    key_type, curves = KEY_TYPES[algorithm]
    if jwk.get("kty") != key_type or (curves is not None and jwk.get("crv") not in curves):
        raise InvalidDPoPProof(_("The DPoP proof's key does not fit its algorithm."))
    key = jwt.PyJWK(jwk, algorithm=algorithm).key
    if key_type == "RSA" and key.key_size < _MIN_RSA_BITS:
        raise InvalidDPoPProof(_("The DPoP proof's RSA key is shorter than 2048 bits."))
    return key, algorithm, thumbprint(jwk)


def _check_claims(
    claims: Mapping[str, Any], *, method: str, uri: str, access_token: str | None
) -> None:
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > _MAX_JTI_LENGTH:
        raise InvalidDPoPProof(_("The DPoP proof's jti is missing or malformed."))
    if claims.get("htm") != method:
        raise InvalidDPoPProof(_("The DPoP proof is for another HTTP method."))
    htu = claims.get("htu")
    if not isinstance(htu, str) or _safe_normalized(htu) != normalized_uri(uri):
        raise InvalidDPoPProof(_("The DPoP proof is for another URI."))
    issued_at = claims.get("iat")
    if (
        isinstance(issued_at, bool)
        or not isinstance(issued_at, int | float)
        or not math.isfinite(issued_at)  # Python's json reads NaN and Infinity
    ):
        raise InvalidDPoPProof(_("The DPoP proof's iat is malformed."))
    if abs(time.time() - issued_at) > _window_seconds():
        raise InvalidDPoPProof(_("The DPoP proof is too old or dated in the future."))
    if access_token is not None:
        ath = claims.get("ath")
        if not isinstance(ath, str) or not hmac.compare_digest(
            ath.encode("ascii", "replace"), access_token_hash(access_token).encode("ascii")
        ):
            raise InvalidDPoPProof(_("The DPoP proof's ath is not the access token's hash."))


def _safe_normalized(uri: str) -> str | None:
    try:
        return normalized_uri(uri)
    except ValueError:
        return None


def _window_seconds() -> float:
    """How far ``iat`` may be from now, either way: the proof lifetime plus ``LEEWAY``."""
    window: timedelta = bearer_settings.DPOP_PROOF_LIFETIME + bearer_settings.LEEWAY
    return window.total_seconds()


def _spend(proof: Proof) -> None:
    """Record the proof's ``jti`` for its key; a second use within the window is refused.

    ``cache.add`` is atomic on every Django cache backend: of two requests
    with one proof, exactly one records it. The entry outlives every ``iat``
    the window accepts.
    """
    digest = hashlib.sha256(f"{proof.jkt}:{proof.claims['jti']}".encode()).hexdigest()
    try:
        cache = caches[bearer_settings.DPOP_REPLAY_CACHE]
        first_use = cache.add(f"bearer_auth:dpop:{digest}", 1, timeout=2 * _window_seconds() + 1)
    except InvalidCacheBackendError:
        raise
    except Exception as exc:  # any backend's connection error (Redis, memcached, database)
        raise ServiceUnavailable from exc
    if not first_use:
        raise InvalidDPoPProof(_("The DPoP proof was already used."))


def new_nonce() -> str:
    """A server nonce (RFC 9449 §8): when it was made, and an HMAC of that (``SECRET_KEY``)."""
    issued = str(int(time.time()))
    return f"{issued}.{_nonce_mac(issued)}"


def _nonce_mac(issued: str) -> str:
    return _b64(salted_hmac(_NONCE_SALT, issued, algorithm="sha256").digest()[:18])


def _nonce_current(value: object) -> bool:
    """Whether ``value`` is a nonce this server made within ``DPOP_NONCE_LIFETIME``."""
    if not isinstance(value, str) or len(value) > 64:
        return False
    issued, _dot, mac = value.partition(".")
    if not issued.isdigit() or not hmac.compare_digest(
        mac.encode("ascii", "replace"), _nonce_mac(issued).encode("ascii")
    ):
        return False
    age = time.time() - int(issued)
    lifetime: timedelta = bearer_settings.DPOP_NONCE_LIFETIME
    leeway: timedelta = bearer_settings.LEEWAY
    return -leeway.total_seconds() <= age <= lifetime.total_seconds()


# The token endpoints: the proof of the running token request.

_running_proof: ContextVar[Proof | None] = ContextVar("bearer_auth_dpop_proof", default=None)


def token_request_proof(request: HttpRequest) -> Proof | None:
    """Verify the DPoP proof of a token request to this endpoint; ``None`` without one.

    ``htm`` must be ``POST`` and ``htu`` this endpoint's URI. While DPoP is
    off the header is ignored (RFC 9449 §5: the server then issues Bearer
    tokens). Raises :class:`InvalidDPoPProof` or :class:`UseDPoPNonce`.
    """
    if not enabled():
        return None
    proof = proof_header(request)
    if proof is None:
        return None
    return verify_proof(
        proof, method="POST", uri=target_uri(request), nonce=nonce_required("token")
    )


@contextmanager
def token_request_bound_to(proof: Proof | None) -> Iterator[None]:
    """Tell what mints and stores the running token request's tokens which key to bind them to.

    The token endpoints wrap the request in it; oauthlib's token type, the
    access-token generator and the validator read :func:`running_proof`.
    """
    marker = _running_proof.set(proof)
    try:
        yield
    finally:
        _running_proof.reset(marker)


def add_token_endpoint_nonce(response: HttpResponseBase) -> None:
    """Give a token endpoint's answer a fresh ``DPoP-Nonce`` where nonces are required there.

    Every answer, success or error: the client signs its next proof with it
    (RFC 9449 §8.2), and a ``use_dpop_nonce`` refusal carries the one to use.
    """
    if enabled() and nonce_required("token"):
        response[NONCE_HEADER] = new_nonce()


def running_proof() -> Proof | None:
    """The verified proof of the running token request, if it had one."""
    return _running_proof.get()


def running_jkt() -> str:
    """The key the running token request's tokens are bound to; ``""`` for Bearer tokens.

    What a session records (``TokenSession.dpop_jkt``).
    """
    proof = _running_proof.get()
    return proof.jkt if proof is not None else ""


def client_refusal(client: Any, proof: Proof | None) -> str | None:
    """Why ``client`` may not get tokens without a proof; ``None`` when it may.

    Its policy's ``dpop_bound_access_tokens`` (RFC 9449 §5.2's client
    metadata of that name) requires a proof in every token request.
    """
    if proof is not None or not policy.requires_dpop(client):
        return None
    return str(_("This client must send a DPoP proof with every token request."))


def binding_refusal(bound_jkt: str | None, proof: Proof | None) -> str | None:
    """Why a grant bound to ``bound_jkt`` may not be used with ``proof``; ``None`` when it may.

    A code bound with ``dpop_jkt``, or a public client's refresh token bound
    at sign-in, needs a proof from that very key.
    """
    if not bound_jkt:
        return None
    if proof is None:
        return str(_("This grant is bound to a DPoP key: send a proof from that key."))
    if not hmac.compare_digest(proof.jkt, bound_jkt):
        return str(_("The DPoP proof's key is not the key this grant is bound to."))
    return None


def oauth_refusal(description: str, request: Any) -> CustomOAuth2Error:
    """oauthlib's answer ``invalid_dpop_proof`` (400, RFC 9449 §5) with ``description``.

    For the refusals decided inside oauthlib's grants (a client that must use
    DPoP, a bound code or refresh token).
    """
    return CustomOAuth2Error(
        error="invalid_dpop_proof", description=description, request=request, status_code=400
    )


# The resource server.


def verify_resource_proof(request: HttpRequest, *, access_token: str, bound_jkt: str) -> Proof:
    """Check the proof of a request that sent ``access_token``, bound to ``bound_jkt``, as DPoP.

    The proof of ``request``'s method and URI, with the token's ``ath`` and
    from the bound key. Raises :class:`DPoPProofRefused` or
    :class:`DPoPNonceRequired` (401 with a ``DPoP`` challenge). Where nonces
    are required at the resource, ``request.META`` gets a fresh one for
    ``DPoP-Nonce`` (:data:`NONCE_META_KEY`), on success and failure alike.
    """
    required = nonce_required("resource")
    if required:
        request.META[NONCE_META_KEY] = new_nonce()
    try:
        header = proof_header(request)
        if header is None:
            raise InvalidDPoPProof(_("A DPoP-bound access token needs a DPoP proof."))
        proof = verify_proof(
            header,
            method=request.method or "GET",
            uri=target_uri(request),
            access_token=access_token,
            nonce=required,
        )
    except UseDPoPNonce as exc:
        raise DPoPNonceRequired(exc.description) from exc
    except InvalidDPoPProof as exc:
        raise DPoPProofRefused(exc.description) from exc
    if not hmac.compare_digest(proof.jkt, bound_jkt):
        raise DPoPProofRefused(_("The DPoP proof's key is not the key the token is bound to."))
    return proof


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
