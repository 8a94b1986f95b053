"""The demo client's OpenID Connect side: discovery, the ID token's checks, UserInfo, logout.

``/client/oidc/`` runs the authorization code flow of :mod:`demo_project.client.flow`
with ``openid email profile`` and a ``nonce``, then validates the ID token as
a relying party does, from what the server publishes and nothing else:

1. the discovery document at ``<issuer>/.well-known/openid-configuration``
   (OpenID Connect Discovery 1.0 §4), whose ``issuer`` must be that issuer (§4.3);
2. the key named by the token's ``kid``, from the document's ``jwks_uri``;
3. the ID token checks of OpenID Connect Core §3.1.3.7, each done and shown
   on its own: the algorithm, the signature, ``iss``, ``aud``, ``exp``, the
   ``nonce`` sent at step 3, and ``at_hash`` (§3.1.3.8) against the access token.

PyJWT verifies (``PyJWKClient``, ``jwt.decode``); ``at_hash`` is computed by
:func:`bearer_auth.jwt.token_hash` (the left half of SHA-256 for RS256 and
ES256, of SHA-512 for EdDSA, which PyJWT has no function for). UserInfo and
RP-initiated logout use the endpoints the discovery document names.
"""

from __future__ import annotations

import base64
import hmac
import json
from dataclasses import asdict, dataclass
from typing import Any, Final
from urllib.parse import urlencode

import jwt
import requests
from jwt.types import Options
from requests_oauthlib import OAuth2Session

from bearer_auth.jwt import token_hash
from demo_project.client.exchanges import HttpExchange
from demo_project.client.flow import TIMEOUT_SECONDS, allow_http_on_loopback

#: Where a provider publishes its configuration, below its issuer URL (Discovery §4).
DISCOVERY_PATH: Final = "/.well-known/openid-configuration"
#: What the client needs from the discovery document to validate an ID token.
REQUIRED_METADATA: Final = ("issuer", "jwks_uri", "id_token_signing_alg_values_supported")
#: The claims every ID token has (OpenID Connect Core §2).
REQUIRED_CLAIMS: Final = ("iss", "sub", "aud", "exp", "iat")
#: What the tampered copy claims to be: another person.
TAMPERED_SUB: Final = "mallory"
TAMPERED_EMAIL: Final = "mallory@example.com"
#: Every claim check off: ``jwt.decode`` then checks the signature only.
_SIGNATURE_ONLY: Final[Options] = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
}


@dataclass(frozen=True)
class Discovery:
    """The discovery request as sent and answered, and the document when it is usable."""

    url: str
    exchange: HttpExchange | None
    document: dict[str, Any] | None
    error: str | None

    def as_record(self) -> dict[str, Any]:
        """Return a JSON-serialisable copy, for the session."""
        return {
            "url": self.url,
            "exchange": self.exchange.as_record() if self.exchange else None,
            "document": self.document,
            "error": self.error,
        }


