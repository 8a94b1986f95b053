"""Through gunicorn: requests per second with wrk on 127.0.0.1, against the no-auth view.

gunicorn servers (2 sync workers each) serve the benchmark project on the
worker's database, one per bearer_auth configuration: strict mode and
stateless mode, each also with the verified-token cache off (``-verify``:
every request checks the signature). wrk is bounded (one thread, four
connections, a fixed duration); URLs are interleaved, a repeat at a time, and
the idle servers cost nothing.
"""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.fixtures import Fixtures

WRK = "/usr/bin/wrk"
WORKERS = 2
CONNECTIONS = 4
_RPS = re.compile(r"Requests/sec:\s+([0-9.]+)")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass(frozen=True)
class Target:
    """One row of the gunicorn table: a URL on a server, with its credentials."""

    name: str
    # The server: bearer_auth's VERIFY_MODE, "-verify" with the cache off.
    mode: str
    path: str
    token: str | None


def targets(fixtures: Fixtures) -> list[Target]:
    return [
        Target("http/none", "strict", "/api/none/", None),
        Target("http/bearer-strict-RS256", "strict", "/api/bearer/", fixtures.bearer["RS256"]),
        Target(
            "http/bearer-strict-verify-RS256",
            "strict-verify",
            "/api/bearer/",
            fixtures.bearer["RS256"],
        ),
        Target(
            "http/bearer-stateless-RS256", "stateless", "/api/bearer/", fixtures.bearer["RS256"]
        ),
        Target(
            "http/bearer-stateless-verify-RS256",
            "stateless-verify",
            "/api/bearer/",
            fixtures.bearer["RS256"],
        ),
        Target("http/simplejwt-HS256", "strict", "/api/simplejwt/", fixtures.simplejwt_hs256),
        Target(
            "http/simplejwt-stateless",
            "strict",
            "/api/simplejwt-stateless/",
            fixtures.simplejwt_hs256,
        ),
        Target("http/dot", "strict", "/api/dot/", fixtures.dot),
        # The floor, served beside bearer_auth's stateless case.
        Target("http/pyjwt-RS256", "stateless", "/api/pyjwt-rs256/", fixtures.bearer["RS256"]),
    ]


def run_http(
    fixtures: Fixtures, *, plan: Any, directory: Path, selected: Callable[[str], bool]
) -> dict[str, dict[str, Any]]:
    """Measure every ``selected`` target; return requests/s (median, min, max) by name."""
    rows = [row for row in targets(fixtures) if selected(row.name)]
    with ExitStack() as stack:
        ports = {
            mode: stack.enter_context(gunicorn(mode, directory=directory))
            for mode in sorted({row.mode for row in rows})
        }
        return measure(rows, ports, plan=plan)


def measure(
    rows: list[Target], ports: Mapping[str, int], *, plan: Any
) -> dict[str, dict[str, Any]]:
    """wrk each of ``rows`` against ``ports[row.mode]``, rotating their order per repeat.

    Every server is warmed first (imports, key cache, connections); the
    result is requests/s by name: median, min, max and the samples.
    """
    samples: dict[str, list[float]] = {row.name: [] for row in rows}
    for row in rows:
        wrk(ports[row.mode], row, seconds=1)
    for repeat in range(plan.http_repeats):
        shift = repeat % len(rows)
        for row in [*rows[shift:], *rows[:shift]]:
            samples[row.name].append(wrk(ports[row.mode], row, seconds=plan.http_seconds))
    return {
        name: {
            "name": name,
            "median": statistics.median(values),
            "low": min(values),
            "high": max(values),
            "queries": None,
            "repeats": len(values),
            "batch": None,
            "samples": values,
            "unit": "req/s",
        }
        for name, values in samples.items()
    }


@contextmanager
def gunicorn(mode: str, *, directory: Path, workers: int = WORKERS) -> Iterator[int]:
    """Serve the benchmark project with ``workers`` gunicorn sync workers in ``mode``: the port."""
    suffix = "" if workers == WORKERS else f"-{workers}w"
    port = free_port()
    command = [
        "gunicorn",
        "bench.wsgi:application",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]
    with served(command, port=port, mode=mode, log=directory / f"gunicorn-{mode}{suffix}.log"):
        yield port


@contextmanager
def served(command: list[str], *, port: int, mode: str, log: Path) -> Iterator[None]:
    """Run ``python -m <command>`` serving the benchmark project in ``mode`` on ``port``.

    ``mode`` is ``strict`` or ``stateless``, ``-verify`` added for the
    verified-token cache off. Waits until the port answers; the server's
    output goes to ``log``; stopped on exit.
    """
    verify_mode, _, verify_every_request = mode.partition("-")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "BENCH_VERIFY_MODE": verify_mode,
        "BENCH_VERIFIED_TOKEN_CACHE_SIZE": "0" if verify_every_request else "",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", *command], env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            wait_until_up(port, process.poll)
            yield
        finally:
            process.terminate()
            process.wait(timeout=30)


def require_wrk() -> None:
    """Fail at once when wrk is missing (Debian's package ``wrk``)."""
    if not os.access(WRK, os.X_OK):
        raise SystemExit(f"bench: {WRK} is missing; install Debian's wrk (apt-get install wrk)")


def wrk(port: int, target: Target, *, seconds: int) -> float:
    """Run wrk against ``target``; return requests/s. Any error response is a failure."""
    command = [WRK, "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s"]
    if target.token:
        command += ["-H", f"Authorization: Bearer {target.token}"]
    command.append(f"http://127.0.0.1:{port}{target.path}")
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    non_2xx = _NON_2XX.search(output)
    errors = _ERRORS.search(output)
    if non_2xx or (errors and any(int(count) for count in errors.groups()[:3])):
        raise RuntimeError(f"{target.name}: wrk saw failures:\n{output}")
    found = _RPS.search(output)
    if found is None:
        raise RuntimeError(f"{target.name}: no requests/s in wrk's output:\n{output}")
    return float(found.group(1))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_up(port: int, exited: Callable[[], int | None]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if exited() is not None:
            raise RuntimeError("the server exited; see its log in the benchmark directory")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/none/", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not answer within 60 s")
