"""The bounded mixed load run: sign-in, refresh and API traffic against gunicorn.

Run it by hand (PostgreSQL and Redis on 127.0.0.1, an existing empty database)::

    createdb -h 127.0.0.1 -U postgres ba_load
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ba_load \\
    REDIS_URL=redis://127.0.0.1:6379/9 \\
    .venv/bin/python -m tests.load.mixed --seconds 60

It migrates the database, creates the accounts, serves ``tests.urls`` with
gunicorn (4 sync workers) and sends, from 16 client threads, 1% sign-ins,
5% refreshes and 94% API requests, each client keeping its own session. It
prints the answers per operation and status, the 5xx count, lost sessions
(a refresh or API request refused for a token the client holds legitimately)
and p50/p99 latencies; the exit status is 1 when any 5xx or lost session
occurred. ``--rotate-at N`` rotates the signing key N seconds in, from
another process. ``test_mixed_load.py`` runs the same for 20 seconds in CI,
with a rotation.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
API = "/test-api/whoami/"
SIGN_IN = "/auth/token/"
REFRESH = "/auth/token/refresh/"
#: Share of each operation in the mix.
WEIGHTS = {"sign-in": 0.01, "refresh": 0.05, "api": 0.94}


@dataclass
class LoadReport:
    """What the run saw: every answer, its latency, and every broken promise."""

    seconds: float
    answers: Counter[tuple[str, int]] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    lost_sessions: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.answers.values())

    @property
    def server_errors(self) -> int:
        return sum(count for (_, status), count in self.answers.items() if status >= 500)

    def percentiles(self, operation: str) -> tuple[float, float]:
        """Return (p50, p99) of ``operation`` in milliseconds."""
        values = sorted(self.latencies.get(operation, [0.0]))
        if len(values) < 2:
            return values[0] * 1000, values[0] * 1000
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        return cuts[49] * 1000, cuts[98] * 1000

    def summary(self) -> str:
        lines = [
            f"mixed load: {self.total} requests in {self.seconds:.0f} s "
            f"({self.total / self.seconds:.0f}/s), 5xx: {self.server_errors}, "
            f"lost sessions: {len(self.lost_sessions)}"
        ]
        for (operation, status), count in sorted(self.answers.items()):
            lines.append(f"  {operation:8} {status}: {count}")
        for operation in WEIGHTS:
            p50, p99 = self.percentiles(operation)
            lines.append(f"  {operation:8} p50 {p50:7.1f} ms   p99 {p99:7.1f} ms")
        lines.extend(f"  lost: {reason}" for reason in self.lost_sessions[:10])
        return "\n".join(lines)


class _Client:
    """One user agent: its own account, its own current token pair."""

    def __init__(self, base_url: str, email: str, password: str, report: LoadReport) -> None:
        self.base_url = base_url
        self.email = email
        self.password = password
        self.report = report
        self.http = requests.Session()
        self.pair: dict[str, Any] | None = None
        self.lock = threading.Lock()

    def _send(self, operation: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        started = time.perf_counter()
        response = self.http.request(method, self.base_url + path, timeout=30, **kwargs)
        elapsed = time.perf_counter() - started
        with self.lock:
            self.report.answers[(operation, response.status_code)] += 1
            self.report.latencies.setdefault(operation, []).append(elapsed)
        return response

    def sign_in(self) -> None:
        response = self._send(
            "sign-in", "POST", SIGN_IN, json={"email": self.email, "password": self.password}
        )
        if response.status_code == 200:
            self.pair = response.json()
        else:
            self.report.lost_sessions.append(f"sign-in {response.status_code} for {self.email}")

    def refresh(self) -> None:
        assert self.pair is not None
        response = self._send(
            "refresh", "POST", REFRESH, json={"refresh_token": self.pair["refresh_token"]}
        )
        if response.status_code == 200:
            self.pair = response.json()
        else:
            self.report.lost_sessions.append(f"refresh {response.status_code} for {self.email}")
            self.pair = None

    def call_api(self) -> None:
        assert self.pair is not None
        headers = {"Authorization": f"Bearer {self.pair['access_token']}"}
        response = self._send("api", "GET", API, headers=headers)
        if response.status_code != 200:
            self.report.lost_sessions.append(f"api {response.status_code} for {self.email}")
            self.pair = None

    def run(self, deadline: float, rng: random.Random) -> None:
        while time.monotonic() < deadline:
            draw = rng.random()
            if self.pair is None or draw < WEIGHTS["sign-in"]:
                self.sign_in()
            elif draw < WEIGHTS["sign-in"] + WEIGHTS["refresh"]:
                self.refresh()
            else:
                self.call_api()


def run_mixed_load(
    base_url: str,
    accounts: Sequence[tuple[str, str]],
    *,
    seconds: float,
    clients: int = 16,
    seed: int = 2026,
) -> LoadReport:
    """Drive ``base_url`` for ``seconds`` from ``clients`` threads; return the report."""
    report = LoadReport(seconds=seconds)
    shared_lock = threading.Lock()
    agents = [
        _Client(base_url, *accounts[index % len(accounts)], report=report)
        for index in range(clients)
    ]
    for agent in agents:
        agent.lock = shared_lock
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(target=agent.run, args=(deadline, random.Random(seed + index)))
        for index, agent in enumerate(agents)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    return report


@contextmanager
def key_rotation_after(seconds: float, *, database_url: str, redis_url: str) -> Iterator[None]:
    """Run ``manage.py bearer_keys rotate`` in its own process ``seconds`` into the block.

    As an operator would, from another host: the gunicorn workers learn of
    the new key only through the key-set version they read from the database.
    """

    def rotate() -> None:
        time.sleep(seconds)
        subprocess.run(
            [sys.executable, "-m", "django", "bearer_keys", "rotate"],
            env=_server_env(database_url, redis_url),
            cwd=ROOT,
            check=True,
            capture_output=True,
        )

    thread = threading.Thread(target=rotate)
    thread.start()
    try:
        yield
    finally:
        thread.join(timeout=seconds + 60)


def _server_env(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.load.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PYTHONUNBUFFERED": "1",
    }


@contextmanager
def gunicorn(*, database_url: str, redis_url: str, port: int, workers: int = 4) -> Iterator[str]:
    """Serve ``tests.urls`` with gunicorn on 127.0.0.1; yield its base URL."""
    env = _server_env(database_url, redis_url)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--chdir",
            str(ROOT),
            "--log-level",
            "warning",
            "django.core.wsgi:get_wsgi_application()",
        ],
        env=env,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(base_url, process)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def _wait_until_serving(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited before serving")
        try:
            if requests.get(base_url + "/.well-known/jwks.json", timeout=10).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)  # gunicorn is still binding; poll again shortly
    raise RuntimeError("gunicorn did not answer within 60 s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prepare_database(accounts: int, password: str) -> list[tuple[str, str]]:
    """Migrate the database and create ``accounts`` users (in this process)."""
    import django
    from django.core.management import call_command

    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.load.settings"
    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    from django.contrib.auth import get_user_model

    from bearer_auth import keys
    from tests.factories import UserFactory

    users = []
    for index in range(accounts):
        email = f"load-{index}@example.com"
        user = get_user_model()._default_manager.filter(email=email).first()
        users.append(user or UserFactory(email=email, password=password))
    keys.current_signing_key()
    return [(user.get_username(), password) for user in users]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--rotate-at", type=float, default=None, help="rotate the signing key after N seconds"
    )
    args = parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith("postgres") or not redis_url:
        parser.error("set DATABASE_URL=postgres://… and REDIS_URL=redis://…")
    accounts = _prepare_database(64, "load-password-0123")
    with gunicorn(
        database_url=database_url, redis_url=redis_url, port=free_port(), workers=args.workers
    ) as base_url:
        rotation = (
            key_rotation_after(args.rotate_at, database_url=database_url, redis_url=redis_url)
            if args.rotate_at is not None
            else nullcontext()
        )
        with rotation:
            report = run_mixed_load(base_url, accounts, seconds=args.seconds, clients=args.clients)
    print(report.summary())
    return 1 if report.server_errors or report.lost_sessions else 0


if __name__ == "__main__":
    raise SystemExit(main())
