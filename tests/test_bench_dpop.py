"""The benchmark's DPoP cases (``bench.dpop``), run in the test project.

The ``dpop`` phase pairs a request with a DPoP-bound access token and a new
proof (``Authorization: DPoP``, ``DPoP`` header) with the same request with
a Bearer token, through the benchmark's strict ``BearerTokenAuthentication``
view and through ``authenticate()`` alone, and ``verify_proof`` with PyJWT's
decode of the same kind of proof. These tests show that each case does what
it is named for (a bound token that needs its proof, a proof spent once, a
new proof each call), that DPoP sends the statements Bearer does, and that
the report judges the pairs. No timing is asserted.
"""

from __future__ import annotations

import re
import time
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from django.test import Client

from bearer_auth import dpop as core
from bearer_auth.exceptions import InvalidDPoPProof
from bench.dpop import (
    PROOF_BATCH,
    RESOURCE_PATH,
    RESOURCE_URI,
    ProofPool,
    ProofSigner,
    dpop_cases,
    dpop_headers,
    pooled_case,
    sign_in,
)
from bench.instructions import CALLS, SHORT_CALLS
from bench.report import DPOP, RATIOS, misses
from bench.timing import Case, CaseFailed, checked, statement_count
from tests.bench_support import measured, warm_statements

# bench.urls: the benchmark's /api/bearer/ view (strict BearerTokenAuthentication).
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.urls("bench.urls"),
    pytest.mark.usefixtures("relaxed_sign_in_budgets"),
]

NAMES = [
    "dpop/view-dpop",
    "dpop/view-bearer",
    "dpop/authenticate-dpop",
    "dpop/authenticate-bearer",
    "dpop/verify-proof",
    "dpop/pyjwt-ES256",
    "dpop/jti-cache-add",
]
_TABLE = re.compile(r'\bFROM "(\w+)"')


@pytest.fixture
def cases(bench_fixtures: Any) -> dict[str, Case]:
    return {case.name: case for case in dpop_cases(bench_fixtures)}


def _run(case: Case, calls: int = 2) -> list[Any]:
    """``calls`` checked calls of ``case`` in one entry of its context, as a batch runs them."""
    with case.context():
        return [checked(case) for _ in range(calls)]


def test_the_phase_pairs_dpop_with_bearer_and_verify_proof_with_pyjwt(
    cases: dict[str, Case],
) -> None:
    assert list(cases) == NAMES
    judged = {ratio.label: ratio for ratio in RATIOS if ratio.section == DPOP}
    for ratio in judged.values():
        assert {ratio.numerator, ratio.denominator} <= set(NAMES), ratio.label
    pairs = sorted(
        (ratio.numerator, str(ratio.denominator), ratio.kind, ratio.target or 0)
        for ratio in judged.values()
    )
    assert pairs == [
        ("dpop/authenticate-dpop", "dpop/authenticate-bearer", "time", 0),
        ("dpop/jti-cache-add", "dpop/verify-proof", "time", 0),
        ("dpop/verify-proof", "dpop/pyjwt-ES256", "time", 2.0),
        ("dpop/view-dpop", "dpop/view-bearer", "queries", 0),
        ("dpop/view-dpop", "dpop/view-bearer", "time", 1.6),
    ]
    targets = {label: ratio.target for label, ratio in judged.items() if ratio.target is not None}
    assert targets == {
        "request, DPoP-bound token and proof ÷ Bearer token, through the view": 1.6,
        "`verify_proof` ÷ PyJWT ES256 decode of the same kind of proof, no claim checked": 2.0,
        "queries a DPoP request adds to a Bearer request's": 0,
    }


def test_the_tokens_are_one_bound_to_the_signers_key_and_one_bearer(bench_fixtures: Any) -> None:
    signer = ProofSigner()
    bound = jwt.decode(sign_in(bench_fixtures, signer), options={"verify_signature": False})
    plain = jwt.decode(sign_in(bench_fixtures, None), options={"verify_signature": False})
    assert bound["cnf"] == {"jkt": signer.jkt}
    assert "cnf" not in plain
    # The same kind of token otherwise: the same claims, from the same sign-in.
    assert set(bound) - {"cnf"} == set(plain)
    assert jwt.get_unverified_header(sign_in(bench_fixtures, None))["alg"] == "RS256"


def test_the_dpop_and_bearer_cases_answer_200(cases: dict[str, Case]) -> None:
    for name in ("dpop/view-dpop", "dpop/view-bearer"):
        assert [response.status_code for response in _run(cases[name])] == [200, 200]
    for name in ("dpop/authenticate-dpop", "dpop/authenticate-bearer"):
        for user, _token in _run(cases[name]):
            assert user.is_authenticated


def test_the_bound_token_is_refused_without_its_proof_or_with_a_replayed_one(
    bench_fixtures: Any,
) -> None:
    """What the DPoP case's 200 rests on: the view checks the proof, and spends it."""
    signer = ProofSigner()
    bound = sign_in(bench_fixtures, signer)
    client = Client()
    refused = [
        client.get(RESOURCE_PATH, HTTP_AUTHORIZATION=f"Bearer {bound}"),
        client.get(RESOURCE_PATH, HTTP_AUTHORIZATION=f"DPoP {bound}"),
        # A proof of another key.
        client.get(RESOURCE_PATH, **dpop_headers(bound, ProofSigner().proof("GET", RESOURCE_URI))),
    ]
    assert [response.status_code for response in refused] == [401, 401, 401]
    proof = signer.proof("GET", RESOURCE_URI, access_token=bound)
    assert client.get(RESOURCE_PATH, **dpop_headers(bound, proof)).status_code == 200
    replayed = client.get(RESOURCE_PATH, **dpop_headers(bound, proof))
    assert replayed.status_code == 401
    assert replayed.json()["error"] == "invalid_dpop_proof"
    assert replayed["WWW-Authenticate"].startswith("DPoP ")


