"""``make demo PORT=...``: the server, the printed URLs and the tokens' issuer use that port.

The server is ``demo_project.serve``: uvicorn serving ``demo_project.asgi``
(the Django project and its MCP server, ``/mcp``) on ``PORT``, and the demo
single-page app on ``SPA_PORT`` (default ``PORT`` + 1), in one process.
"""

from __future__ import annotations

import importlib
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.processes import ROOT, child_env, free_ports, stop_process_group, wait_for_server


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_demo_serves_on_the_port_given() -> None:
    dry_run = subprocess.run(
        ["make", "-n", "demo", "PORT=8123"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "manage.py demo_setup --port 8123 --spa-port 8124" in dry_run.stdout
    assert "-m demo_project.serve --host 127.0.0.1 --port 8123 --spa-port 8124" in dry_run.stdout
    dry_run = subprocess.run(
        ["make", "-n", "demo", "PORT=8123", "SPA_PORT=9000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "-m demo_project.serve --host 127.0.0.1 --port 8123 --spa-port 9000" in dry_run.stdout


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310  loopback only
            return True
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@pytest.mark.slow
def test_one_ctrl_c_stops_the_api_and_the_spa(tmp_path: Path) -> None:
    """``demo_project.serve`` serves both ports from one process; SIGINT to it ends both."""
    port, spa_port = free_ports(2)
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "demo_project.serve",
                f"--port={port}",
                f"--spa-port={spa_port}",
            ],
            cwd=ROOT,
            env=child_env(tmp_path, None),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_server(f"http://127.0.0.1:{port}/", process, log, timeout=60)
        wait_for_server(f"http://127.0.0.1:{spa_port}/", process, log, timeout=10)
        with urllib.request.urlopen(f"http://127.0.0.1:{spa_port}/config.js") as response:
            assert response.read().decode() == (
                f'export const API_ORIGIN = "http://127.0.0.1:{port}";\n'
            )
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert process.wait(timeout=15) == 0, log.read_text()
        assert not _answers(f"http://127.0.0.1:{port}/")
        assert not _answers(f"http://127.0.0.1:{spa_port}/")
    finally:
        stop_process_group(process)


def test_the_demo_s_issuer_follows_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BEARER_AUTH_ISSUER", raising=False)
    monkeypatch.setenv("PORT", "8123")
    demo_settings = importlib.reload(importlib.import_module("demo_project.settings"))
    assert demo_settings.BEARER_AUTH["ISSUER"] == "http://127.0.0.1:8123"
    # The MCP server's resource identifier follows it too.
    assert demo_settings.MCP_RESOURCE == "http://127.0.0.1:8123/mcp"
    assert "http://127.0.0.1:8123/mcp" in demo_settings.BEARER_AUTH["RESOURCES"]
    # The SPA is on the next port unless SPA_PORT says otherwise; CORS and cookie mode allow it.
    assert demo_settings.DEMO_SPA_ORIGIN == "http://127.0.0.1:8124"
    assert demo_settings.CORS_ALLOWED_ORIGINS == ["http://127.0.0.1:8124"]
    assert demo_settings.BEARER_AUTH["BROWSER_APP_ORIGINS"] == ["http://127.0.0.1:8124"]
    monkeypatch.setenv("SPA_PORT", "9000")
    demo_settings = importlib.reload(demo_settings)
    assert demo_settings.CORS_ALLOWED_ORIGINS == ["http://127.0.0.1:9000"]
    assert demo_settings.BEARER_AUTH["BROWSER_APP_ORIGINS"] == ["http://127.0.0.1:9000"]
    monkeypatch.delenv("PORT")
    monkeypatch.delenv("SPA_PORT")
    demo_settings = importlib.reload(demo_settings)
    assert demo_settings.BEARER_AUTH["ISSUER"] == "http://127.0.0.1:8000"
    assert demo_settings.MCP_RESOURCE == "http://127.0.0.1:8000/mcp"
    assert demo_settings.DEMO_SPA_ORIGIN == "http://127.0.0.1:8001"
