"""Interleaved timing (``bench.timing``): a case's probe, timed inside the case's own calls.

The clock is a fake that moves only when a call spends time, so what each
batch and each probed call took is known exactly; the real probe of the
sign-in cases (``bench.cases.CHECK_PASSWORD``) is checked against Django.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest

from bench import timing
from bench.report import paired_ratio
from bench.timing import Case, CaseFailed, Probe, run_interleaved

# Query counting (CaptureQueriesContext) opens the test database's connection.
pytestmark = pytest.mark.django_db


class Clock:
    """Stands in for ``time`` in ``bench.timing``: it moves only when told to."""

    def __init__(self) -> None:
        self.ns = 0

    def perf_counter_ns(self) -> int:
        return self.ns

    def perf_counter(self) -> float:
        return self.ns / 1e9

    def spend(self, ns: int) -> bool:
        self.ns += ns
        return True


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(timing, "time", clock)
    return clock


class Hasher:
    """The probed function: each call takes a millisecond longer than the last."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.calls = 0

    def hash(self) -> None:
        self.calls += 1
        self.clock.spend(self.calls * 1_000_000)


def probe_of(hasher: Hasher, clock: Clock) -> Probe:
    """A probe timing ``hasher.hash``, the way ``bench.cases`` times ``check_password``."""

    @contextmanager
    def timing_hash() -> Iterator[list[int]]:
        durations: list[int] = []
        original = hasher.hash

        def timed() -> None:
            started = clock.perf_counter_ns()
            original()
            durations.append(clock.perf_counter_ns() - started)

        with mock.patch.object(hasher, "hash", timed):
            yield durations

    return Probe("hash", timing_hash)


def sign_in(hasher: Hasher, clock: Clock, hashes: Callable[[], int]) -> Callable[[], bool]:
    """A call that hashes ``hashes()`` times and spends 0.5 ms on everything else."""

    def call() -> bool:
        for _ in range(hashes()):
            hasher.hash()
        return clock.spend(500_000)

    return call


def test_a_probe_is_measured_with_the_batches_of_its_own_case(clock: Clock) -> None:
    hasher = Hasher(clock)
    signin = Case(
        "signin/x", sign_in(hasher, clock, lambda: 1), max_batch=3, probe=probe_of(hasher, clock)
    )
    other = Case("signin/other", lambda: clock.spend(2_000_000), max_batch=3)
    found = run_interleaved([other, signin], repeats=4, batch_seconds=1.0)
    assert list(found) == ["signin/other", "signin/x", "signin/x:hash"]
    case, probed = found["signin/x"], found["signin/x:hash"]
    assert (probed.name, probed.queries, probed.repeats, probed.batch) == ("signin/x:hash", 0, 4, 3)
    assert case.batch == 3
    # Each hash took longer than the one before, so no two batches' means
    # are alike: only a probe sample of the same batch as its case's sample
    # (and the mean per call, not the batch's sum) is 0.5 ms below it.
    assert len(set(probed.samples)) == 4
    gaps = [top - bottom for top, bottom in zip(case.samples, probed.samples, strict=True)]
    assert gaps == pytest.approx([500.0] * 4)
    ratios = [top / bottom for top, bottom in zip(case.samples, probed.samples, strict=True)]
    assert paired_ratio(case.as_dict(), probed.as_dict()) == pytest.approx(
        statistics.median(ratios)
    )


@pytest.mark.parametrize("hashes", [0, 2], ids=["never", "twice"])
def test_a_call_that_does_not_run_its_probe_once_fails_the_run(clock: Clock, hashes: int) -> None:
    hasher = Hasher(clock)
    case = Case(
        "signin/x",
        sign_in(hasher, clock, lambda: hashes),
        max_batch=3,
        probe=probe_of(hasher, clock),
    )
    with pytest.raises(CaseFailed, match=rf"^signin/x: call 1 of 3 ran hash {hashes} times"):
        run_interleaved([case], repeats=2, batch_seconds=1.0)


