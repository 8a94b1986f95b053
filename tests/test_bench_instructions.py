"""Instruction counting (``bench.instructions``) without valgrind: a fake ``callgrind_control``.

The fake counts one "instruction" per call of a case while counting is on,
plus a fixed cost for switching it, and writes a dump like callgrind's on
``--dump``; what the real tool does is covered by the slow smoke test
(``tests/test_bench_smoke.py``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from bench import instructions
from bench.report import RATIOS, render
from bench.timing import Case, CaseFailed, Probe

SWITCHING = 1000  # what counting itself costs per case, in the fake's units


class FakeCallgrind:
    def __init__(self, out_pattern: Path) -> None:
        self.out = Path(str(out_pattern).replace("%p", str(os.getpid())))
        self.on = False
        self.count = 0
        self.dumps = 0
        self.hints: list[str] = []

    def tick(self, weight: int) -> None:
        if self.on:
            self.count += weight

    def __call__(self, option: str) -> None:
        if option == "--instr=on":
            self.on = True
        elif option == "--instr=off":
            self.count += SWITCHING
            self.on = False
        else:
            assert option.startswith("--dump=")
            self.hints.append(option.removeprefix("--dump="))
            self.dumps += 1
            Path(f"{self.out}.{self.dumps}").write_text(
                f"events: Ir\nsummary: 0\ntotals: {self.count}\n"
            )
            self.count = 0


@pytest.fixture
def callgrind(tmp_path: Path) -> FakeCallgrind:
    return FakeCallgrind(tmp_path / "cg.%p.out")


def test_per_call_counts_only_the_calls_less_the_cost_of_counting(callgrind, tmp_path):
    counter = instructions.Counter(str(tmp_path / "cg.%p.out"), control=callgrind)
    cheap = Case("auth/cheap", lambda: callgrind.tick(3) or True, lambda ok: ok)
    dear = Case("auth/dear", lambda: callgrind.tick(50) or True, lambda ok: ok)
    counted = instructions.per_call([cheap, dear], counter, lambda case: 10)
    # The warm-up call runs while counting is off: it is not counted.
    assert counted == {"auth/cheap": 3.0, "auth/dear": 50.0}
    assert callgrind.hints == ["empty", "auth/cheap", "empty", "auth/dear"]


def test_probes_are_not_entered_while_counting(callgrind, tmp_path):
    """Counts do not move with the machine's speed: no probe, nor its wrapper, is counted."""

    def never() -> Any:
        raise AssertionError("the probe was entered")

    counter = instructions.Counter(str(tmp_path / "cg.%p.out"), control=callgrind)
    probed = Case(
        "signin/probed", lambda: callgrind.tick(7) or True, lambda ok: ok, probe=Probe("x", never)
    )
    assert instructions.per_call([probed], counter, lambda case: 2) == {"signin/probed": 7.0}


def test_a_case_that_fails_while_counted_fails_the_run(callgrind, tmp_path):
    counter = instructions.Counter(str(tmp_path / "cg.%p.out"), control=callgrind)
    results = iter([True, True, False])  # warm-up, first counted call, last one
    flaky = Case("refresh/flaky", lambda: next(results), lambda ok: ok)
    with pytest.raises(CaseFailed, match="refresh/flaky"):
        counter.count(flaky, 2)


def test_calls_are_chosen_by_the_case_group() -> None:
    full, short = instructions.calls_for(short=False), instructions.calls_for(short=True)
    signin, auth = Case("signin/bearer", lambda: None), Case("auth/dot", lambda: None)
    assert full(signin) == 1
    assert full(auth) == 50
    assert short(auth) == 5


def test_read_totals_refuses_a_file_that_is_no_dump(tmp_path: Path) -> None:
    dump = tmp_path / "cg.out.1"
    dump.write_text("desc: Trigger: dump x\nevents: Ir\nsummary: 0\ntotals: 12345\n")
    assert instructions.read_totals(dump) == 12345
    dump.write_text("events: Ir\n")
    with pytest.raises(ValueError, match="no totals"):
        instructions.read_totals(dump)


def test_valgrind_counts_nothing_until_told(tmp_path: Path) -> None:
    command = instructions.valgrind_command(tmp_path / "x.%p.out")
    assert command[:2] == ["valgrind", "--tool=callgrind"]
    assert "--instr-atstart=no" in command


def test_the_report_shows_instruction_ratios_only_when_counted() -> None:
    result = {"database": "sqlite", "server": "sqlite 3", "measurements": {}}
    assert "Instructions per call" not in render([result], machine={}, short=True)
    counted = {"refresh/bearer": 6_000_000.0, "refresh/simplejwt": 12_000_000.0}
    text = render([{**result, "instructions": counted}], machine={}, short=True)
    section = text.split("## Instructions")[1]
    assert "| **Refresh with rotation, per request** |  |" in section
    assert "| bearer_auth ÷ simplejwt rotate + blacklist | 0.500x |" in text
    # Sections with nothing counted get no heading.
    assert "**Sign-in, per request**" not in section
    assert "| `refresh/bearer` | 6,000,000 |" in text
    # Query-count rows have no instruction ratio; unmeasured ones are left out.
    queries = next(ratio for ratio in RATIOS if ratio.kind == "queries")
    assert queries.instruction_ratio(counted) is None
    assert "strict RS256 ÷ DOT |" not in text.split("## Instructions")[1]
