"""Scale: authenticate and refresh with few vs many stored sessions (token families).

The same two cases are timed with ``scale_small`` sessions in the tables,
then again after bulk-inserting up to ``scale_large``; each lookup is by an
indexed checksum, so the ratio should stay near 1. (The two sizes share one
database, so they run one after the other rather than interleaved.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from django.db.models import Count
from django.test import Client

from bearer_auth.models import TokenSession
from bench import cases
from bench.fixtures import Fixtures, seed_sessions
from bench.timing import run_interleaved


def run_scale(fixtures: Fixtures, *, plan: Any, log: Callable[[str], None]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    refresh = cases.bearer_refresh_case(
        "scale/refresh", Client(), cases.sign_in_refresh_token(fixtures)
    )
    for label, size in (("small", plan.scale_small), ("large", plan.scale_large)):
        started = time.monotonic()
        seed_sessions(size - _stored_sessions())
        log(f"scale: {size} sessions stored in {time.monotonic() - started:.0f}s")
        group = [
            replace(case, name=f"scale/{name}-{label}")
            for name, case in (
                ("authenticate", _strict_case(fixtures)),
                ("refresh", refresh),
            )
        ]
        measured = run_interleaved(group, repeats=plan.repeats, batch_seconds=plan.batch_seconds)
        found.update({name: value.as_dict() for name, value in measured.items()})
        found[f"scale/sessions-{label}"] = {"name": f"scale/sessions-{label}", "count": size}
    return found


def _stored_sessions() -> int:
    return int(TokenSession.objects.aggregate(count=Count("pk"))["count"])


def _strict_case(fixtures: Fixtures) -> cases.Case:
    [case] = [c for c in cases.authenticate_cases(fixtures) if c.name == "auth/bearer-strict-RS256"]
    return case
