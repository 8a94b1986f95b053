"""DPoP at the resource server (RFC 9449 §7): ``Authorization: DPoP`` with a proof, over HTTP.

Tokens are bound through the real token endpoint (a proof at ``/auth/token/``)
and used at a protected DRF view; proofs are signed by joserfc
(:class:`tests.dpop_support.ProofKey`) and jwcrypto, never by bearer_auth.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import jwt
import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from joserfc import jwk as joserfc_jwk
from jwcrypto import jwk as jwcrypto_jwk
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from bearer_auth import dpop
from bearer_auth.authentication import BearerTokenAuthentication, authenticate_token
from bearer_auth.exceptions import InvalidToken
from bearer_auth.jwt import audience
from tests.dpop_support import OMIT, ProofKey, jwcrypto_proof, unsigned_proof
from tests.first_party import ME_URL, REVOKE_URL, TOKEN_URL
from tests.security.probes import BARE_CHALLENGE, RESOURCE_METADATA

pytestmark = pytest.mark.django_db

WHOAMI = "/test-api/whoami/"
SCOPED = "/test-api/scoped/"
ALGS = 'algs="ES256 ES384 EdDSA RS256 PS256"'
MODES = ["strict", "stateless"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest, settings: Any) -> str:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFY_MODE": request.param}
    return str(request.param)


@pytest.fixture
def strict(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFY_MODE": "strict"}


@pytest.fixture
def key() -> ProofKey:
    return ProofKey("ES256")


def mint(user: Any, password: str, proof: str | None) -> dict[str, Any]:
    """Sign in through ``/auth/token/``; with ``proof`` the tokens are bound to its key."""
    extra = {"HTTP_DPOP": proof} if proof is not None else {}
    response = APIClient().post(
        TOKEN_URL, {"email": user.get_username(), "password": password}, format="json", **extra
    )
    assert response.status_code == 200, response.content
    tokens: dict[str, Any] = response.json()
    assert tokens["token_type"] == ("DPoP" if proof is not None else "Bearer")
    return tokens


@pytest.fixture
def bound(user: Any, password: str, key: ProofKey) -> str:
    """An access token bound to ``key``."""
    token: str = mint(user, password, key.proof("POST", TOKEN_URL))["access_token"]
    return token


def call(
    token: str,
    proof: str | None = None,
    *,
    scheme: str = "DPoP",
    path: str = WHOAMI,
    client: Client | None = None,
) -> Any:
    extra = {"HTTP_AUTHORIZATION": f"{scheme} {token}"}
    if proof is not None:
        extra["HTTP_DPOP"] = proof
    return (client or Client()).get(path, **extra)


def assert_refused(
    response: Any,
    error: str,
    description: str | None = None,
    *,
    scheme: str = "DPoP",
    status: int = 401,
) -> None:
    """``status`` with RFC-shaped ``error``, and a challenge of ``scheme`` naming it."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"] == error
    if description is not None:
        assert body["error_description"] == description
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith(f'{scheme} realm="api", '), challenge
    assert f'error="{error}"' in challenge
    assert challenge.endswith(RESOURCE_METADATA)
    assert (ALGS in challenge) == (scheme == "DPoP")
    assert "Bearer" not in challenge or scheme == "Bearer"


# Acceptance.


def test_a_bound_token_with_a_jwcrypto_proof_is_accepted(
    mode: str, user: Any, password: str
) -> None:
    signing_key = jwcrypto_jwk.JWK.generate(kty="EC", crv="P-256")
    token_proof, _key = jwcrypto_proof("POST", TOKEN_URL, key=signing_key)
    token = mint(user, password, token_proof)["access_token"]
    proof, _key = jwcrypto_proof("GET", WHOAMI, key=signing_key, access_token=token)
    response = call(token, proof)
    assert response.status_code == 200, response.content
    assert response.json()["user"] is not None
    assert dpop.NONCE_HEADER not in response