def test_a_case_sent_one_proof_twice_fails_the_run(bench_fixtures: Any) -> None:
    signer = ProofSigner()
    bound = sign_in(bench_fixtures, signer)
    proof = signer.proof("GET", RESOURCE_URI, access_token=bound)
    client = Client()
    case = pooled_case(
        "dpop/view-dpop",
        lambda: proof,  # every call the same proof: a replay from the second on
        lambda sent: client.get(RESOURCE_PATH, **dpop_headers(bound, sent)),
        lambda response: response.status_code == 200,
    )
    with case.context():
        checked(case)
        with pytest.raises(CaseFailed, match=r"dpop/view-dpop: unexpected result .*401"):
            checked(case)


def test_each_context_entry_signs_new_proofs_for_a_batch() -> None:
    signer = ProofSigner()
    pool = ProofPool(lambda: signer.proof("GET", RESOURCE_URI))
    with pool.context():
        proofs = list(pool.items)
    with pool.context():
        proofs += pool.items
        for _ in range(PROOF_BATCH + 1):  # a batch and its warm-up call
            pool.take()
        with pytest.raises(CaseFailed, match="ran out of proofs"):
            pool.take()
    assert not pool.items  # what a batch left is never sent
    claims = [jwt.decode(proof, options={"verify_signature": False}) for proof in proofs]
    assert len(claims) == 2 * (PROOF_BATCH + 1)
    assert len({claim["jti"] for claim in claims}) == len(claims)  # a new jti each
    # Signed just before their batch: well within DPOP_PROOF_LIFETIME (60 s).
    assert all(abs(time.time() - claim["iat"]) < 5 for claim in claims)
    # The instruction counts' calls fit in one entry too.
    assert max(CALLS["dpop"], SHORT_CALLS["dpop"]) + 1 <= PROOF_BATCH + 1


def test_verify_proof_and_its_floor_get_a_new_proof_each_call(cases: dict[str, Case]) -> None:
    verified = _run(cases["dpop/verify-proof"], 3)
    assert all(isinstance(proof, core.Proof) for proof in verified)
    assert len({proof.claims["jti"] for proof in verified}) == 3
    assert len({proof.jkt for proof in verified}) == 1  # one client key
    decoded = _run(cases["dpop/pyjwt-ES256"], 3)
    assert all(claims["htu"] == RESOURCE_URI and "ath" in claims for claims in decoded)
    assert len({claims["jti"] for claims in decoded}) == 3
    assert _run(cases["dpop/jti-cache-add"]) == [True, True]


def test_verify_proof_case_fails_the_run_on_a_replayed_proof(bench_fixtures: Any) -> None:
    signer = ProofSigner()
    proof = signer.proof("GET", RESOURCE_URI)
    case = pooled_case(
        "dpop/verify-proof",
        lambda: proof,
        lambda sent: core.verify_proof(sent, method="GET", uri=RESOURCE_URI),
        lambda verified: isinstance(verified, core.Proof),
    )
    with case.context():
        checked(case)
        with pytest.raises(InvalidDPoPProof, match="already used"):
            checked(case)


def test_dpop_sends_the_statements_bearer_does(cases: dict[str, Case]) -> None:
    found = {}
    for name in ("dpop/view-dpop", "dpop/view-bearer"):
        queries = warm_statements(cases[name])
        assert statement_count(queries) == 1, queries  # strict mode's one query
        found[name] = [_TABLE.findall(query["sql"]) for query in queries]
    assert found["dpop/view-dpop"] == found["dpop/view-bearer"]
    for name in ("dpop/verify-proof", "dpop/pyjwt-ES256", "dpop/jti-cache-add"):
        assert statement_count(warm_statements(cases[name])) == 0


def _dpop_misses(view: float, *, added: int = 0, verify: float = 1.4) -> dict[str, Any]:
    run = {
        "database": "sqlite",
        "measurements": {
            "dpop/view-dpop": measured(*(0.4 * view,) * 3, queries=1 + added),
            "dpop/view-bearer": measured(0.4, 0.4, 0.4, queries=1),
            "dpop/verify-proof": measured(*(0.1 * verify,) * 3, queries=0),
            "dpop/pyjwt-ES256": measured(0.1, 0.1, 0.1, queries=0),
        },
    }
    return {miss.ratio.label: miss.value for miss in misses([run]) if miss.ratio.section == DPOP}


def test_the_report_judges_dpop_against_bearer() -> None:
    assert _dpop_misses(1.55) == {}
    assert _dpop_misses(1.65, added=1, verify=2.1) == {
        "request, DPoP-bound token and proof ÷ Bearer token, through the view": pytest.approx(1.65),
        "queries a DPoP request adds to a Bearer request's": 1,
        "`verify_proof` ÷ PyJWT ES256 decode of the same kind of proof, no claim checked": (
            pytest.approx(2.1)
        ),
    }


def test_the_phase_runs_in_the_worker() -> None:
    from bench.worker import in_process_phases

    assert "dpop" in in_process_phases(SimpleNamespace())
