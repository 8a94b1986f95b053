"""The benchmark checks the tools it drives before it measures anything."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench import http


def test_a_missing_wrk_stops_the_run_with_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http, "WRK", str(tmp_path / "wrk"))
    with pytest.raises(SystemExit, match=r"wrk is missing; install Debian's wrk"):
        http.require_wrk()


def test_an_executable_wrk_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wrk = tmp_path / "wrk"
    wrk.write_text("#!/bin/sh\n")
    wrk.chmod(0o755)
    monkeypatch.setattr(http, "WRK", str(wrk))
    http.require_wrk()
    wrk.chmod(0o644)
    assert not os.access(wrk, os.X_OK)
    with pytest.raises(SystemExit):
        http.require_wrk()
