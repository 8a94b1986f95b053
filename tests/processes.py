"""Run the README's commands as a user would, in a child process group."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_ports(count: int) -> list[int]:
    """``count`` different free ports (each socket stays bound until all are chosen)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def free_port() -> int:
    return free_ports(1)[0]


def venv_dir() -> str:
    """The virtualenv running the tests, so ``make`` reuses it instead of building one."""
    return sys.prefix


@dataclass(frozen=True)
class DemoServer:
    base_url: str
    email: str
    password: str
    output: Path
    #: The demo single-page app's origin with ``/`` (``make demo`` only; gunicorn serves no SPA).
    spa_url: str | None = None


def wait_for_server(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Wait until ``url`` answers 200; fail with the server's log if it exits or never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310  loopback only
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError(f"server did not answer at {url} in {timeout}s:\n{log.read_text()}")


def child_env(tmp_path: Path, env: dict[str, str] | None) -> dict[str, str]:
    """The caller's environment on a fresh SQLite file, without the test run's own settings."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    environment.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        PYTHONUNBUFFERED="1",
        **(env or {}),
    )
    return environment


def _printed_server(port: int, log: Path) -> DemoServer:
    text = log.read_text()
    email = re.search(r"email:\s+(\S+)", text)
    password = re.search(r"password:\s+(\S+)", text)
    if not (email and password):
        raise RuntimeError(f"the demo printed no credentials:\n{text}")
    return DemoServer(f"http://127.0.0.1:{port}", email.group(1), password.group(1), log)


@contextmanager
def run_make_demo(tmp_path: Path, *, env: dict[str, str] | None = None) -> Iterator[DemoServer]:
    """Run ``make demo`` on a fresh SQLite file and yield the printed superuser.

    The API and the single-page app each get a free port.
    """
    port, spa_port = free_ports(2)
    log = tmp_path / "demo.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                "make",
                "--no-print-directory",
                "demo",
                f"VENV={venv_dir()}",
                f"PORT={port}",
                f"SPA_PORT={spa_port}",
            ],
            cwd=ROOT,
            env=child_env(tmp_path, env),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_server(f"http://127.0.0.1:{port}/", process, log, timeout=180)
        spa_url = f"http://127.0.0.1:{spa_port}/"
        wait_for_server(spa_url, process, log, timeout=30)
        yield replace(_printed_server(port, log), spa_url=spa_url)
    finally:
        stop_process_group(process)


@contextmanager
def run_gunicorn_demo(
    tmp_path: Path, *, workers: int = 2, env: dict[str, str] | None = None
) -> Iterator[DemoServer]:
    """Migrate, run ``demo_setup`` and serve the demo with gunicorn (``workers`` processes)."""
    port = free_port()
    log = tmp_path / "gunicorn.log"
    environment = child_env(tmp_path, env)
    manage = [sys.executable, "manage.py"]
    serve = [sys.executable, "-m", "gunicorn", "demo_project.wsgi", f"--workers={workers}"]
    with log.open("wb") as sink:
        for command in (["migrate", "--noinput"], ["demo_setup", f"--port={port}"]):
            subprocess.run(
                [*manage, *command], cwd=ROOT, env=environment, stdout=sink, stderr=sink, check=True
            )
        process = subprocess.Popen(
            [*serve, f"--bind=127.0.0.1:{port}"],
            cwd=ROOT,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_server(f"http://127.0.0.1:{port}/", process, log, timeout=60)
        yield _printed_server(port, log)
    finally:
        stop_process_group(process)


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """End the whole process group (make and the server it started)."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
