"""Instructions per call, counted by callgrind: ratios that the machine's noise does not move.

``python -m bench --instructions`` runs one more worker per database under
``valgrind --tool=callgrind --instr-atstart=no``. The worker switches
counting on around each case's calls only (``callgrind_control -i on/off``)
and dumps the count after each case (``callgrind_control -d``), so set-up,
warm-up and the other cases are not counted. What is counted is the
benchmark process's own user-space instructions: Python, Django, the
libraries, SQLite's engine. PostgreSQL's server, the kernel (``fsync``) and
time spent waiting are not. For the same code, counts agree within about 1%
between runs (hash seeds, garbage collection); the timings of one case on a
shared 2-core machine move by a third, so a change that saves 3% shows here
when the timings' spread hides it.

Instructions are not time: RSA and PBKDF2 in OpenSSL retire several
instructions per cycle, Python far fewer, so an instruction ratio is a
measure of work done, beside the time ratio, never instead of it.
"""

from __future__ import annotations

import gc
import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.timing import Case, checked, require_success

#: How many calls are counted per case, by the case name's group.
#: One sign-in is 7 billion instructions (PBKDF2), a minute under callgrind.
#: "oidc": at most bench.oidc.EXCHANGE_BATCH, the codes a context holds after its warm-up;
#: "dpop": at most bench.dpop.PROOF_BATCH, likewise the proofs.
CALLS = {
    "auth": 50,
    "floor": 50,
    "client": 30,
    "signin": 1,
    "refresh": 10,
    "oidc": 4,
    "mcp": 50,
    "dpop": 50,
    "frameworks": 50,
}
SHORT_CALLS = {
    "auth": 5,
    "floor": 5,
    "client": 5,
    "signin": 1,
    "refresh": 3,
    "oidc": 2,
    "mcp": 5,
    "dpop": 5,
    "frameworks": 5,
}
#: Where the runner tells the worker callgrind writes (``%p``: the worker's pid).
OUT_FILE_VARIABLE = "BENCH_CALLGRIND_OUT"
#: The one case that calls nothing: what counting itself costs, taken off every case.
EMPTY_CASE = Case("empty", lambda: None)


def valgrind_command(out_file: Path) -> list[str]:
    """The prefix that runs a worker under callgrind, counting nothing until told."""
    return [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out_file}",
    ]


def read_totals(dump: Path) -> int:
    """The instruction count (``totals:`` line) of one callgrind dump file."""
    for line in dump.read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise ValueError(f"{dump}: no totals line; is it a callgrind dump?")


class Counter:
    """Count the instructions of a case's calls in a worker running under callgrind."""

    def __init__(self, out_file: str, control: Callable[[str], None] | None = None) -> None:
        self._out = Path(out_file.replace("%p", str(os.getpid())))
        self._dumps = 0
        self._control = control or _callgrind_control

    def count(self, case: Case, calls: int) -> int:
        """Instructions of ``calls`` calls of ``case`` (warmed up first, checked after).

        A case's :class:`~bench.timing.Probe` is not entered: counts do not
        move with the machine's speed, so a sign-in's count is divided by a
        separate ``check_password``'s, and the probe's wrapper is not counted.
        """
        with case.context():
            checked(case)  # warm: caches, imports, psycopg's prepared statements if on
            gc.collect()  # as before a timed batch: no collection owed by earlier cases
            self._control("--instr=on")
            for _ in range(calls):
                result = case.call()
            self._control("--instr=off")
            self._control(f"--dump={case.name}")
        require_success(case, result)
        self._dumps += 1
        return read_totals(Path(f"{self._out}.{self._dumps}"))


def per_call(
    cases: Sequence[Case], counter: Counter, calls: Callable[[Case], int]
) -> dict[str, float]:
    """Instructions per call of each case, less what counting an empty call costs."""
    found = {}
    for case in cases:
        number = calls(case)
        overhead = counter.count(EMPTY_CASE, number)
        found[case.name] = (counter.count(case, number) - overhead) / number
    return found


def calls_for(*, short: bool) -> Callable[[Case], int]:
    """How many calls to count for a case, by its group (the part before ``/``)."""
    table = SHORT_CALLS if short else CALLS

    def calls(case: Case) -> int:
        return table[case.name.split("/", 1)[0]]

    return calls


def _callgrind_control(option: str) -> None:
    subprocess.run(
        ["callgrind_control", option, str(os.getpid())],
        check=True,
        capture_output=True,
        text=True,
    )
