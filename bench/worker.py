"""One run, in its own process: ``python -m bench.worker --database sqlite``.

A run is one database on the Django of the interpreter running the worker.
Django is configured once per process, so the runner (:mod:`bench.__main__`)
starts one worker per database and interpreter and merges their JSON results;
each result names its Python, its packages' versions and its database server.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

#: bench.settings.SCALE_DATABASES (the settings module is only imported once configured).
SCALE_ALIASES = ("scale_small", "scale_large")
DEFAULT_DIR = Path(tempfile.gettempdir()) / "bearer-auth-bench"


@dataclass(frozen=True)
class Plan:
    """How long and how large: the full run, or the short CI smoke run."""

    repeats: int
    batch_seconds: float
    slow_repeats: int  # sign-in: each call hashes a password
    http_seconds: int
    http_repeats: int
    scale_small: int
    scale_large: int


FULL = Plan(
    repeats=31,
    batch_seconds=0.02,
    # Sign-in: one call a repeat. The judged ratio (each sign-in ÷ its own
    # password check) is steady; the one to a separate check_password call,
    # still reported, swings from 0.7 to 1.5 a repeat on a machine whose
    # speed changes mid-run, and twice the repeats halve its median's variance.
    slow_repeats=61,
    http_seconds=2,
    http_repeats=9,
    scale_small=1_000,
    scale_large=100_000,
)
SHORT = Plan(
    repeats=2,
    batch_seconds=0.005,
    slow_repeats=1,
    http_seconds=1,
    http_repeats=1,
    scale_small=50,
    scale_large=500,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/ba_bench")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--short", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated phases to run")
    parser.add_argument("--cases", default="", help="comma-separated case-name prefixes")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions per call (run under callgrind by the runner) instead of timing",
    )
    args = parser.parse_args(argv)
    plan = SHORT if args.short else FULL
    args.dir.mkdir(parents=True, exist_ok=True)
    write_keys(args.dir)
    os.environ["BENCH_DIR"] = str(args.dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    if args.database == "postgres":
        os.environ["BENCH_DATABASE_URL"] = args.postgres_url
        for suffix in ("", *(f"_{alias}" for alias in SCALE_ALIASES)):
            recreate_postgres_database(f"{args.postgres_url}{suffix}")
    else:
        os.environ.pop("BENCH_DATABASE_URL", None)
        for name in ("bench", *(f"bench-{alias}" for alias in SCALE_ALIASES)):
            for suffix in ("", "-wal", "-shm", "-journal"):
                (args.dir / f"{name}.sqlite3{suffix}").unlink(missing_ok=True)
    phases = set(filter(None, args.only.split(","))) or {
        "auth",
        "signin",
        "refresh",
        "oidc",
        "mcp",
        "cookie",
        "dpop",
        "frameworks",
        "http",
        "scale",
    }
    prefixes = tuple(filter(None, args.cases.split(",")))
    if args.instructions:
        result = count(args.database, phases, prefixes, short=args.short)
    else:
        result = run(args.database, plan, phases, args.dir, prefixes)
    args.output.write_text(json.dumps(result, indent=2))
    return 0


def run(
    database: str,
    plan: Plan,
    phases: set[str],
    directory: Path,
    prefixes: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Measure ``phases``; with ``prefixes``, only the cases whose names start with one."""
    data = _set_up()
    import django

    from bench.timing import run_phase

    if phases & {"http", "frameworks"}:
        from bench import http

        http.require_wrk()  # before minutes of in-process phases, not after them

    label = f"{database}, Django {django.get_version()}"

    measurements: dict[str, Any] = {}
    selected = _selector(prefixes)
    repeats = {
        "auth": plan.repeats,
        "signin": plan.slow_repeats,
        "refresh": plan.repeats,
        "oidc": plan.repeats,
        "mcp": plan.repeats,
        # Sign-ins in it: as many repeats as the sign-in phase's.
        "cookie": plan.slow_repeats,
        "dpop": plan.repeats,
        "frameworks": plan.repeats,
    }
    for phase, build in in_process_phases(data).items():
        group = [case for case in build() if selected(case.name)] if phase in phases else []
        if group:
            started = time.monotonic()
            found = run_phase(group, repeats=repeats[phase], batch_seconds=plan.batch_seconds)
            measurements.update({key: value.as_dict() for key, value in found.items()})
            _log(f"{label}: {phase} done in {time.monotonic() - started:.0f}s")
    if "http" in phases:
        started = time.monotonic()
        measurements.update(http.run_http(data, plan=plan, directory=directory, selected=selected))
        _log(f"{label}: gunicorn done in {time.monotonic() - started:.0f}s")
    if "frameworks" in phases:
        from bench import frameworks

        started = time.monotonic()
        measurements.update(
            frameworks.run_http(data, plan=plan, directory=directory, selected=selected)
        )
        _log(f"{label}: frameworks' servers done in {time.monotonic() - started:.0f}s")
    if "scale" in phases:
        from bench import scale

        measurements.update(scale.run_scale(plan=plan, log=_log, selected=selected))
    return _result(database, measurements=measurements)