@pytest.mark.parametrize("alg", ["ES256", "ES384", "EdDSA", "RS256", "PS256"])
def test_every_configured_algorithm_is_accepted(
    mode: str, user: Any, password: str, alg: str
) -> None:
    key = ProofKey(alg)
    token = mint(user, password, key.proof("POST", TOKEN_URL))["access_token"]
    assert call(token, key.proof("GET", WHOAMI, access_token=token)).status_code == 200


@pytest.mark.parametrize("scheme", ["DPoP", "dpop", "DPOP"])
def test_the_scheme_is_case_insensitive(mode: str, bound: str, key: ProofKey, scheme: str) -> None:
    proof = key.proof("GET", WHOAMI, access_token=bound)
    assert call(bound, proof, scheme=scheme).status_code == 200


def test_request_auth_carries_the_verified_proof(mode: str, bound: str, key: ProofKey) -> None:
    proof = key.proof("GET", WHOAMI, access_token=bound)
    request = APIRequestFactory().get(WHOAMI, HTTP_AUTHORIZATION=f"DPoP {bound}", HTTP_DPOP=proof)
    result = BearerTokenAuthentication().authenticate(Request(request))
    assert result is not None
    assert result[1].dpop_proof is not None
    assert result[1].dpop_proof.jkt == key.jkt
    assert result[1].claims["cnf"] == {"jkt": key.jkt}


def test_a_proof_a_few_seconds_old_is_accepted(mode: str, bound: str, key: ProofKey) -> None:
    proof = key.proof("GET", WHOAMI, access_token=bound, claims={"iat": int(time.time()) - 30})
    assert call(bound, proof).status_code == 200


def test_an_unbound_token_still_works_as_bearer(mode: str, user: Any, password: str) -> None:
    token = mint(user, password, None)["access_token"]
    assert call(token, scheme="Bearer").status_code == 200


# Queries: the proof check adds none.


def test_strict_mode_keeps_one_query_for_a_dpop_request(
    strict: None, bound: str, key: ProofKey, django_assert_num_queries: Any
) -> None:
    assert call(bound, key.proof("GET", WHOAMI, access_token=bound)).status_code == 200
    with django_assert_num_queries(1):
        response = call(bound, key.proof("GET", WHOAMI, access_token=bound))
    assert response.status_code == 200


def test_stateless_mode_makes_no_query_for_a_dpop_request(
    settings: Any, bound: str, key: ProofKey, django_assert_num_queries: Any
) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFY_MODE": "stateless"}
    assert call(bound, key.proof("GET", WHOAMI, access_token=bound)).status_code == 200
    with django_assert_num_queries(0):
        response = call(bound, key.proof("GET", WHOAMI, access_token=bound))
    assert response.status_code == 200


# Refused proofs: 401 invalid_dpop_proof with a DPoP challenge.


def test_a_replayed_proof_is_refused(mode: str, bound: str, key: ProofKey) -> None:
    proof = key.proof("GET", WHOAMI, access_token=bound)
    assert call(bound, proof).status_code == 200
    assert_refused(call(bound, proof), "invalid_dpop_proof", "The DPoP proof was already used.")


def test_a_proof_from_another_key_is_refused(mode: str, bound: str) -> None:
    proof = ProofKey("ES256").proof("GET", WHOAMI, access_token=bound)
    assert_refused(
        call(bound, proof),
        "invalid_dpop_proof",
        "The DPoP proof's key is not the key the token is bound to.",
    )


def test_a_jwcrypto_proof_from_another_key_is_refused(mode: str, bound: str) -> None:
    proof, _key = jwcrypto_proof("GET", WHOAMI, access_token=bound)
    assert_refused(
        call(bound, proof),
        "invalid_dpop_proof",
        "The DPoP proof's key is not the key the token is bound to.",
    )


def test_a_proof_for_another_url_is_refused(mode: str, bound: str, key: ProofKey) -> None:
    proof = key.proof("GET", SCOPED, access_token=bound)
    assert_refused(call(bound, proof), "invalid_dpop_proof", "The DPoP proof is for another URI.")


