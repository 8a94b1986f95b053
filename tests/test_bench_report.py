"""The benchmark's ratios (``bench.report``): paired by repeat, targets checked."""

from __future__ import annotations

import pytest

from bench.report import (
    PACKAGES,
    RATIOS,
    SIGN_IN,
    Ratio,
    misses,
    paired_ratio,
    render,
    run_labels,
)
from tests.bench_support import measured


def test_a_ratio_is_the_median_of_the_repeats_own_ratios() -> None:
    # A slow spell in the second repeat hits only the numerator's sample:
    # the ratio of medians (30 / 12) would report it; the paired one does not.
    top, bottom = measured(10, 30, 31), measured(9, 12, 30)
    assert paired_ratio(top, bottom) == pytest.approx(10 / 9)
    assert Ratio("s", "x", "a", "b", 1.2).value({"a": top, "b": bottom}) == pytest.approx(10 / 9)


def test_repeats_must_pair_up() -> None:
    with pytest.raises(ValueError, match=r"shorter|longer"):
        paired_ratio(measured(1, 2, 3), measured(1, 2))


def test_missed_and_unmeasured_targets_are_reported() -> None:
    [refresh] = [
        ratio for ratio in RATIOS if ratio.numerator == "refresh/bearer" and ratio.target == 1.0
    ]
    measurements = {
        "refresh/bearer": measured(11, 11, 11),
        "refresh/simplejwt": measured(10, 10, 10),
    }
    [missed, *rest] = [
        miss
        for miss in misses([{"database": "sqlite", "measurements": measurements}])
        if miss.ratio is refresh
    ]
    assert missed.value == pytest.approx(1.1)
    assert rest == []
    measurements["refresh/bearer"] = measured(9, 10, 9)
    found = misses([{"database": "sqlite", "measurements": measurements}])
    assert refresh not in [miss.ratio for miss in found]
    # Not measured counts as missed.
    assert refresh in [miss.ratio for miss in misses([{"database": "x", "measurements": {}}])]


def test_a_probe_ratio_divides_or_lessens_each_side_by_its_own_probe_first() -> None:
    # Two repeats; the probed call ran at two speeds, unlike in the two cases of a repeat.
    measurements = {
        "a": measured(330, 495),  # 300 or 450 probed, 30 or 45 around it
        "a:p": measured(300, 450),
        "b": measured(460, 310),  # 450 or 300 probed, 10 around it
        "b:p": measured(450, 300),
    }
    per = Ratio("s", "x", "a", "b", probe="p")
    # (330/300) / (460/450) and (495/450) / (310/300): the speeds cancel.
    assert per.value(measurements) == pytest.approx(
        ((330 / 300) / (460 / 450) + (495 / 450) / (310 / 300)) / 2
    )
    less = Ratio("s", "x", "a", "b", probe="p", probe_use="less")
    assert less.value(measurements) == pytest.approx((30 / 10 + 45 / 10) / 2)
    assert Ratio("s", "x", "a", "b").value(measurements) == pytest.approx(
        (330 / 460 + 495 / 310) / 2
    )
    # A case measured without its probe has no such ratio.
    assert per.value({name: value for name, value in measurements.items() if name != "b:p"}) is None
    # Instructions are not timed: no probe part to take off, the plain ratio to divide by.
    assert less.instruction_ratio({"a": 3.0, "b": 2.0}) is None
    assert per.instruction_ratio({"a": 3.0, "b": 2.0}) == pytest.approx(1.5)


def test_a_query_row_with_a_denominator_counts_the_statements_one_case_adds() -> None:
    added = Ratio("s", "x", "a", "b", 0, kind="queries")
    assert added.value({"a": measured(1, queries=8), "b": measured(1, queries=8)}) == 0
    assert added.met(0.0) is True
    assert added.value({"a": measured(1, queries=9), "b": measured(1, queries=8)}) == 1
    assert added.met(1.0) is False
    assert added.value({"a": measured(1, queries=9)}) is None
    assert added.target_text == "≤ 0"


def _sign_in(
    ratio: float, own: tuple[float, ...], separate: tuple[float, ...]
) -> dict[str, dict[str, object]]:
    """Sign-ins ``ratio`` times the check inside them, which took ``own`` ms per repeat.

    The separate ``check_password`` call took ``separate`` ms in the same
    repeats: 315 or 465 ms, the machine's two CPU speeds.
    """
    return {
        "signin/bearer": measured(*(ratio * hashed for hashed in own)),
        "signin/bearer:check-password": measured(*own, queries=0),
        "signin/check-password": measured(*separate),
    }


def _sign_in_misses(measurements: dict[str, dict[str, object]]) -> list[str]:
    found = misses([{"database": "sqlite", "measurements": measurements}])
    return [miss.ratio.label for miss in found if miss.ratio.section == SIGN_IN]


JUDGED = "bearer_auth `/auth/token/` ÷ the `check_password` inside it"
SEPARATE = "bearer_auth `/auth/token/` ÷ a separate `check_password` call"


