"""The benchmark (``make bench``) runs end to end: its short mode fills every row.

Timings are not asserted: CI machines are too noisy for that. What must hold
is that every case ran and succeeded on every call (the benchmark checks each
result), and that every ratio of the report has a value. The runs use the
interpreter running the tests, so a run of the suite on another Django runs
the benchmark on that Django too (``make bench`` measures two: the Makefile).
"""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import django
import pytest

from bench.report import RATIOS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def run_short_bench(tmp_path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bench --short`` on SQLite, writing ``tmp_path/performance.md``."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--short",
            "--databases",
            "sqlite",
            *options,
            "--dir",
            str(tmp_path / "run"),
            "--output",
            str(tmp_path / "performance.md"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def report_rows(tmp_path: Path) -> dict[str, str]:
    """The report's table rows by their first cell (a ratio's label or a case's name)."""
    text = (tmp_path / "performance.md").read_text()
    return {line.split(" | ")[0].removeprefix("| "): line for line in text.splitlines()}


def test_short_benchmark_reports_every_ratio(tmp_path: Path) -> None:
    completed = run_short_bench(tmp_path)
    assert completed.returncode == 0, completed.stderr[-4000:]
    text = (tmp_path / "performance.md").read_text()
    assert completed.stdout.startswith(text[:200])
    rows = report_rows(tmp_path)
    for ratio in RATIOS:
        assert ratio.label in rows, ratio.label
        row = rows[ratio.label]
        assert "not measured" not in row, row
        assert row.rstrip(" |✓✗").endswith("x") or ratio.kind == "queries", row
    # Each sign-in's own password check is a measurement of its own.
    for probed in ("signin/bearer:check-password", "signin/simplejwt:check-password"):
        assert "not measured" not in rows[f"`{probed}`"], rows[f"`{probed}`"]
    assert "## Machine" in text
    assert "not measured" not in text
    # OpenID Connect (bench.oidc): an ID token costs the code exchange one
    # statement, its row (tests/test_bench_oidc.py names it); UserInfo in
    # strict mode is one query, as /auth/me/ is.
    openid, plain, userinfo, me = (
        int(rows[label].split(" | ")[2].rstrip(" |✓✗"))
        for label in (
            "queries per code exchange with `openid`",
            "queries per code exchange without `openid`",
            "UserInfo queries (strict mode)",
            "`/auth/me/` queries (strict mode)",
        )
    )
    assert (openid, userinfo, me) == (plain + 1, 1, 1), (openid, plain, userinfo, me)
    # Cookie mode (bench.cookie) sends the statements body mode does.
    for label in (
        "queries a cookie-mode sign-in adds to body mode's",
        "queries a cookie-mode refresh adds to body mode's",
    ):
        assert rows[label].endswith(" | 0 ✓ |"), rows[label]
    # The run names its Django (and DRF, DOT, PyJWT, simplejwt...): see Runs.
    label = f"SQLite, Django {'.'.join(django.get_version().split('.')[:2])}"
    assert rows[label].startswith(
        f"| {label} | {platform.python_version()} | {django.get_version()} |"
    )


def test_runs_on_two_interpreters_and_check_fails_when_either_misses(tmp_path: Path) -> None:
    """``--python`` twice: a run per interpreter, a column each; ``--check`` names each miss's run.

    Both are this interpreter, so both runs have one Django and are numbered;
    only bearer_auth's refresh is measured, so every other target is missed.
    """
    completed = run_short_bench(
        tmp_path,
        *("--python", sys.executable, "--python", sys.executable),
        *("--check", "--only", "refresh", "--cases", "refresh/bearer"),
    )
    assert completed.returncode == 1, completed.stderr[-4000:]
    label = f"SQLite, Django {'.'.join(django.get_version().split('.')[:2])}"
    for number in (1, 2):
        missed = f"MISSED [{label} #{number}] bearer_auth ÷ simplejwt rotate + blacklist"
        assert f"{missed}: not measured" in completed.stderr
    text = (tmp_path / "performance.md").read_text()
    assert f"| | target | {label} #1 | {label} #2 |" in text
    rows = report_rows(tmp_path)
    assert rows["bearer_auth queries per refresh"].count("✓") == 2


def test_cases_option_measures_only_the_named_cases(tmp_path: Path) -> None:
    """``--cases`` keeps the cases whose names start with one of the prefixes."""
    completed = run_short_bench(
        tmp_path, "--only", "auth", "--cases", "auth/bearer-stateless-RS256,floor/pyjwt-RS256"
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    rows = report_rows(tmp_path)
    measured = rows["stateless RS256 ÷ PyJWT RS256 decode"]
    assert "not measured" not in measured, measured
    assert "`auth/bearer-stateless-RS256`" in rows
    assert "`floor/pyjwt-RS256`" in rows
    assert "not measured" in rows["stateless ES256 ÷ PyJWT ES256 decode"]
    assert "`auth/dot`" not in rows
    assert "`client/none`" not in rows


def test_the_cookie_phase_measures_cookie_mode_beside_body_mode(tmp_path: Path) -> None:
    """``--only cookie``: sign-in and refresh in both modes, their ratios and statement rows."""
    completed = run_short_bench(tmp_path, "--only", "cookie")
    assert completed.returncode == 0, completed.stderr[-4000:]
    rows = report_rows(tmp_path)
    for name in (
        "signin/bearer-body",
        "signin/bearer-body:check-password",
        "signin/bearer-cookie",
        "signin/bearer-cookie:check-password",
        "refresh/bearer-body",
        "refresh/bearer-cookie",
    ):
        assert "not measured" not in rows[f"`{name}`"], rows[f"`{name}`"]
    for label in (
        "sign-in, cookie ÷ body mode, each ÷ the `check_password` inside it",
        "refresh, cookie ÷ body mode",
    ):
        assert rows[label].startswith(f"| {label} | ≤ 1.05x | "), rows[label]
        assert rows[label].rstrip(" |✓✗").endswith("x"), rows[label]
    assert rows["queries a cookie-mode refresh adds to body mode's"].endswith(" | ≤ 0 | 0 ✓ |")
    # Only the cookie phase ran.
    assert "`signin/bearer`" not in rows
    assert "not measured" in rows["bearer_auth ÷ simplejwt rotate + blacklist"]


@pytest.mark.valgrind
def test_instructions_are_counted_under_callgrind(tmp_path: Path) -> None:
    """``--instructions`` runs a worker under valgrind and reports counts and their ratios."""
    completed = run_short_bench(tmp_path, "--instructions", "--only", "refresh")
    assert completed.returncode == 0, completed.stderr[-4000:]
    text = (tmp_path / "performance.md").read_text()
    counted = text.split("## Instructions per call")[1].split("## Machine")[0]
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in counted.splitlines()}
    for name in ("refresh/bearer", "refresh/simplejwt", "refresh/dot"):
        count = rows[f"`{name}`"].split(" | ")[1].rstrip(" |").replace(",", "")
        # A refresh through the test client is millions of instructions, never 0.
        assert int(count) > 1_000_000, rows[f"`{name}`"]
    assert rows["bearer_auth ÷ simplejwt rotate + blacklist"].endswith("x |")
