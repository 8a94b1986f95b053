"""Interleaved in-process timing: medians and min to max over repeats, and query counts.

Each repeat runs every case once, in an order rotated by one per repeat, so
drift (thermal, other load, caches) spreads over all cases instead of
favouring the one that ran first. A batch runs a case ``n`` times back to
back; ``n`` is calibrated once so a batch lasts about ``batch_seconds``.

A case may carry a :class:`Probe`: one function every call of the case calls
exactly once, timed inside the timed calls, so a ratio can divide each batch
by the part of the same batch it is measured against (sign-in ÷ its own
password check) instead of by another case run seconds away.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import sqlparse
from django.db import connections
from django.test.utils import CaptureQueriesContext

# Not counted as queries: transaction bookkeeping, not data access.
_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


@dataclass(frozen=True)
class Probe:
    """One function each call of a case calls exactly once, timed while the case is.

    ``timing()`` returns a context that, while entered, appends the duration
    of each call of that function, in nanoseconds, to the list it yields.
    """

    name: str
    timing: Callable[[], AbstractContextManager[list[int]]]


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
    #: Timed inside every timed call; measured as ``f"{name}:{probe.name}"``.
    probe: Probe | None = None
    #: Captures one call's statements where the case sends them; ``None``:
    #: ``database``'s connection in the calling thread (a case whose queries
    #: run in another thread, such as ``sync_to_async``'s, captures them there).
    queries: Callable[[], AbstractContextManager[CaptureQueriesContext]] | None = None
    #: Repeats of this case per repeat of its phase (:func:`run_phase`): a
    #: cheap case whose ratio is noisy gets more repeats than a slow one beside it.
    repeat_factor: int = 1

    def capture_queries(self) -> AbstractContextManager[CaptureQueriesContext]:
        """A context capturing the statements of the calls made while it is entered."""
        if self.queries is not None:
            return self.queries()
        return CaptureQueriesContext(connections[self.database])

    @property
    def probe_name(self) -> str | None:
        """The name of the probe's measurement, if the case has a probe."""
        return None if self.probe is None else f"{self.name}:{self.probe.name}"


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
    """Time every case ``repeats`` times, interleaved; return them (and their probes) by name."""
    names = [name for case in cases for name in (case.name, case.probe_name) if name]
    if len(set(names)) != len(names):
        raise ValueError(f"case and probe names are not unique: {names}")
    batches: dict[str, int] = {}
    queries: dict[str, int] = {}
    for case in cases:
        with case.context():
            checked(case)  # warm: key caches, imports, psycopg's prepared statements if on
            with case.capture_queries() as captured:
                checked(case)
            queries[case.name] = statement_count(captured.captured_queries)
            once = min(_timed(case) for _ in range(3))
        batches[case.name] = max(1, min(case.max_batch, int(batch_seconds / max(once, 1e-7))))
    samples: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(repeats):
        shift = repeat % len(cases)
        for case in [*cases[shift:], *cases[:shift]]:
            sample, probed = _time_batch(case, batches[case.name])
            samples[case.name].append(sample)
            if case.probe_name is not None and probed is not None:
                # Appended with its case's sample: round r of both is one batch.
                samples[case.probe_name].append(probed)
    found: dict[str, Measurement] = {}
    for case in cases:
        found[case.name] = _measurement(
            case.name, samples[case.name], queries[case.name], batches[case.name]
        )
        if case.probe_name is not None:
            # The probed function's own queries are inside its case's count.
            found[case.probe_name] = _measurement(
                case.probe_name, samples[case.probe_name], 0, batches[case.name]
            )
    return found


def run_phase(
    cases: Sequence[Case], *, repeats: int, batch_seconds: float
) -> dict[str, Measurement]:
    """:func:`run_interleaved` for each group of cases of one ``repeat_factor``, in turn.

    A group runs ``repeats * repeat_factor`` times, interleaved within itself
    only: no ratio may pair two cases of different factors.
    """
    factors = list(dict.fromkeys(case.repeat_factor for case in cases))
    found: dict[str, Measurement] = {}
    for factor in factors:
        group = [case for case in cases if case.repeat_factor == factor]
        found.update(run_interleaved(group, repeats=repeats * factor, batch_seconds=batch_seconds))
    return found


def statement_count(captured: Sequence[Mapping[str, Any]]) -> int:
    """The SQL statements among captured queries, leaving out transaction control.

    One ``execute()`` that sends several statements counts each.
    """
    return sum(
        not statement.upper().startswith(_TRANSACTION_CONTROL)
        for query in captured
        for statement in sqlparse.split(query["sql"])
    )


def _measurement(name: str, samples: list[float], queries: int, batch: int) -> Measurement:
    return Measurement(
        name=name,
        median=statistics.median(samples),
        low=min(samples),
        high=max(samples),
        queries=queries,
        repeats=len(samples),
        batch=batch,
        samples=tuple(samples),
    )


def _time_batch(case: Case, size: int) -> tuple[float, float | None]:
    """Return the mean time of one call over a batch of ``size``, in µs, and of its probe's.

    The probe's figure is ``None`` when the case has no probe.
    """
    call = case.call
    probe = case.probe
    with case.context():
        checked(case)  # after entering the context: its caches are warm
        gc.collect()
        if probe is None:
            started = time.perf_counter_ns()
            for _ in range(size):
                result = call()
            elapsed = time.perf_counter_ns() - started
        else:
            # Entered around the timed calls only: the warm-up call is not probed.
            with probe.timing() as durations:
                counts: list[int] = []
                started = time.perf_counter_ns()
                for _ in range(size):
                    result = call()
                    # After every call: two checks in one call and none in
                    # the next would add up to one each over the batch.
                    counts.append(len(durations))
                elapsed = time.perf_counter_ns() - started
    require_success(case, result)  # the batch really did the work measured
    if probe is None:
        return elapsed / size / 1000, None
    per_call = [after - before for before, after in pairwise([0, *counts])]
    for number, times in enumerate(per_call, start=1):
        if times != 1:
            # Averaged, a call that checked twice (or never) would pass for one.
            raise CaseFailed(
                f"{case.name}: call {number} of {size} ran {probe.name} {times} times, not once"
            )
    return elapsed / size / 1000, sum(durations) / size / 1000


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