def count(
    database: str, phases: set[str], prefixes: tuple[str, ...], *, short: bool
) -> dict[str, Any]:
    """Count the instructions per call of the in-process cases of ``phases``."""
    data = _set_up()
    from bench import instructions

    counter = instructions.Counter(os.environ[instructions.OUT_FILE_VARIABLE])
    selected = _selector(prefixes)
    counted: dict[str, float] = {}
    for phase, build in in_process_phases(data).items():
        if phase not in phases:
            continue
        started = time.monotonic()
        group = [case for case in build() if selected(case.name)]
        counted.update(instructions.per_call(group, counter, instructions.calls_for(short=short)))
        _log(f"{database}: {phase} instructions counted in {time.monotonic() - started:.0f}s")
    return _result(database, measurements={}, instructions=counted)


def in_process_phases(data: Any) -> dict[str, Callable[[], list[Any]]]:
    """The in-process phases and their cases (built when called): timed or counted."""
    from bench import cases, cookie, dpop, frameworks, mcp, oidc

    return {
        "auth": lambda: cases.authenticate_cases(data) + cases.client_cases(data),
        "signin": lambda: cases.sign_in_cases(data),
        "refresh": lambda: cases.refresh_cases(data),
        "oidc": lambda: oidc.oidc_cases(data),
        "mcp": lambda: mcp.mcp_cases(data),
        "cookie": lambda: cookie.cookie_cases(data),
        "dpop": lambda: dpop.dpop_cases(data),
        "frameworks": lambda: frameworks.frameworks_cases(data),
    }


def _selector(prefixes: tuple[str, ...]) -> Callable[[str], bool]:
    """Whether a case name is measured: every one, or those starting with a prefix."""

    def selected(name: str) -> bool:
        return not prefixes or name.startswith(prefixes)

    return selected


def _set_up() -> Any:
    """Configure Django, migrate the benchmark's database, create the fixtures."""
    import django

    django.setup()
    from django.core.management import call_command

    from bench import fixtures

    call_command("migrate", verbosity=0)
    return fixtures.create_fixtures()


def _result(database: str, **parts: Any) -> dict[str, Any]:
    from django.db import connection

    from bench.report import installed_versions

    return {
        "database": database,
        "server": f"{connection.vendor} {_server_version(connection)}",
        "python": platform.python_version(),
        "packages": installed_versions(),
        **parts,
    }


def write_keys(directory: Path) -> None:
    """Generate the benchmark's RSA, P-256 and Ed25519 keys once per directory."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    makers = {
        "rs256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "es256": lambda: ec.generate_private_key(ec.SECP256R1()),
        "eddsa": ed25519.Ed25519PrivateKey.generate,
    }
    for name, make in makers.items():
        path = directory / f"{name}.pem"
        if not path.exists():
            path.write_bytes(
                make().private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )


def recreate_postgres_database(url: str) -> None:
    """Drop and create the benchmark's own database (never anyone else's)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.startswith("ba_bench"):
        raise SystemExit(f"refusing to recreate {name!r}: the benchmark's database is ba_bench*")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _server_version(connection: Any) -> str:
    if connection.vendor == "sqlite":
        import sqlite3

        return sqlite3.sqlite_version
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return str(cursor.fetchone()[0])


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
