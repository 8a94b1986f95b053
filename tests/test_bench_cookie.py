"""The benchmark's cookie-mode cases (``bench.cookie``), run in the test project.

The ``cookie`` phase pairs bearer_auth's first-party sign-in and refresh in
cookie mode with the same requests in body mode. These tests show that each
case is the mode it is named for (the refresh token in the body, or in a
rotated ``__Host-`` cookie and never in the body), that a case whose answer
is not that fails the run, that cookie mode sends the same statements as
body mode (what the report's "queries … adds" rows count), and that the
report judges the pairs.
"""

from __future__ import annotations

import re
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest
from django.http import JsonResponse

from bench.cases import CHECK_PASSWORD
from bench.cookie import (
    REFRESH_COOKIE,
    answer_problem,
    cookie_cases,
    cookie_refresh_case,
    cookie_signed_in,
)
from bench.report import COOKIE, RATIOS, misses
from bench.timing import Case, CaseFailed, checked, statement_count
from tests.bench_support import measured, warm_statements

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("relaxed_sign_in_budgets")]

NAMES = [
    "signin/bearer-body",
    "signin/bearer-cookie",
    "refresh/bearer-body",
    "refresh/bearer-cookie",
]
_VERB = re.compile(r"^(SELECT|INSERT|UPDATE|DELETE)\b")
_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE) "(\w+)"')


@pytest.fixture
def cases(bench_fixtures: Any) -> dict[str, Case]:
    return {case.name: case for case in cookie_cases(bench_fixtures)}


