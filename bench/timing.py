"""Interleaved in-process timing: medians and min to max over repeats, and query counts.

Each repeat runs every case once, in an order rotated by one per repeat, so
drift (thermal, other load, caches) spreads over all cases instead of
favouring the one that ran first. A batch runs a case ``n`` times back to
back; ``n`` is calibrated once so a batch lasts about ``batch_seconds``.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from django.db import connections
from django.test.utils import CaptureQueriesContext

# Not counted as queries: transaction bookkeeping, not data access.
_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


@dataclass(frozen=True)
class Case:
    """One thing to time: ``call`` must succeed (``check`` its result) every time."""

    name: str
    call: Callable[[], Any]
    check: Callable[[Any], bool] = field(default=lambda result: True)
    context: Callable[[], AbstractContextManager[Any]] = nullcontext
    #: Largest batch; stateful cases (sign-in) keep it small.
    max_batch: int = 100_000
    #: The database alias whose queries are counted.
    database: str = "default"


@dataclass(frozen=True)
class Measurement:
    """Per-call time of a case, in microseconds, over ``repeats`` batches."""

    name: str
    median: float
    low: float
    high: float
    queries: int
    repeats: int
    batch: int
    #: One figure per round, in round order (what a paired ratio divides).
    samples: tuple[float, ...] = ()
    unit: str = "µs"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "median": self.median,
            "low": self.low,
            "high": self.high,
            "queries": self.queries,
            "repeats": self.repeats,
            "batch": self.batch,
            "samples": list(self.samples),
            "unit": self.unit,
        }


class CaseFailed(RuntimeError):
    """A case did not do what it measures (e.g. a 401 instead of a 200)."""


def run_interleaved(
    cases: Sequence[Case], *, repeats: int, batch_seconds: float
) -> dict[str, Measurement]:
    """Time every case ``repeats`` times, interleaved; return them by name."""
    batches: dict[str, int] = {}
    queries: dict[str, int] = {}
    for case in cases:
        with case.context():
            checked(case)  # warm: key caches, prepared statements, imports
            with CaptureQueriesContext(connections[case.database]) as captured:
                checked(case)
            queries[case.name] = sum(
                not query["sql"].upper().startswith(_TRANSACTION_CONTROL)
                for query in captured.captured_queries
            )
            once = min(_timed(case) for _ in range(3))
        batches[case.name] = max(1, min(case.max_batch, int(batch_seconds / max(once, 1e-7))))
    samples: dict[str, list[float]] = {case.name: [] for case in cases}
    for repeat in range(repeats):
        shift = repeat % len(cases)
        for case in [*cases[shift:], *cases[:shift]]:
            samples[case.name].append(_time_batch(case, batches[case.name]))
    return {
        case.name: Measurement(
            name=case.name,
            median=statistics.median(samples[case.name]),
            low=min(samples[case.name]),
            high=max(samples[case.name]),
            queries=queries[case.name],
            repeats=repeats,
            batch=batches[case.name],
            samples=tuple(samples[case.name]),
        )
        for case in cases
    }


def _time_batch(case: Case, size: int) -> float:
    """Return the mean time of one call over a batch of ``size``, in µs."""
    call = case.call
    with case.context():
        checked(case)  # after entering the context: its caches are warm
        gc.collect()
        started = time.perf_counter_ns()
        for _ in range(size):
            result = call()
        elapsed = time.perf_counter_ns() - started
    require_success(case, result)  # the batch really did the work measured
    return elapsed / size / 1000


def _timed(case: Case) -> float:
    started = time.perf_counter()
    checked(case)
    return time.perf_counter() - started


def checked(case: Case) -> Any:
    """Call ``case`` once and return the result, failing the run if it did not succeed."""
    result = case.call()
    require_success(case, result)
    return result


def require_success(case: Case, result: Any) -> None:
    """Raise :class:`CaseFailed` when ``result`` is not what ``case`` measures."""
    if not case.check(result):
        raise CaseFailed(f"{case.name}: unexpected result {result!r}")
