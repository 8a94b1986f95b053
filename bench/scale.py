"""Scale: authenticate and refresh with few vs many stored sessions (token families).

Two extra databases with the same schema hold ``scale_small`` and
``scale_large`` sessions; :mod:`bench.routers` sends each case's queries to
its database, so the small and large cases interleave like every other
case. Each lookup is by an indexed checksum: the ratio should stay near 1.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.test import Client

from bench import cases
from bench.fixtures import create_fixtures, seed_sessions
from bench.routers import using
from bench.timing import Case, run_interleaved


def run_scale(
    *, plan: Any, log: Callable[[str], None], selected: Callable[[str], bool]
) -> dict[str, Any]:
    sizes = dict(zip(settings.SCALE_DATABASES, (plan.scale_small, plan.scale_large), strict=True))
    group: list[Case] = []
    found: dict[str, Any] = {}
    for alias, size in sizes.items():
        label = alias.removeprefix("scale_")
        started = time.monotonic()
        call_command("migrate", database=alias, verbosity=0)
        with using(alias):
            fixtures = create_fixtures()
            seed_sessions(size)
            settle(alias)
            refresh = cases.bearer_refresh_case(
                f"scale/refresh-{label}", Client(), cases.sign_in_refresh_token(fixtures)
            )
            [strict] = [
                case
                for case in cases.authenticate_cases(fixtures)
                if case.name == "auth/bearer-strict-RS256"
            ]
        log(f"scale: {size:,} sessions stored in {time.monotonic() - started:.0f}s")
        context = partial(using, alias)
        group += [
            replace(strict, name=f"scale/authenticate-{label}", context=context, database=alias),
            replace(refresh, context=context, database=alias),
        ]
        found[f"scale/sessions-{label}"] = {"name": f"scale/sessions-{label}", "count": size}
    group = [case for case in group if selected(case.name)]
    if not group:
        return found
    measured = run_interleaved(group, repeats=plan.repeats, batch_seconds=plan.batch_seconds)
    found.update({name: value.as_dict() for name, value in measured.items()})
    return found


def settle(alias: str) -> None:
    """On PostgreSQL, ``VACUUM ANALYZE`` a freshly loaded database before it is timed.

    That is what autovacuum does to a table once it has grown by that many
    rows: statistics and the visibility map, as a database in service has
    them. Done here, no autovacuum worker starts on the 100,000 new rows
    while the cases are timed, on a machine with two cores. SQLite keeps no
    statistics unless asked (``ANALYZE``), and a deployment does not ask.
    """
    connection = connections[alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