def test_calls_that_add_up_to_one_probe_each_still_fail_the_run(clock: Clock) -> None:
    """Twice, then never, then once: three in three calls, and never averaged into one each."""
    hasher = Hasher(clock)
    # Warm-up, query count and 3 calibration calls hash once; then the
    # batch's warm-up, then the batch of 3.
    per_call = iter([1, 1, 1, 1, 1, 1, 2, 0, 1])
    case = Case(
        "signin/x",
        sign_in(hasher, clock, lambda: next(per_call)),
        max_batch=3,
        probe=probe_of(hasher, clock),
    )
    with pytest.raises(CaseFailed, match=r"^signin/x: call 1 of 3 ran hash 2 times"):
        run_interleaved([case], repeats=1, batch_seconds=1.0)


def test_a_phase_runs_each_repeat_factors_cases_interleaved_among_themselves(
    clock: Clock,
) -> None:
    """Two slow cases run the phase's repeats; two quick ones, four times as many."""
    order: list[str] = []

    def spending(name: str, ns: int) -> Case:
        def call() -> bool:
            order.append(name)
            return clock.spend(ns)

        return Case(name, call, max_batch=1, repeat_factor=1 if ns > 1_000_000 else 4)

    slow = [spending("signin/a", 9_000_000), spending("signin/b", 9_000_000)]
    quick = [spending("refresh/a", 1_000), spending("refresh/b", 1_000)]
    found = timing.run_phase([slow[0], quick[0], slow[1], quick[1]], repeats=2, batch_seconds=1.0)
    assert {name: found[name].repeats for name in found} == {
        "signin/a": 2,
        "signin/b": 2,
        "refresh/a": 8,
        "refresh/b": 8,
    }
    # Each group in turn: the quick cases' batches alternate only with each other.
    timed = [name for name in order if name.startswith("refresh/")]
    assert order[-len(timed) :] == timed
    # A batch is its warm-up call and one timed call; the order rotates each repeat.
    batches = timed[-32:][::2]
    assert batches == ["refresh/a", "refresh/b", "refresh/b", "refresh/a"] * 4


def test_case_and_probe_names_must_not_collide(clock: Clock) -> None:
    hasher = Hasher(clock)
    probed = Case("signin/x", sign_in(hasher, clock, lambda: 1), probe=probe_of(hasher, clock))
    clash = Case("signin/x:hash", lambda: clock.spend(1))
    with pytest.raises(ValueError, match="not unique"):
        run_interleaved([probed, clash], repeats=1, batch_seconds=1.0)


def test_the_check_password_probe_times_the_check_of_authenticate(user: Any, password: str) -> None:
    from django.contrib.auth import authenticate, base_user, hashers

    from bench.cases import CHECK_PASSWORD

    with CHECK_PASSWORD.timing() as durations:
        assert authenticate(None, username=user.email, password=password) == user
        assert authenticate(None, username=user.email, password="wrong") is None
    assert len(durations) == 2
    assert all(duration > 0 for duration in durations)
    # Restored on exit: nothing is timed after the case.
    assert base_user.check_password is hashers.check_password  # type: ignore[attr-defined]
    assert user.check_password(password)
    assert len(durations) == 2


def test_queries_count_every_statement_of_an_execute_but_not_transaction_control() -> None:
    captured = [
        {"sql": "BEGIN"},
        {"sql": 'SAVEPOINT "s1"'},
        # One execute() with two statements, one of them with a ';' in a literal.
        {"sql": "UPDATE t SET v = 'a;\nb' WHERE id = 1;\nINSERT INTO t (v) VALUES ('c')"},
        {"sql": "SELECT 1"},
        {"sql": 'RELEASE SAVEPOINT "s1"'},
        {"sql": "COMMIT"},
    ]
    assert timing.statement_count(captured) == 3
