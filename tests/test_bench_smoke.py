"""The benchmark (``make bench``) runs end to end: its short mode fills every row.

Timings are not asserted: CI machines are too noisy for that. What must hold
is that every case ran and succeeded on every call (the benchmark checks each
result), and that the report has every ratio of issue 7 with a value.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import RATIOS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def test_short_benchmark_reports_every_ratio(tmp_path: Path) -> None:
    output = tmp_path / "performance.md"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--short",
            "--databases",
            "sqlite",
            "--dir",
            str(tmp_path / "run"),
            "--output",
            str(output),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    text = output.read_text()
    assert completed.stdout.startswith(text[:200])
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in text.splitlines()}
    for ratio in RATIOS:
        assert ratio.label in rows, ratio.label
        row = rows[ratio.label]
        assert "not measured" not in row, row
        assert row.rstrip(" |✓✗").endswith("x") or ratio.kind == "queries", row
    assert "## Machine" in text
    assert "not measured" not in text


def test_check_exits_non_zero_when_a_target_is_missed(tmp_path: Path) -> None:
    """``--check`` over a run without the refresh rows: its targets count as missed."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--short",
            "--check",
            "--databases",
            "sqlite",
            "--only",
            "auth",
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
    assert completed.returncode == 1, completed.stderr[-4000:]
    assert "MISSED [sqlite] bearer_auth queries per refresh: not measured" in completed.stderr
