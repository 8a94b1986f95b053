"""docs/demo.md, run: its gunicorn commands on a fresh database, and what demo_setup prints.

The seven steps of ``/client/`` in a browser, under these same commands, are
tests/browser/test_client_flow.py.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.docs.markdown import sample, transcript
from tests.docs.replay import assert_text_like
from tests.processes import ROOT, child_env, free_port, stop_process_group, wait_for_server

pytestmark = pytest.mark.slow

PAGE = "docs/demo.md"
DEMO_SETUP_OUTPUT = sample(PAGE, "demo-setup-output")
GUNICORN = sample(PAGE, "gunicorn")


def _argv(command: str, port: int) -> list[str]:
    """The page's command with this run's port and interpreter."""
    words = shlex.split(command.replace("8000", str(port)))
    if words[0] == "python":
        return [sys.executable, *words[1:]]
    assert words[0] == "gunicorn", command
    return [sys.executable, "-m", "gunicorn", *words[1:]]


def test_the_gunicorn_commands_serve_the_demo(tmp_path: Path) -> None:
    port = free_port()
    env = child_env(tmp_path, None)
    *setup, serve = transcript(GUNICORN.block)
    assert [exchange.command.split()[:3] for exchange in setup] == [
        ["python", "manage.py", "migrate"],
        ["python", "manage.py", "demo_setup"],
    ]
    printed = ""
    for exchange in setup:
        result = subprocess.run(
            _argv(exchange.command, port),
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        printed = result.stdout

    # The single-page app's port is the next one.
    shown = [
        line.replace(":8000/", f":{port}/").replace(":8001/", f":{port + 1}/")
        for line in DEMO_SETUP_OUTPUT.block.lines()
    ]
    random = {line.split()[-1] for line in shown if re.match(r"\s+(password|client_id):", line)}
    assert_text_like(shown, printed.splitlines(), random=random)
    email = re.search(r"email:\s+(\S+)", printed)
    password = re.search(r"password:\s+(\S+)", printed)
    assert email
    assert password

    log = tmp_path / "gunicorn.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            _argv(serve.command, port),
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_server(f"{base}/", server, log, timeout=60)
        assert requests.get(f"{base}/client/", timeout=10).status_code == 200
        signed_in = requests.post(
            f"{base}/auth/token/",
            json={"email": email[1], "password": password[1]},
            timeout=10,
        )
        assert signed_in.status_code == 200, signed_in.text
        me = requests.get(
            f"{base}/auth/me/",
            headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"},
            timeout=10,
        )
        assert me.json()["email"] == email[1]
    finally:
        stop_process_group(server)
