"""``make demo PORT=...``: the server, the printed URLs and the tokens' issuer use that port.

The server is uvicorn on ``demo_project.asgi``: the Django project and its MCP
server (``/mcp``) on one origin.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess

import pytest

from tests.processes import ROOT


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_demo_serves_on_the_port_given() -> None:
    dry_run = subprocess.run(
        ["make", "-n", "demo", "PORT=8123"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "manage.py demo_setup --port 8123" in dry_run.stdout
    assert "-m uvicorn demo_project.asgi:application --host 127.0.0.1 --port 8123" in dry_run.stdout


def test_the_demo_s_issuer_follows_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BEARER_AUTH_ISSUER", raising=False)
    monkeypatch.setenv("PORT", "8123")
    demo_settings = importlib.reload(importlib.import_module("demo_project.settings"))
    assert demo_settings.BEARER_AUTH["ISSUER"] == "http://127.0.0.1:8123"
    # The MCP server's resource identifier follows it too.
    assert demo_settings.MCP_RESOURCE == "http://127.0.0.1:8123/mcp"
    assert "http://127.0.0.1:8123/mcp" in demo_settings.BEARER_AUTH["RESOURCES"]
    monkeypatch.delenv("PORT")
    demo_settings = importlib.reload(demo_settings)
    assert demo_settings.BEARER_AUTH["ISSUER"] == "http://127.0.0.1:8000"
    assert demo_settings.MCP_RESOURCE == "http://127.0.0.1:8000/mcp"
