"""DPoP (RFC 9449): a DPoP-bound access token with a fresh proof per request, beside Bearer.

A DPoP request sends its access token as ``Authorization: DPoP <token>`` and
a *proof* in the ``DPoP`` header: a JWT the client signs with its own key for
that one request (``htm``, ``htu``, the token's hash ``ath``, a unique
``jti``). The server checks one more signature and writes the ``jti`` to
Django's cache (``DPOP_REPLAY_CACHE``) so that the proof is used once. The
cases, in one phase so that every pair runs in the same repeats:

- ``dpop/view-dpop``: ``GET /api/bearer/`` (``BearerTokenAuthentication``,
  strict mode, ``IsAuthenticated``) through Django's test client, with a
  DPoP-bound access token and a new proof each call;
- ``dpop/view-bearer``: the same view and client with a Bearer token;
- ``dpop/authenticate-dpop`` and ``dpop/authenticate-bearer``: strict
  ``authenticate()`` alone of the same two requests, each call a DRF
  ``Request`` built before the batch;
- ``dpop/verify-proof``: :func:`bearer_auth.dpop.verify_proof` of a new proof
  (the resource's checks: method, URI, ``ath``; the ``jti`` spent);
- ``dpop/pyjwt-ES256``: PyJWT's ``jwt.decode`` of a new proof of the same key,
  with the key object loaded once and no claim checked: the signature floor;
- ``dpop/jti-cache-add``: one ``cache.add`` of a new key to the replay cache,
  what spending a ``jti`` writes.

Both access tokens come from a first-party sign-in at ``/auth/token/``, one
with a proof (``token_type: DPoP``, ``cnf.jkt``), one without, so they are
RS256 JWTs with the same claims but ``cnf``. The proofs are ES256, signed by
joserfc (the client's side, a library nobody here wrote) with one P-256 key,
before each batch, outside the timed calls (:class:`ProofPool`): each batch
signs its own, so every ``iat`` is milliseconds old and
``DPOP_PROOF_LIFETIME`` keeps its default. The cache is the benchmark's
(``bench/settings.py``: local memory, Django's default size).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from typing import Any, Final

import jwt
from django.core.cache import caches
from django.test import Client, RequestFactory
from joserfc import jwk as joserfc_jwk
from joserfc import jwt as joserfc_jwt
from rest_framework.request import Request

from bearer_auth import dpop
from bearer_auth.authentication import BearerTokenAuthentication
from bearer_auth.settings import bearer_settings
from bench.fixtures import PASSWORD, Fixtures
from bench.timing import Case, CaseFailed

#: The view of both request cases: strict ``BearerTokenAuthentication``.
RESOURCE_PATH: Final = "/api/bearer/"
SIGN_IN_PATH: Final = "/auth/token/"
#: Where Django's test client sends requests: the proofs' ``htu``.
ORIGIN: Final = "http://testserver"
RESOURCE_URI: Final = ORIGIN + RESOURCE_PATH
PROOF_ALGORITHM: Final = "ES256"
#: The most calls of one batch: each time a case's context is entered, it
#: signs this many proofs and one more (a batch and its warm-up call, or the
#: calibration's five calls, ``bench.timing.run_interleaved``).
PROOF_BATCH: Final = 200
_PER_ENTRY: Final = PROOF_BATCH + 1
#: PyJWT's decode of the floor: the signature, no claim.
_NO_CLAIM_CHECKS: Final[jwt.types.Options] = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
}


class ProofSigner:
    """The client's side: a P-256 key pair that signs DPoP proofs (joserfc)."""

    def __init__(self) -> None:
        self.key = joserfc_jwk.ECKey.generate_key("P-256")
        self.header: dict[str, Any] = {
            "typ": "dpop+jwt",
            "alg": PROOF_ALGORITHM,
            "jwk": dict(self.key.as_dict(private=False)),
        }

    @property
    def jkt(self) -> str:
        """The key's RFC 7638 thumbprint, as joserfc computes it."""
        return str(self.key.thumbprint())

    def public_key(self) -> Any:
        """The public key as PyJWT loads it (what the floor verifies with)."""
        return jwt.PyJWK(self.header["jwk"], algorithm=PROOF_ALGORITHM).key

    def proof(self, method: str, uri: str, *, access_token: str | None = None) -> str:
        """A new proof for ``method`` and ``uri``: a new ``jti``, ``iat`` now."""
        claims: dict[str, Any] = {
            "jti": str(uuid.uuid4()),
            "htm": method,
            "htu": uri,
            "iat": int(time.time()),
        }
        if access_token is not None:
            # RFC 9449 §4.2, computed here as a client does, not by the server's code.
            digest = hashlib.sha256(access_token.encode("ascii")).digest()
            claims["ath"] = base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
        return str(joserfc_jwt.encode(self.header, claims, self.key))


