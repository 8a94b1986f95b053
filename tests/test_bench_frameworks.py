"""The benchmark's frameworks phase (``bench.frameworks``), run in the test project.

The phase pairs Ninja's ``BearerAuth`` with DRF's ``BearerTokenAuthentication``
on one strict request (and each framework's whole view through the test
client), and, under real servers, the same ``bearer_required`` view written
``async def`` and ``def``. These tests show that each case does what it is
named for (the same token, the same one statement, the views of each
target sync or async as named), that a refused request fails the run, and
that the report judges the two targets. No timing is asserted; the servers
themselves run in ``tests/test_bench_smoke.py``'s short benchmark.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest
from asgiref.sync import iscoroutinefunction
from django.test import Client, override_settings
from django.urls import resolve

from bearer_auth.exceptions import InvalidToken
from bearer_auth.jwt import user_subject
from bench.frameworks import frameworks_cases, targets
from bench.instructions import CALLS, SHORT_CALLS
from bench.report import FRAMEWORKS, RATIOS, misses
from bench.timing import Case, CaseFailed, checked
from tests.bench_support import measured, warm_statements
from tests.factories import ApplicationFactory
from tests.issuing import issue_access_token

pytestmark = [pytest.mark.django_db, pytest.mark.urls("bench.urls")]

IN_PROCESS = [
    "frameworks/ninja-authenticate",
    "frameworks/drf-authenticate",
    "frameworks/drf-view",
    "frameworks/drf-none",
    "frameworks/ninja-view",
    "frameworks/ninja-none",
]
SERVED = [
    "frameworks/http-async-uvicorn",
    "frameworks/http-sync-gunicorn",
    "frameworks/http-sync-uvicorn",
    "frameworks/http-none-async-uvicorn",
    "frameworks/http-none-gunicorn",
    "frameworks/http-ninja-async-uvicorn",
]
_TABLE = re.compile(r'\bFROM "(\w+)"')


@pytest.fixture
def fixtures(bench_fixtures: Any) -> Any:
    """The members the phase reads: the user and a stored RS256 token of the user."""
    token = issue_access_token(bench_fixtures.user, application=ApplicationFactory())  # type: ignore[no-untyped-call]
    return SimpleNamespace(user=bench_fixtures.user, bearer={"RS256": token})


@pytest.fixture
def cases(fixtures: Any) -> dict[str, Case]:
    return {case.name: case for case in frameworks_cases(fixtures)}


def _run(case: Case, calls: int = 2) -> list[Any]:
    with case.context():
        return [checked(case) for _ in range(calls)]


def test_the_phase_pairs_ninja_with_drf_and_async_with_sync(
    cases: dict[str, Case], fixtures: Any
) -> None:
    assert list(cases) == IN_PROCESS
    assert [target.name for target in targets(fixtures)] == SERVED
    judged = [ratio for ratio in RATIOS if ratio.section == FRAMEWORKS]
    for ratio in judged:
        assert {ratio.numerator, ratio.denominator} <= {*IN_PROCESS, *SERVED}, ratio.label
    with_target = sorted(
        (ratio.numerator, str(ratio.denominator), ratio.kind, ratio.target, ratio.at_most)
        for ratio in judged
        if ratio.target is not None
    )
    assert with_target == [
        ("frameworks/http-async-uvicorn", "frameworks/http-sync-uvicorn", "rate", 1.0, False),
        ("frameworks/ninja-authenticate", "frameworks/drf-authenticate", "time", 1.1, True),
    ]


def test_every_case_answers_for_the_token_s_user(cases: dict[str, Case], fixtures: Any) -> None:
    for user, bearer in _run(cases["frameworks/drf-authenticate"]):
        assert user.pk == fixtures.user.pk
        assert bearer.claims["jti"]
    for bearer in _run(cases["frameworks/ninja-authenticate"]):
        assert bearer.claims["sub"] == user_subject(fixtures.user)
    for name in ("frameworks/drf-view", "frameworks/ninja-view"):
        assert [response.status_code for response in _run(cases[name])] == [200, 200]


def test_both_frameworks_send_strict_mode_s_one_statement(cases: dict[str, Case]) -> None:
    tables = {}
    for name in ("frameworks/ninja-authenticate", "frameworks/drf-authenticate"):
        queries = warm_statements(cases[name])
        assert len(queries) == 1, queries
        tables[name] = _TABLE.findall(queries[0]["sql"])
    assert tables["frameworks/ninja-authenticate"] == tables["frameworks/drf-authenticate"]
    for name in ("frameworks/drf-view", "frameworks/ninja-view"):
        assert len(warm_statements(cases[name])) == 1
    for name in ("frameworks/drf-none", "frameworks/ninja-none"):
        assert warm_statements(cases[name]) == []


def test_a_refused_token_fails_the_run(fixtures: Any) -> None:
    refused: Any = SimpleNamespace(
        user=fixtures.user, bearer={"RS256": fixtures.bearer["RS256"][:-4]}
    )
    found = {case.name: case for case in frameworks_cases(refused)}
    for name in ("frameworks/drf-view", "frameworks/ninja-view"):
        with pytest.raises(CaseFailed, match=f"{name}: unexpected result .*401"):
            checked(found[name])
    for name in ("frameworks/drf-authenticate", "frameworks/ninja-authenticate"):
        with pytest.raises(InvalidToken):
            checked(found[name])


def test_each_served_path_is_the_view_its_name_says(fixtures: Any) -> None:
    """``async`` targets reach an ``async def`` view, the others a ``def`` one; all answer 200."""
    client = Client()
    with override_settings(BEARER_AUTH={**_bearer_settings(), "VERIFY_MODE": "stateless"}):
        for target in targets(fixtures):
            view = resolve(target.path).func
            if "ninja" in target.name:
                assert target.path.startswith("/ninja/")
            else:
                assert iscoroutinefunction(view) == ("async" in target.name), target
            assert target.mode in {"uvicorn", "gunicorn"}
            headers = {"HTTP_AUTHORIZATION": f"Bearer {target.token}"} if target.token else {}
            response = client.get(target.path, **headers)  # type: ignore[arg-type]
            assert response.status_code == 200, (target, response.content)
            assert response.json() == {"ok": True}
            if target.token:  # the protected ones refuse a request without the token
                assert client.get(target.path).status_code == 401


def _bearer_settings() -> dict[str, Any]:
    from django.conf import settings

    return dict(settings.BEARER_AUTH)


def _framework_misses(ninja: float, async_rate: float) -> dict[str, Any]:
    run = {
        "database": "sqlite",
        "measurements": {
            "frameworks/ninja-authenticate": measured(*(0.1 * ninja,) * 3),
            "frameworks/drf-authenticate": measured(0.1, 0.1, 0.1),
            "frameworks/http-async-uvicorn": measured(*(500 * async_rate,) * 3),
            "frameworks/http-sync-uvicorn": measured(500, 500, 500),
        },
    }
    return {
        miss.ratio.label: miss.value for miss in misses([run]) if miss.ratio.section == FRAMEWORKS
    }


def test_the_report_judges_ninja_against_drf_and_async_against_sync() -> None:
    assert _framework_misses(1.05, 1.02) == {}
    assert _framework_misses(1.15, 0.95) == {
        "Ninja `BearerAuth` ÷ DRF `BearerTokenAuthentication.authenticate`, one strict request": (
            pytest.approx(1.15)
        ),
        "`async def` ÷ `def` view, both under uvicorn": pytest.approx(0.95),
    }


def test_the_phase_runs_in_the_worker() -> None:
    from bench.worker import in_process_phases

    assert "frameworks" in in_process_phases(SimpleNamespace())
    assert CALLS["frameworks"] > 0
    assert SHORT_CALLS["frameworks"] > 0