@dataclass(frozen=True)
class Check:
    """One check of the ID token: what was checked, whether it passed, and why."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class IdTokenValidation:
    """The ID token's header and claims as received, and every check's outcome."""

    header: dict[str, Any]
    claims: dict[str, Any]
    checks: tuple[Check, ...]

    @property
    def accepted(self) -> bool:
        """Whether the client may trust the token: every check passed."""
        return bool(self.checks) and all(check.passed for check in self.checks)

    def as_record(self) -> dict[str, Any]:
        """Return a JSON-serialisable copy, for the session."""
        return {
            "header": self.header,
            "claims": self.claims,
            "checks": [asdict(check) for check in self.checks],
            "accepted": self.accepted,
        }


def discovery_url(issuer: str) -> str:
    """Return where ``issuer`` publishes its OpenID Connect configuration."""
    return issuer.rstrip("/") + DISCOVERY_PATH


def fetch_discovery(issuer: str) -> Discovery:
    """GET the discovery document of ``issuer`` and check it names that issuer (Discovery §4.3).

    A document that cannot be fetched, is not JSON, lacks what ID-token
    validation needs, or names another issuer is reported, not used.
    """
    url = discovery_url(issuer)
    allow_http_on_loopback(url)
    try:
        response = requests.get(url, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as error:
        return Discovery(url, None, None, f"The discovery request failed: {error}")
    exchange = HttpExchange.from_response(response)
    if response.status_code != 200:
        return Discovery(url, exchange, None, f"The server answered {response.status_code}.")
    try:
        document = response.json()
    except ValueError:
        return Discovery(url, exchange, None, "The discovery document is not JSON.")
    if not isinstance(document, dict):
        return Discovery(url, exchange, None, "The discovery document is not a JSON object.")
    missing = [name for name in REQUIRED_METADATA if name not in document]
    if missing:
        return Discovery(url, exchange, None, f"The discovery document lacks {', '.join(missing)}.")
    if document["issuer"] != issuer:
        return Discovery(
            url,
            exchange,
            None,
            f"The discovery document names the issuer {document['issuer']!r}, not {issuer!r}, "
            "the URL it was fetched from (Discovery §4.3).",
        )
    return Discovery(url, exchange, document, None)


def validate_id_token(
    id_token: str,
    *,
    discovery: dict[str, Any],
    client_id: str,
    nonce: str,
    access_token: str,
) -> IdTokenValidation:
    """Run every check of OpenID Connect Core §3.1.3.7 on ``id_token``, each on its own.

    ``discovery`` is the provider's configuration (:func:`fetch_discovery`);
    ``nonce`` is the one the client sent at step 3; ``access_token`` came with
    the ID token, which must carry its ``at_hash``.
    """
    try:
        header: dict[str, Any] = jwt.get_unverified_header(id_token)
        claims: dict[str, Any] = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        return IdTokenValidation({}, {}, (Check("format", False, f"Not a JWT: {error}"),))
    issuer = str(discovery["issuer"])
    return IdTokenValidation(
        header,
        claims,
        (
            _algorithm_check(header, discovery),
            _signature_check(id_token, header, jwks_uri=str(discovery["jwks_uri"])),
            _claim_check(
                "iss",
                id_token,
                {"verify_iss": True},
                f"iss is the discovery document's issuer, {issuer}",
                issuer=issuer,
            ),
            _audience_check(id_token, claims, client_id=client_id),
            _claim_check(
                "exp",
                id_token,
                {"verify_exp": True, "verify_iat": True, "require": list(REQUIRED_CLAIMS)},
                "exp is in the future; iss, sub, aud, exp and iat are all present",
            ),
            _nonce_check(claims, nonce),
            _at_hash_check(claims, header, access_token),
        ),
    )


def _algorithm_check(header: dict[str, Any], discovery: dict[str, Any]) -> Check:
    algorithm = header.get("alg")
    supported = list(discovery["id_token_signing_alg_values_supported"])
    if algorithm == "none" or algorithm not in supported:
        return Check("alg", False, f"alg {algorithm!r} is not among {supported}")
    return Check("alg", True, f"alg {algorithm} is in id_token_signing_alg_values_supported")


def _signature_check(id_token: str, header: dict[str, Any], *, jwks_uri: str) -> Check:
    """Verify the signature with the JWKS key the header's ``kid`` names, and nothing else."""
    allow_http_on_loopback(jwks_uri)
    try:
        signing_key = jwt.PyJWKClient(
            jwks_uri, cache_keys=False, timeout=TIMEOUT_SECONDS
        ).get_signing_key_from_jwt(id_token)
        jwt.decode(
            id_token,
            signing_key,
            algorithms=[signing_key.algorithm_name],
            options=_SIGNATURE_ONLY,
        )
    except jwt.PyJWTError as error:
        return Check("signature", False, f"Not verified: {error}")
    return Check("signature", True, f"verified with key {header.get('kid')} from {jwks_uri}")