def test_a_jwcrypto_proof_for_another_url_is_refused(mode: str, user: Any, password: str) -> None:
    signing_key = jwcrypto_jwk.JWK.generate(kty="EC", crv="P-256")
    token_proof, _key = jwcrypto_proof("POST", TOKEN_URL, key=signing_key)
    token = mint(user, password, token_proof)["access_token"]
    proof, _key = jwcrypto_proof(
        "GET", "https://testserver" + WHOAMI, key=signing_key, access_token=token
    )
    assert_refused(call(token, proof), "invalid_dpop_proof", "The DPoP proof is for another URI.")


def test_a_proof_for_another_method_is_refused(mode: str, bound: str, key: ProofKey) -> None:
    proof = key.proof("POST", WHOAMI, access_token=bound)
    assert_refused(
        call(bound, proof), "invalid_dpop_proof", "The DPoP proof is for another HTTP method."
    )


def test_a_stale_proof_is_refused(mode: str, bound: str, key: ProofKey) -> None:
    proof = key.proof("GET", WHOAMI, access_token=bound)
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        response = call(bound, proof)
    assert_refused(
        response, "invalid_dpop_proof", "The DPoP proof is too old or dated in the future."
    )


def test_a_proof_dated_in_the_future_is_refused(mode: str, bound: str, key: ProofKey) -> None:
    # The clock stands on a whole second: iat is exactly 61 s ahead when the server reads it
    # (int(time.time()) + 61 is 60.x s ahead, inside the window, late in a second on a slow run).
    with time_machine.travel(int(time.time()), tick=False):
        proof = key.proof("GET", WHOAMI, access_token=bound, claims={"iat": int(time.time()) + 61})
        response = call(bound, proof)
    assert_refused(
        response,
        "invalid_dpop_proof",
        "The DPoP proof is too old or dated in the future.",
    )


ATH_REFUSED = "The DPoP proof's ath is not the access token's hash."


def test_a_proof_without_ath_is_refused(mode: str, bound: str, key: ProofKey) -> None:
    proof = key.proof("GET", WHOAMI, access_token=bound, claims={"ath": OMIT})
    assert_refused(call(bound, proof), "invalid_dpop_proof", ATH_REFUSED)


def test_a_proof_with_another_token_s_ath_is_refused(
    mode: str, user: Any, password: str, bound: str, key: ProofKey
) -> None:
    other = mint(user, password, key.proof("POST", TOKEN_URL))["access_token"]
    proof = key.proof("GET", WHOAMI, access_token=other)
    assert_refused(call(bound, proof), "invalid_dpop_proof", ATH_REFUSED)


def test_a_bound_token_without_a_proof_is_refused(mode: str, bound: str) -> None:
    assert_refused(
        call(bound), "invalid_dpop_proof", "A DPoP-bound access token needs a DPoP proof."
    )


def test_two_proofs_are_refused(mode: str, bound: str, key: ProofKey) -> None:
    first = key.proof("GET", WHOAMI, access_token=bound)
    second = key.proof("GET", WHOAMI, access_token=bound)
    assert_refused(
        call(bound, f"{first}, {second}"), "invalid_dpop_proof", "Send exactly one DPoP proof."
    )


@pytest.mark.parametrize("typ", ["JWT", "at+jwt", OMIT])
def test_a_proof_of_another_typ_is_refused(
    mode: str, bound: str, key: ProofKey, typ: object
) -> None:
    proof = key.proof("GET", WHOAMI, access_token=bound, header={"typ": typ})
    assert_refused(
        call(bound, proof), "invalid_dpop_proof", 'The DPoP proof\'s typ is not "dpop+jwt".'
    )


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_an_unsigned_or_symmetric_proof_is_refused(
    mode: str, bound: str, key: ProofKey, alg: str
) -> None:
    good = key.proof("GET", WHOAMI, access_token=bound)
    payload = jwt.decode(good, options={"verify_signature": False})
    header = {"typ": "dpop+jwt", "alg": alg, "jwk": key.public_jwk}
    assert_refused(
        call(bound, unsigned_proof(payload, header)),
        "invalid_dpop_proof",
        "The DPoP proof's algorithm is not accepted.",
    )


