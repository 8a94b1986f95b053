"""DPoP (RFC 9449 §7) through every adapter: the core's proof check, the same answers everywhere.

``tests/test_dpop_resource.py`` holds every proof rule against the DRF view;
here the rules that travel through an adapter's own code run against each
adapter (DRF, Django Ninja sync and async, a plain async view): the scheme
and challenge, the proof's URL and method as the adapter's request gives
them, a proof spent once (the async path spends it off the event loop),
server nonces reaching ``BearerAuthHeadersMiddleware``, and scope refusals.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from bearer_auth import dpop
from tests.adapters import ADAPTERS
from tests.dpop_support import ProofKey
from tests.security.probes import RESOURCE_METADATA
from tests.test_dpop_resource import ALGS, mint

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["strict", "stateless"])
def mode(request: pytest.FixtureRequest, settings: Any) -> str:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFY_MODE": request.param}
    return str(request.param)


@pytest.fixture(params=list(ADAPTERS))
def prefix(request: pytest.FixtureRequest) -> str:
    return ADAPTERS[request.param]


@pytest.fixture
def key() -> ProofKey:
    return ProofKey("ES256")


@pytest.fixture
def bound(user: Any, password: str, key: ProofKey) -> str:
    token: str = mint(user, password, key.proof("POST", "/auth/token/"))["access_token"]
    return token


def call(path: str, token: str, proof: str | None, *, scheme: str = "DPoP") -> Any:
    extra = {"HTTP_AUTHORIZATION": f"{scheme} {token}"}
    if proof is not None:
        extra["HTTP_DPOP"] = proof
    return Client().get(path, **extra)


def assert_refused(response: Any, error: str, *, status: int = 401) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"] == error
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('DPoP realm="api", '), challenge
    assert ALGS in challenge
    assert f'error="{error}"' in challenge
    assert challenge.endswith(RESOURCE_METADATA)


def test_a_bound_token_with_its_proof_is_accepted(
    mode: str, prefix: str, bound: str, key: ProofKey, user: Any
) -> None:
    path = prefix + "whoami/"
    response = call(path, bound, key.proof("GET", path, access_token=bound))
    assert response.status_code == 200, response.content
    assert response.json()["user"] is not None


def test_a_replayed_proof_is_refused(mode: str, prefix: str, bound: str, key: ProofKey) -> None:
    path = prefix + "whoami/"
    proof = key.proof("GET", path, access_token=bound)
    assert call(path, bound, proof).status_code == 200
    assert_refused(call(path, bound, proof), "invalid_dpop_proof")


def test_a_proof_for_another_adapter_s_url_is_refused(
    mode: str, prefix: str, bound: str, key: ProofKey
) -> None:
    path = prefix + "whoami/"
    elsewhere = "/elsewhere/whoami/"
    assert_refused(
        call(path, bound, key.proof("GET", elsewhere, access_token=bound)), "invalid_dpop_proof"
    )
    assert_refused(
        call(path, bound, key.proof("POST", path, access_token=bound)), "invalid_dpop_proof"
    )


def test_a_proof_of_another_key_is_refused(mode: str, prefix: str, bound: str) -> None:
    path = prefix + "whoami/"
    proof = ProofKey("ES256").proof("GET", path, access_token=bound)
    assert_refused(call(path, bound, proof), "invalid_dpop_proof")


def test_a_bound_token_as_bearer_or_without_a_proof_is_refused(
    mode: str, prefix: str, bound: str, key: ProofKey
) -> None:
    path = prefix + "whoami/"
    assert_refused(
        call(path, bound, key.proof("GET", path, access_token=bound), scheme="Bearer"),
        "invalid_token",
    )
    assert_refused(call(path, bound, None), "invalid_dpop_proof")


def test_an_unbound_token_sent_as_dpop_is_refused(
    mode: str, prefix: str, user: Any, password: str, key: ProofKey
) -> None:
    path = prefix + "whoami/"
    token = mint(user, password, None)["access_token"]
    assert_refused(call(path, token, key.proof("GET", path, access_token=token)), "invalid_token")
    assert call(path, token, None, scheme="Bearer").status_code == 200


def test_a_nonce_is_required_then_accepted(
    mode: str, prefix: str, bound: str, key: ProofKey, settings: Any
) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "DPOP_NONCE_REQUIRED": ["resource"]}
    path = prefix + "whoami/"
    first = call(path, bound, key.proof("GET", path, access_token=bound))
    assert_refused(first, "use_dpop_nonce")
    nonce = first[dpop.NONCE_HEADER]
    retried = call(path, bound, key.proof("GET", path, access_token=bound, nonce=nonce))
    assert retried.status_code == 200, retried.content
    assert retried[dpop.NONCE_HEADER]


def test_a_scope_refusal_of_a_dpop_request_is_a_dpop_challenge(
    mode: str, prefix: str, bound: str, key: ProofKey
) -> None:
    path = prefix + "scoped/"
    response = call(path, bound, key.proof("GET", path, access_token=bound))
    assert_refused(response, "insufficient_scope", status=403)
    assert 'scope="notes:read profile"' in response["WWW-Authenticate"]