def test_sign_in_is_judged_against_the_check_password_inside_it() -> None:
    [judged] = [ratio for ratio in RATIOS if ratio.section == SIGN_IN and ratio.target]
    assert (judged.label, judged.denominator, judged.target) == (
        JUDGED,
        "signin/bearer:check-password",
        1.05,
    )
    [separate] = [ratio for ratio in RATIOS if ratio.label == SEPARATE]
    # Two sign-ins of three ran slow and their separate checks fast: against
    # a separate call (1.51x) the sign-in would miss; against its own check
    # (1.02x) it does not.
    passing = _sign_in(1.02, own=(465, 465, 315), separate=(315, 315, 465))
    assert separate.value(passing) == pytest.approx(1.02 * 465 / 315)
    assert judged.value(passing) == pytest.approx(1.02)
    assert _sign_in_misses(passing) == []
    # The other way round: 7% over its own check misses, though against
    # separate checks that ran slow it would pass (0.72x).
    missing = _sign_in(1.07, own=(315, 315, 465), separate=(465, 465, 315))
    assert separate.value(missing) == pytest.approx(1.07 * 315 / 465)
    assert judged.value(missing) == pytest.approx(1.07)
    assert _sign_in_misses(missing) == [JUDGED]


def test_the_report_shows_the_check_inside_a_sign_in_and_the_separate_ratio() -> None:
    measurements = _sign_in(1.02, own=(465, 465, 315), separate=(315, 315, 465))
    result = {"database": "sqlite", "server": "sqlite 3", "measurements": measurements}
    text = render([result], machine={}, short=True)
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in text.splitlines()}
    assert rows[JUDGED] == f"| {JUDGED} | ≤ 1.05x | 1.02x ✓ |"
    assert rows[SEPARATE] == f"| {SEPARATE} |  | 1.51x |"
    probed = rows["`signin/bearer:check-password`"]
    assert probed == "| `signin/bearer:check-password` | 465.0 ms (315.0-465.0), 0 q |"
    # Not measured here: the rows are there, marked, never an error.
    assert (
        "not measured" in rows["simplejwt `TokenObtainPairView` ÷ the `check_password` inside it"]
    )


def _run(database: str, django: str, measurements: dict[str, object]) -> dict[str, object]:
    """One worker's result: ``database`` on ``django``, as ``bench.worker`` writes it."""
    return {
        "database": database,
        "server": f"{database} 1.0",
        "python": "3.x",
        "packages": {"Django": django, "PyJWT": "2.15.1"},
        "measurements": measurements,
    }


REFRESH = "bearer_auth ÷ simplejwt rotate + blacklist"


def test_each_run_is_a_column_named_by_its_database_and_django() -> None:
    [refresh] = [ratio for ratio in RATIOS if ratio.label == REFRESH]
    fast = {"refresh/bearer": measured(5, 5, 5), "refresh/simplejwt": measured(10, 10, 10)}
    slow = {"refresh/bearer": measured(12, 12, 12), "refresh/simplejwt": measured(10, 10, 10)}
    results = [
        _run("sqlite", "5.2.19", fast),
        _run("postgres", "5.2.19", fast),
        _run("sqlite", "6.1.3", fast),
        _run("postgres", "6.1.3", slow),
    ]
    text = render(results, machine={}, short=True)
    runs = (
        "SQLite, Django 5.2 | PostgreSQL, Django 5.2 | SQLite, Django 6.1 | PostgreSQL, Django 6.1"
    )
    assert f"| | target | {runs} |" in text
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in text.splitlines()}
    target = refresh.target_text
    assert rows[REFRESH] == f"| {REFRESH} | {target} | 0.50x ✓ | 0.50x ✓ | 0.50x ✓ | 1.20x ✗ |"
    # Missed in one run of four: missed, and the miss names that run.
    assert [(miss.run, miss.value) for miss in misses(results) if miss.ratio is refresh] == [
        ("PostgreSQL, Django 6.1", pytest.approx(1.2))
    ]
    # Each run's versions, by the short names the report gives them.
    runs_section = text.split("## Runs")[1].split("## Machine")[0]
    assert f"| run | Python | {' | '.join(PACKAGES.values())} | database |" in runs_section
    known = {"Django": "6.1.3", "PyJWT": "2.15.1"}
    versions = " | ".join(known.get(name, "unknown") for name in PACKAGES)
    assert rows["PostgreSQL, Django 6.1"] == (
        f"| PostgreSQL, Django 6.1 | 3.x | {versions} | postgres 1.0 |"
    )


def test_runs_of_the_same_django_and_database_are_numbered() -> None:
    results = [_run("sqlite", "5.2.19", {}), _run("sqlite", "5.2.3", {}), _run("sqlite", "6.1", {})]
    assert run_labels(results) == [
        "SQLite, Django 5.2 #1",
        "SQLite, Django 5.2 #2",
        "SQLite, Django 6.1",
    ]
    # A result without versions (an older worker) is named by its database.
    assert run_labels([{"database": "postgres", "measurements": {}}]) == ["PostgreSQL"]
