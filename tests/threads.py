"""Real concurrency for the PostgreSQL tests: jobs in threads released together."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def run_together(*jobs: Callable[[], Any], timeout: float = 120) -> list[Any]:
    """Run ``jobs`` in threads released at once by a barrier; return their results in order.

    Each thread has its own database connection, closed when its job ends. A
    job that raises fails the caller's test (exceptions are never swallowed).
    """
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def worker(index: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = job()
        except Exception as exc:  # reported below, never swallowed
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads)
    assert not [result for result in results if isinstance(result, Exception)], results
    return results
