"""Helpers of the benchmark's tests (``tests/test_bench_*.py``)."""

from __future__ import annotations

from typing import Any

from bench.timing import Case, checked


def warm_statements(case: Case) -> list[dict[str, Any]]:
    """One warm call's captured queries, as ``run_interleaved`` counts them."""
    with case.context():
        checked(case)
        with case.capture_queries() as captured:
            checked(case)
    queries: list[dict[str, Any]] = captured.captured_queries
    return queries


def measured(*samples: float, queries: int = 1) -> dict[str, Any]:
    """A case's entry in a worker's results, as ``bench.report`` reads it."""
    ordered = sorted(samples)
    return {
        "median": ordered[len(ordered) // 2],
        "low": ordered[0],
        "high": ordered[-1],
        "samples": list(samples),
        "queries": queries,
        "unit": "ms",
    }
