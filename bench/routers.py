"""Send every query to the database a case selects, so cases on different databases interleave.

The scale cases run the same code against two databases that differ only in
how many sessions they store; the router lets one process switch between
them per batch. Outside :func:`using`, everything goes to ``default``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_active: ContextVar[str | None] = ContextVar("bench_database", default=None)


class ActiveDatabaseRouter:
    """Django database router: the alias selected by :func:`using`, else no opinion."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return _active.get()

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return _active.get()


@contextmanager
def using(alias: str) -> Iterator[None]:
    """Route every ORM and bearer_auth query to ``alias`` for the duration."""
    token = _active.set(alias)
    try:
        yield
    finally:
        _active.reset(token)