def test_a_proof_carrying_a_private_key_is_refused(mode: str, bound: str, key: ProofKey) -> None:
    private = dict(key.key.as_dict(private=True))
    proof = key.proof("GET", WHOAMI, access_token=bound, header={"jwk": private})
    assert_refused(
        call(bound, proof), "invalid_dpop_proof", "The DPoP proof's jwk must be a public key."
    )


def test_a_proof_whose_key_does_not_fit_its_alg_is_refused(
    mode: str, bound: str, key: ProofKey
) -> None:
    proof = key.proof("GET", WHOAMI, access_token=bound, header={"alg": "RS256"})
    assert_refused(
        call(bound, proof), "invalid_dpop_proof", "The DPoP proof's key does not fit its algorithm."
    )


def test_a_proof_with_a_short_rsa_key_is_refused(mode: str, bound: str) -> None:
    short = jwcrypto_jwk.JWK.generate(kty="RSA", size=1024)
    proof, _key = jwcrypto_proof("GET", WHOAMI, key=short, alg="RS256", access_token=bound)
    assert_refused(
        call(bound, proof),
        "invalid_dpop_proof",
        "The DPoP proof's RSA key is shorter than 2048 bits.",
    )


# The token and the scheme must agree.


def test_a_bound_token_sent_as_bearer_is_refused_with_a_dpop_challenge(
    mode: str, bound: str, key: ProofKey
) -> None:
    """RFC 9449 §7.2: a DPoP-bound token is not a bearer token, even with a good proof."""
    proof = key.proof("GET", WHOAMI, access_token=bound)
    assert_refused(
        call(bound, proof, scheme="Bearer"),
        "invalid_token",
        "This access token is bound to a DPoP key: use the DPoP scheme with a proof.",
    )


def test_an_unbound_token_sent_as_dpop_is_refused(
    mode: str, user: Any, password: str, key: ProofKey
) -> None:
    token = mint(user, password, None)["access_token"]
    proof = key.proof("GET", WHOAMI, access_token=token)
    assert_refused(
        call(token, proof), "invalid_token", "This access token is not bound to a DPoP key."
    )


def test_a_bad_token_sent_as_dpop_gets_a_dpop_challenge(mode: str, key: ProofKey) -> None:
    proof = key.proof("GET", WHOAMI, access_token="a.b.c")
    assert_refused(call("a.b.c", proof), "invalid_token")


def test_a_malformed_dpop_authorization_gets_a_dpop_challenge() -> None:
    response = Client().get(WHOAMI, HTTP_AUTHORIZATION="DPoP a b")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response["WWW-Authenticate"].startswith(f'DPoP realm="api", {ALGS}, ')


def test_bearer_refusals_keep_the_bearer_challenge(mode: str) -> None:
    assert_refused(call("a.b.c", scheme="Bearer"), "invalid_token", scheme="Bearer")


def test_the_bare_challenge_offers_bearer_and_dpop() -> None:
    response = Client().get(WHOAMI)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        f'Bearer realm="api", {RESOURCE_METADATA}, DPoP realm="api", {ALGS}'
    )
    assert response["WWW-Authenticate"] == BARE_CHALLENGE


# The proof is checked after the token, and spends nothing for a refused one.


def no_replay_cache(settings: Any) -> None:
    """A replay cache alias that does not exist: spending a proof raises from now on."""
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "DPOP_REPLAY_CACHE": "no-such-cache"}


