"""DPoP proofs for the tests, signed by libraries nobody here wrote (joserfc, jwcrypto).

:class:`ProofKey` holds a client's key pair (joserfc) and signs proofs with
any claim or header changed, left out or added, so each forged proof differs
from a good one in exactly one way. :func:`jwcrypto_proof` signs a proof with
jwcrypto, an independent second implementation.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any, Final

from joserfc import jwk as joserfc_jwk
from joserfc import jwt as joserfc_jwt
from joserfc.jws import JWSRegistry
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jwt as jwcrypto_jwt

#: Leave a claim or header parameter out of a proof.
OMIT: Final = object()
TESTSERVER: Final = "http://testserver"

_GENERATORS: Final = {
    "ES256": lambda: joserfc_jwk.ECKey.generate_key("P-256"),
    "ES384": lambda: joserfc_jwk.ECKey.generate_key("P-384"),
    "ES512": lambda: joserfc_jwk.ECKey.generate_key("P-521"),
    "EdDSA": lambda: joserfc_jwk.OKPKey.generate_key("Ed25519"),
    "RS256": lambda: joserfc_jwk.RSAKey.generate_key(2048),
    "PS256": lambda: joserfc_jwk.RSAKey.generate_key(2048),
}
# joserfc refuses algorithms it deems unrecommended unless named.
_REGISTRY: Final = JWSRegistry(algorithms=[*_GENERATORS, "RS384", "PS384", "ES256K"])


def ath(access_token: str) -> str:
    """The ``ath`` of ``access_token``: base64url SHA-256, computed here independently."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


class ProofKey:
    """A DPoP key pair (joserfc) that signs proofs."""

    def __init__(self, alg: str = "ES256", *, key: Any = None) -> None:
        self.alg = alg
        self.key = key if key is not None else _GENERATORS[alg]()

    @property
    def jkt(self) -> str:
        """The RFC 7638 thumbprint, as joserfc computes it."""
        return str(self.key.thumbprint())

    @property
    def public_jwk(self) -> dict[str, Any]:
        return dict(self.key.as_dict(private=False))

    def proof(
        self,
        method: str,
        uri: str,
        *,
        access_token: str | None = None,
        nonce: str | None = None,
        claims: dict[str, Any] | None = None,
        header: dict[str, Any] | None = None,
    ) -> str:
        """Sign a proof for ``method`` and ``uri`` (``http://testserver/...`` for a path).

        ``access_token`` adds its ``ath``; ``claims`` and ``header`` replace or
        add members (:data:`OMIT` leaves one out).
        """
        if uri.startswith("/"):
            uri = TESTSERVER + uri
        payload: dict[str, Any] = {
            "jti": str(uuid.uuid4()),
            "htm": method,
            "htu": uri,
            "iat": int(time.time()),
        }
        if access_token is not None:
            payload["ath"] = ath(access_token)
        if nonce is not None:
            payload["nonce"] = nonce
        protected: dict[str, Any] = {"typ": "dpop+jwt", "alg": self.alg, "jwk": self.public_jwk}
        for target, changes in ((payload, claims), (protected, header)):
            for name, value in (changes or {}).items():
                if value is OMIT:
                    target.pop(name, None)
                else:
                    target[name] = value
        if protected.get("alg") != self.alg:
            # A header naming another algorithm than the key's: sign with the
            # key's own and keep the forged header text.
            return _resigned_header(payload, protected, self)
        return str(joserfc_jwt.encode(protected, payload, self.key, registry=_REGISTRY))

    def headers(self, method: str, uri: str, **kwargs: Any) -> dict[str, str]:
        """The Django test client's ``HTTP_DPOP`` entry for a proof."""
        return {"HTTP_DPOP": self.proof(method, uri, **kwargs)}


def _resigned_header(payload: dict[str, Any], protected: dict[str, Any], key: ProofKey) -> str:
    """A proof whose header names ``protected['alg']`` but whose signature is the key's own."""
    good = joserfc_jwt.encode(
        {**protected, "alg": key.alg}, payload, key.key, registry=_REGISTRY
    ).split(".")
    forged_header = _b64json(protected)
    return ".".join([forged_header, good[1], good[2]])


def _b64json(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def unsigned_proof(payload: dict[str, Any], header: dict[str, Any]) -> str:
    """A compact JWS with ``alg: none`` or any header, and an empty signature."""
    return f"{_b64json(header)}.{_b64json(payload)}."


def jwcrypto_proof(
    method: str,
    uri: str,
    *,
    key: jwcrypto_jwk.JWK | None = None,
    alg: str = "ES256",
    access_token: str | None = None,
    claims: dict[str, Any] | None = None,
    header: dict[str, Any] | None = None,
) -> tuple[str, jwcrypto_jwk.JWK]:
    """Sign a proof with jwcrypto; return it and the key (a new P-256 key by default)."""
    if uri.startswith("/"):
        uri = TESTSERVER + uri
    key = key or jwcrypto_jwk.JWK.generate(kty="EC", crv="P-256")
    payload: dict[str, Any] = {
        "jti": uuid.uuid4().hex,
        "htm": method,
        "htu": uri,
        "iat": int(time.time()),
    }
    if access_token is not None:
        payload["ath"] = ath(access_token)
    payload.update(claims or {})
    protected = {"typ": "dpop+jwt", "alg": alg, "jwk": key.export_public(as_dict=True)}
    protected.update(header or {})
    token = jwcrypto_jwt.JWT(header=protected, claims=payload)
    token.make_signed_token(key)
    return str(token.serialize()), key