def _claim_check(name: str, id_token: str, options: Options, passed: str, **expected: Any) -> Check:
    """Let PyJWT check one claim, the signature aside (:func:`_signature_check` does it).

    ``options`` turns that claim's check on; with ``verify_signature`` off,
    PyJWT checks no other claim.
    """
    try:
        jwt.decode(id_token, options={**options, "verify_signature": False}, **expected)
    except jwt.PyJWTError as error:
        return Check(name, False, str(error))
    return Check(name, True, passed)


def _audience_check(id_token: str, claims: dict[str, Any], *, client_id: str) -> Check:
    """``aud`` names this client; with other audiences too, ``azp`` must name it (§3.1.3.7)."""
    check = _claim_check(
        "aud",
        id_token,
        {"verify_aud": True, "require": ["aud"]},
        f"aud is this client's client_id, {client_id}",
        audience=client_id,
    )
    audience = claims.get("aud")
    several = isinstance(audience, list) and len(audience) > 1
    if check.passed and several and claims.get("azp") != client_id:
        return Check("aud", False, f"aud names {audience} but azp is not {client_id}")
    return check


def _nonce_check(claims: dict[str, Any], nonce: str) -> Check:
    received = claims.get("nonce")
    if not isinstance(received, str):
        return Check("nonce", False, "the ID token carries no nonce")
    if not hmac.compare_digest(received.encode(), nonce.encode()):
        return Check("nonce", False, "nonce is not the one sent at step 3 (a replayed token?)")
    return Check("nonce", True, "nonce is the one sent at step 3")


def _at_hash_check(claims: dict[str, Any], header: dict[str, Any], access_token: str) -> Check:
    received = claims.get("at_hash")
    algorithm = str(header.get("alg"))
    if not isinstance(received, str):
        return Check("at_hash", False, "the ID token carries no at_hash")
    expected = token_hash(access_token, algorithm)
    digest = "SHA-512" if algorithm == "EdDSA" else "SHA-256"
    if not hmac.compare_digest(received.encode(), expected.encode()):
        return Check("at_hash", False, f"at_hash is not the left half of {digest}(access token)")
    return Check(
        "at_hash", True, f"at_hash = left half of {digest}(access token), base64url: {expected}"
    )


def tampered_copy(id_token: str) -> str:
    """Return ``id_token`` with its payload rewritten to name another person, signature kept.

    What an attacker who cannot sign would send: ``sub`` (and ``email``,
    when present) changed, header and signature untouched.
    """
    header, _, rest = id_token.partition(".")
    _, _, signature = rest.partition(".")
    claims: dict[str, Any] = jwt.decode(id_token, options={"verify_signature": False})
    claims["sub"] = TAMPERED_SUB
    if "email" in claims:
        claims["email"] = TAMPERED_EMAIL
    payload = json.dumps(claims, separators=(",", ":")).encode()
    encoded = base64.urlsafe_b64encode(payload).rstrip(b"=").decode("ascii")
    return f"{header}.{encoded}.{signature}"


def call_userinfo(access_token: str, *, userinfo_endpoint: str) -> HttpExchange:
    """GET the UserInfo endpoint with ``Authorization: Bearer …`` (OpenID Connect Core §5.3.1)."""
    allow_http_on_loopback(userinfo_endpoint)
    oauth = OAuth2Session(token={"access_token": access_token, "token_type": "Bearer"})
    return HttpExchange.from_response(oauth.get(userinfo_endpoint, timeout=TIMEOUT_SECONDS))


def logout_url(
    end_session_endpoint: str,
    *,
    id_token: str,
    client_id: str,
    post_logout_redirect_uri: str,
    state: str,
) -> str:
    """Return the RP-initiated logout request (OpenID Connect RP-Initiated Logout 1.0 §2)."""
    query = urlencode(
        {
            "id_token_hint": id_token,
            "client_id": client_id,
            "post_logout_redirect_uri": post_logout_redirect_uri,
            "state": state,
        }
    )
    separator = "&" if "?" in end_session_endpoint else "?"
    return f"{end_session_endpoint}{separator}{query}"