def test_a_refused_token_never_reaches_the_replay_cache(
    mode: str, bound: str, key: ProofKey, settings: Any
) -> None:
    no_replay_cache(settings)
    forged = bound[:-6] + ("AAAAAA" if not bound.endswith("AAAAAA") else "BBBBBB")
    proof = key.proof("GET", WHOAMI, access_token=forged)
    assert_refused(call(forged, proof), "invalid_token")
    # The check: a token that is accepted does reach it.
    with pytest.raises(Exception, match="no-such-cache"):
        call(bound, key.proof("GET", WHOAMI, access_token=bound))


def test_a_signed_out_bound_token_is_refused_in_strict_mode(
    strict: None, user: Any, password: str, key: ProofKey, settings: Any
) -> None:
    tokens = mint(user, password, key.proof("POST", TOKEN_URL))
    no_replay_cache(settings)
    signed_out = APIClient().post(
        REVOKE_URL,
        {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        format="json",
    )
    assert signed_out.status_code == 200, signed_out.content
    token = tokens["access_token"]
    assert_refused(
        call(token, key.proof("GET", WHOAMI, access_token=token)),
        "invalid_token",
        "The access token was revoked.",
    )


# Server nonces at the resource (RFC 9449 §9), through BearerAuthHeadersMiddleware.


@pytest.fixture
def resource_nonces(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "DPOP_NONCE_REQUIRED": ["resource"]}
    assert "bearer_auth.middleware.BearerAuthHeadersMiddleware" in settings.MIDDLEWARE


def test_a_nonce_is_required_then_accepted(
    mode: str, resource_nonces: None, bound: str, key: ProofKey
) -> None:
    first = call(bound, key.proof("GET", WHOAMI, access_token=bound))
    assert_refused(first, "use_dpop_nonce")
    nonce = first[dpop.NONCE_HEADER]
    assert nonce
    retried = call(bound, key.proof("GET", WHOAMI, access_token=bound, nonce=nonce))
    assert retried.status_code == 200, retried.content
    assert retried[dpop.NONCE_HEADER]


@pytest.mark.parametrize("forged", ["", "123.abc", "not-a-nonce"])
def test_a_forged_nonce_is_refused(
    mode: str, resource_nonces: None, bound: str, key: ProofKey, forged: str
) -> None:
    response = call(bound, key.proof("GET", WHOAMI, access_token=bound, nonce=forged))
    assert_refused(response, "use_dpop_nonce")
    assert response[dpop.NONCE_HEADER] != forged


def test_an_expired_nonce_is_refused(
    mode: str, resource_nonces: None, bound: str, key: ProofKey
) -> None:
    with time_machine.travel(timezone.now() - timedelta(minutes=5, seconds=1)):
        expired = dpop.new_nonce()
    response = call(bound, key.proof("GET", WHOAMI, access_token=bound, nonce=expired))
    assert_refused(response, "use_dpop_nonce")
    assert response[dpop.NONCE_HEADER] != expired


def test_a_bearer_request_gets_no_nonce(
    mode: str, resource_nonces: None, user: Any, password: str
) -> None:
    token = mint(user, password, None)["access_token"]
    response = call(token, scheme="Bearer")
    assert response.status_code == 200
    assert dpop.NONCE_HEADER not in response


# DPoP off.


@pytest.fixture
def dpop_off(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "DPOP_SIGNING_ALGORITHMS": []}


def test_with_dpop_off_the_dpop_scheme_is_not_ours(
    mode: str, bound: str, key: ProofKey, dpop_off: None
) -> None:
    response = call(bound, key.proof("GET", WHOAMI, access_token=bound))
    assert response.status_code == 401
    # No class authenticated: DRF's NotAuthenticated, with the bare Bearer challenge alone.
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == f'Bearer realm="api", {RESOURCE_METADATA}'


def test_with_dpop_off_a_bound_token_is_still_no_bearer_token(
    mode: str, bound: str, dpop_off: None
) -> None:
    assert_refused(call(bound, scheme="Bearer"), "invalid_token", scheme="Bearer")


# Units: thumbprints (RFC 7638) and htu normalization (RFC 9449 §4.3).


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda: joserfc_jwk.ECKey.generate_key("P-256"), "EC"),
        (lambda: joserfc_jwk.ECKey.generate_key("P-384"), "EC"),
        (lambda: joserfc_jwk.OKPKey.generate_key("Ed25519"), "OKP"),
        (lambda: joserfc_jwk.RSAKey.generate_key(2048), "RSA"),
    ],
)
def test_thumbprint_is_joserfc_s_and_jwcrypto_s(make: Any, kind: str) -> None:
    key = make()
    public = dict(key.as_dict(private=False))
    assert public["kty"] == kind
    mine = dpop.thumbprint(public)
    assert mine == key.thumbprint()
    assert mine == jwcrypto_jwk.JWK(**public).thumbprint()
    # Extra members (kid, use, alg) are not part of it (RFC 7638 §3.2).
    assert dpop.thumbprint({**public, "kid": "k1", "use": "sig", "alg": "x"}) == mine


