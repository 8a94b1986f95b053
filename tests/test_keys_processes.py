"""Key rotation and pruning reach every gunicorn worker with a per-process cache (issue 19, 10)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.processes import ROOT, DemoServer, child_env, run_gunicorn_demo

pytestmark = pytest.mark.slow

SETTINGS = {"DJANGO_SETTINGS_MODULE": "tests.settings_demo_locmem"}
KEY_CACHE_SECONDS = 1.0  # as tests/settings_demo_locmem.py
GRACE = 2 + 0 + KEY_CACHE_SECONDS  # token lifetimes (access, ID) + LEEWAY + KEY_CACHE_SECONDS


def get_json(url: str, data: dict[str, str] | None = None) -> Any:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with urllib.request.urlopen(url, data=body, timeout=10) as response:  # noqa: S310  loopback
        return json.load(response)


def signing_kid(server: DemoServer) -> str:
    """Sign in; return the kid the answering worker signed the access token with."""
    answer = get_json(
        f"{server.base_url}/auth/token/", {"email": server.email, "password": server.password}
    )
    return str(jwt.get_unverified_header(answer["access_token"])["kid"])


def jwks_kids(server: DemoServer, requests: int = 24) -> list[str]:
    """The JWKS's kids, active first, after checking every answering worker serves the same."""
    answers = [get_json(f"{server.base_url}/.well-known/jwks.json") for _ in range(requests)]
    assert all(answer == answers[0] for answer in answers), answers
    return [jwk["kid"] for jwk in answers[0]["keys"]]


def bearer_keys(tmp_path: Path, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", "bearer_keys", *args],
        cwd=ROOT,
        env=child_env(tmp_path, SETTINGS),
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_rotate_and_prune_in_another_process_reach_every_worker(tmp_path: Path) -> None:
    with run_gunicorn_demo(tmp_path, workers=2, env=SETTINGS) as server:
        old = signing_kid(server)  # the first key, made on first use
        assert jwks_kids(server) == [old]

        assert "New active signing key" in bearer_keys(tmp_path, "rotate")
        rotated = time.monotonic()
        time.sleep(KEY_CACHE_SECONDS + 0.5)
        new, *retired = jwks_kids(server)
        assert new != old
        assert retired == [old]  # still verifies until its deadline
        assert signing_kid(server) == new

        time.sleep(max(0.0, rotated + GRACE + 0.5 - time.monotonic()))
        assert "Pruned 1 expired signing key(s)." in bearer_keys(tmp_path, "prune")
        time.sleep(KEY_CACHE_SECONDS + 0.5)
        assert jwks_kids(server) == [new]
        assert signing_kid(server) == new