def _kinds(queries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Each statement as (verb, first table, or ``-``: a sign-in folds the email with one
    ``SELECT LOWER(…)``), in order; transaction control left out."""
    found = []
    for query in queries:
        verb, table = _VERB.match(query["sql"]), _TABLE.search(query["sql"])
        if verb:
            found.append((verb.group(1), table.group(1) if table else "-"))
    assert len(found) == statement_count(queries)  # every statement has its kind
    return found


def test_the_phase_pairs_each_cookie_mode_case_with_its_body_mode_case(
    cases: dict[str, Case],
) -> None:
    assert list(cases) == NAMES
    # Sign-ins carry the password check's probe, as signin/bearer does: the
    # judged sign-in ratio divides each sign-in by its own check.
    assert [cases[name].probe for name in NAMES] == [CHECK_PASSWORD, CHECK_PASSWORD, None, None]
    # The refresh pair, milliseconds each, runs more repeats than the sign-ins, and alike.
    assert [cases[name].repeat_factor for name in NAMES] == [1, 1, 4, 4]
    judged = {ratio.label: ratio for ratio in RATIOS if ratio.section == COOKIE}
    for ratio in judged.values():
        assert {ratio.numerator, ratio.denominator} <= set(NAMES), ratio.label
        assert ratio.numerator.endswith("-cookie"), ratio.label
        assert str(ratio.denominator).endswith("-body"), ratio.label
    targets = {label: ratio.target for label, ratio in judged.items() if ratio.target is not None}
    assert targets == {
        "sign-in, cookie ÷ body mode, each ÷ the `check_password` inside it": 1.05,
        "refresh, cookie ÷ body mode": 1.05,
        "queries a cookie-mode sign-in adds to body mode's": 0,
        "queries a cookie-mode refresh adds to body mode's": 0,
    }
    assert judged["sign-in, cookie ÷ body mode, each ÷ the `check_password` inside it"].probe == (
        CHECK_PASSWORD.name
    )


def test_body_mode_answers_the_refresh_token_in_the_body_and_sets_no_cookie(
    cases: dict[str, Case],
) -> None:
    spent: set[str] = set()
    for name in ("signin/bearer-body", "refresh/bearer-body"):
        for _ in range(2):
            response = checked(cases[name])
            body = response.json()
            assert body["refresh_token"] not in spent
            spent.add(body["refresh_token"])
            assert not response.cookies


def test_cookie_mode_answers_no_refresh_token_and_rotates_the_cookie(
    cases: dict[str, Case],
) -> None:
    seen: list[str] = []
    for name in ("signin/bearer-cookie", "refresh/bearer-cookie", "refresh/bearer-cookie"):
        response = checked(cases[name])
        assert response.status_code == 200
        assert "refresh_token" not in response.json()
        morsel = response.cookies[REFRESH_COOKIE]
        assert (morsel["httponly"], morsel["secure"], morsel["samesite"], morsel["path"]) == (
            True,
            True,
            "Strict",
            "/",
        )
        assert int(morsel["max-age"]) > 0
        seen.append(morsel.value)
    assert len(set(seen)) == len(seen)  # every answer set a new refresh token


def test_cookie_mode_sends_the_same_statements_as_body_mode(cases: dict[str, Case]) -> None:
    found = {name: _kinds(warm_statements(cases[name])) for name in NAMES}
    assert found["signin/bearer-cookie"] == found["signin/bearer-body"]
    assert found["refresh/bearer-cookie"] == found["refresh/bearer-body"]
    # What the report's "queries … adds" rows compare: the benchmark's counts.
    counts = {name: len(kinds) for name, kinds in found.items()}
    assert counts["signin/bearer-cookie"] - counts["signin/bearer-body"] == 0
    assert counts["refresh/bearer-cookie"] - counts["refresh/bearer-body"] == 0
    assert Counter(verb for verb, _table in found["refresh/bearer-cookie"])["UPDATE"] >= 1


def test_a_refused_cookie_refresh_fails_the_run(bench_fixtures: Any) -> None:
    client = cookie_signed_in(bench_fixtures)
    case = cookie_refresh_case("refresh/bearer-cookie", client)
    checked(case)
    client.cookies[REFRESH_COOKIE] = "not-a-refresh-token"
    with pytest.raises(CaseFailed, match=r"refresh/bearer-cookie: answered 400 .*invalid_grant"):
        checked(case)


def test_a_cookie_that_is_not_rotated_fails_the_run(bench_fixtures: Any) -> None:
    case = cookie_refresh_case("refresh/bearer-cookie", cookie_signed_in(bench_fixtures))
    first = checked(case)
    case.call()  # sends the cookie the first answer set
    # An answer that sets the very cookie just sent has not rotated it.
    with pytest.raises(CaseFailed, match="refresh/bearer-cookie: the refresh cookie was not"):
        case.check(first)


def test_cookie_mode_refused_by_the_server_fails_its_cases(
    cases: dict[str, Case], settings: Any
) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "REFRESH_TOKEN_DELIVERY": "body"}
    for name in ("signin/bearer-cookie", "refresh/bearer-cookie"):
        with pytest.raises(CaseFailed, match=f"{name}: answered 400 .*invalid_request"):
            checked(cases[name])


def _answer(body: dict[str, Any], cookie: str | None = None, **flags: Any) -> JsonResponse:
    response = JsonResponse(body)
    if cookie is not None:
        response.set_cookie(REFRESH_COOKIE, cookie, **flags)
    return response


def test_an_answer_that_is_not_its_modes_fails_the_case(cases: dict[str, Case]) -> None:
    pair = {"access_token": "a", "refresh_token": "r"}
    access = {"access_token": "a"}
    strict = {"httponly": True, "secure": True, "samesite": "Strict"}
    # A body that carries refresh_token in cookie mode, even beside the cookie.
    assert answer_problem(_answer(pair, "r", **strict), cookie=True) == (
        "the body carries refresh_token in cookie mode"
    )
    with pytest.raises(CaseFailed, match="signin/bearer-cookie: the body carries refresh_token"):
        cases["signin/bearer-cookie"].check(_answer(pair, "r", **strict))
    # Cookie mode without the cookie, or with a cookie scripts could read.
    assert "no __Host-bearer_refresh cookie" in str(answer_problem(_answer(access), cookie=True))
    loose = _answer(access, "r", secure=True, samesite="Strict")
    assert "not HttpOnly, Secure, SameSite=Strict" in str(answer_problem(loose, cookie=True))
    assert answer_problem(_answer(access, "r", **strict), cookie=True) is None
    # Body mode that sets a cookie, or answers no refresh token.
    with pytest.raises(CaseFailed, match="refresh/bearer-body: a body-mode answer set cookies"):
        cases["refresh/bearer-body"].check(_answer(pair, "r", **strict))
    assert "no refresh_token in the body" in str(answer_problem(_answer(access), cookie=False))
    assert answer_problem(_answer(pair), cookie=False) is None


def _measured(cookie_work: float, *, added: int = 0) -> dict[str, Any]:
    """Three repeats; the hash ran at 300 or 450 ms, unlike in the two sign-ins of a repeat.

    The sign-ins' own work is 10 ms in body mode and ``cookie_work`` in cookie
    mode (at 300 ms' speed); a refresh is 8 ms in body mode and
    ``cookie_work / 10`` times that in cookie mode.
    """
    body_hash, cookie_hash = (300, 450, 300), (450, 300, 300)
    scale = cookie_work / 10
    return {
        "signin/bearer-body": measured(*(h * (1 + 10 / 300) for h in body_hash), queries=8),
        "signin/bearer-body:check-password": measured(*body_hash, queries=0),
        "signin/bearer-cookie": measured(
            *(h * (1 + cookie_work / 300) for h in cookie_hash), queries=8 + added
        ),
        "signin/bearer-cookie:check-password": measured(*cookie_hash, queries=0),
        "refresh/bearer-body": measured(8, 8, 8, queries=7),
        "refresh/bearer-cookie": measured(*(8 * scale,) * 3, queries=7 + added),
    }


def _cookie_misses(measurements: dict[str, Any]) -> dict[str, float | None]:
    run = {"database": "sqlite", "measurements": measurements}
    return {miss.ratio.label: miss.value for miss in misses([run]) if miss.ratio.section == COOKIE}


def test_the_report_judges_each_pair_against_its_body_mode() -> None:
    # The sign-ins' speeds differ (300 against 450 ms hashes): the plain
    # ratio would read 1.5x in one repeat; each ÷ its own check does not.
    assert _cookie_misses(_measured(10.2)) == {}
    by_label = {ratio.label: ratio for ratio in RATIOS if ratio.section == COOKIE}
    less = by_label["sign-in less the `check_password` inside it, cookie ÷ body mode"]
    assert less.value(_measured(10.2)) == pytest.approx(1.02)
    # A cookie mode that took 6% more on a refresh, or added a statement, misses.
    missed = _cookie_misses(_measured(10.6, added=1))
    assert missed == {
        "refresh, cookie ÷ body mode": pytest.approx(1.06),
        "queries a cookie-mode sign-in adds to body mode's": 1,
        "queries a cookie-mode refresh adds to body mode's": 1,
    }
    # Not measured counts as missed, as every target does.
    assert set(_cookie_misses({})) == {
        ratio.label for ratio in by_label.values() if ratio.target is not None
    }


def test_the_phase_runs_in_the_worker() -> None:
    from bench.worker import in_process_phases

    assert "cookie" in in_process_phases(SimpleNamespace())