def test_thumbprint_of_the_rfc_7638_example() -> None:
    """RFC 7638 §3.1's RSA key and its published thumbprint."""
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJ"
        "ECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FD"
        "W2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4v"
        "MQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    jwk = {"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}
    assert dpop.thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize(
    ("uri", "normalized"),
    [
        ("https://Api.Example.COM:443/notes", "https://api.example.com/notes"),
        ("HTTP://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com:80/a", "https://example.com:80/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a?b=1#frag", "https://example.com/a"),
        ("https://example.com/%7Euser/%61", "https://example.com/~user/a"),
        # Django decodes the path before routing (a%2Fb and a/b reach the same
        # view), so the comparison decodes every percent-encoding alike.
        ("https://example.com/a%2fb%3f", "https://example.com/a/b%3F"),
        ("https://example.com/caf%C3%A9", "https://example.com/caf%C3%A9"),
        ("https://[::1]:443/x", "https://[::1]/x"),
    ],
)
def test_normalized_uri(uri: str, normalized: str) -> None:
    assert dpop.normalized_uri(uri) == normalized


def test_htu_is_compared_after_normalization(mode: str, bound: str, key: ProofKey) -> None:
    proof = key.proof("GET", "HTTP://TestServer:80/test-api/%77hoami/?x=1", access_token=bound)
    assert call(bound, proof).status_code == 200


def test_the_first_party_me_view_takes_a_dpop_request(mode: str, bound: str, key: ProofKey) -> None:
    response = call(bound, key.proof("GET", ME_URL, access_token=bound), path=ME_URL)
    assert response.status_code == 200, response.content
    assert_refused(
        call(bound, key.proof("GET", WHOAMI, access_token=bound), path=ME_URL),
        "invalid_dpop_proof",
        "The DPoP proof is for another URI.",
    )


# Where no proof can be checked, and scope refusals.


def test_a_scope_refusal_of_a_dpop_request_is_a_dpop_challenge(
    mode: str, bound: str, key: ProofKey
) -> None:
    proof = key.proof("GET", SCOPED, access_token=bound)
    assert_refused(call(bound, proof, path=SCOPED), "insufficient_scope", status=403)


def test_authenticate_token_refuses_a_bound_token(bound: str, user: Any, password: str) -> None:
    with pytest.raises(InvalidToken):
        authenticate_token(bound)
    plain = mint(user, password, None)["access_token"]
    assert authenticate_token(plain)[0] == user


def test_the_mcp_verifier_refuses_a_bound_token(
    settings: Any, bound: str, user: Any, password: str
) -> None:
    """The MCP SDK hands the verifier a Bearer token alone: a bound one cannot be proven."""
    mcp = pytest.importorskip("bearer_auth.mcp", reason="needs the mcp extra")
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFY_MODE": "stateless"}
    plain = mint(user, password, None)["access_token"]
    authenticate_token(plain)  # the signing keys, read once outside the event loop
    verifier = mcp.BearerTokenVerifier(audience())
    assert asyncio.run(verifier.verify_token(bound)) is None
    assert asyncio.run(verifier.verify_token(plain)) is not None