class ProofPool:
    """What a case spends, one item a call, made before each batch (its context)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make
        self.items: list[Any] = []

    def context(self) -> AbstractContextManager[None]:
        @contextmanager
        def filled() -> Iterator[None]:
            self.items[:] = [self.make() for _ in range(_PER_ENTRY)]
            try:
                yield
            finally:
                self.items.clear()  # unspent proofs are never sent

        return filled()

    def take(self) -> Any:
        if not self.items:
            raise CaseFailed("a DPoP case ran out of proofs: more calls than PROOF_BATCH + 1")
        return self.items.pop()


def dpop_cases(fixtures: Fixtures) -> list[Case]:
    """The DPoP request and its Bearer twin, twice; ``verify_proof`` and its floors."""
    signer = ProofSigner()
    bound = sign_in(fixtures, signer)
    plain = sign_in(fixtures, None)
    public_key = signer.public_key()
    authenticator = BearerTokenAuthentication()
    factory = RequestFactory()

    def resource_proof() -> str:
        return signer.proof("GET", RESOURCE_URI, access_token=bound)

    def dpop_request() -> Request:
        return Request(factory.get(RESOURCE_PATH, **dpop_headers(bound, resource_proof())))

    def bearer_request() -> Request:
        return Request(factory.get(RESOURCE_PATH, HTTP_AUTHORIZATION=f"Bearer {plain}"))

    def verify(proof: str) -> dpop.Proof:
        return dpop.verify_proof(proof, method="GET", uri=RESOURCE_URI, access_token=bound)

    def decode(proof: str) -> Any:
        return jwt.decode(proof, public_key, algorithms=[PROOF_ALGORITHM], options=_NO_CLAIM_CHECKS)

    cache = caches[bearer_settings.DPOP_REPLAY_CACHE]
    window: timedelta = bearer_settings.DPOP_PROOF_LIFETIME + bearer_settings.LEEWAY
    timeout = 2 * window.total_seconds() + 1

    def cache_key() -> str:
        return f"bench:dpop:{secrets.token_hex(32)}"  # the length of the jti's key

    client = Client()
    return [
        pooled_case(
            "dpop/view-dpop",
            resource_proof,
            lambda proof: client.get(RESOURCE_PATH, **dpop_headers(bound, proof)),
            _answered_200,
        ),
        Case(
            "dpop/view-bearer",
            lambda: client.get(RESOURCE_PATH, HTTP_AUTHORIZATION=f"Bearer {plain}"),
            _answered_200,
        ),
        pooled_case("dpop/authenticate-dpop", dpop_request, authenticator.authenticate, _signed_in),
        pooled_case(
            "dpop/authenticate-bearer", bearer_request, authenticator.authenticate, _signed_in
        ),
        pooled_case(
            "dpop/verify-proof",
            resource_proof,
            verify,
            lambda proof: isinstance(proof, dpop.Proof) and proof.jkt == signer.jkt,
        ),
        pooled_case(
            f"dpop/pyjwt-{PROOF_ALGORITHM}",
            resource_proof,
            decode,
            lambda claims: claims.get("htu") == RESOURCE_URI,
        ),
        pooled_case(
            "dpop/jti-cache-add",
            cache_key,
            lambda key: cache.add(key, 1, timeout=timeout),
            lambda added: added is True,
        ),
    ]


def dpop_headers(access_token: str, proof: str) -> dict[str, Any]:
    """A DPoP request's headers, as ``request.META`` keys."""
    return {"HTTP_AUTHORIZATION": f"{dpop.SCHEME} {access_token}", "HTTP_DPOP": proof}


def sign_in(fixtures: Fixtures, signer: ProofSigner | None) -> str:
    """A first-party sign-in's access token; bound to ``signer``'s key when there is one."""
    headers = {} if signer is None else {"HTTP_DPOP": signer.proof("POST", ORIGIN + SIGN_IN_PATH)}
    response = Client().post(
        SIGN_IN_PATH,
        {"email": fixtures.user.email, "password": PASSWORD},
        content_type="application/json",
        **headers,  # type: ignore[arg-type]
    )
    if response.status_code != 200:
        raise CaseFailed(f"sign-in failed: {response.status_code} {response.content[:300]!r}")
    body = json.loads(response.content)
    expected = "Bearer" if signer is None else "DPoP"
    if body.get("token_type") != expected:
        raise CaseFailed(f"sign-in answered token_type {body.get('token_type')!r}, not {expected}")
    return str(body["access_token"])


def pooled_case(
    name: str, make: Callable[[], Any], spend: Callable[[Any], Any], check: Callable[[Any], bool]
) -> Case:
    """A case whose every call spends one item ``make`` made before the batch."""
    pool = ProofPool(make)
    return Case(
        name, lambda: spend(pool.take()), check, context=pool.context, max_batch=PROOF_BATCH
    )


def _answered_200(response: Any) -> bool:
    return response.status_code == 200  # type: ignore[no-any-return]


def _signed_in(result: Any) -> bool:
    return result is not None and result[0] is not None and result[0].is_authenticated
