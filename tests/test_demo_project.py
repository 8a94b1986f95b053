"""The demo project, run as a user runs it: ``manage.py`` in a child process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.processes import ROOT, run_gunicorn_demo

pytestmark = pytest.mark.slow


def _manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    child_env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY"}
    }
    child_env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}", **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        check=False,
    )


def _authenticates(tmp_path: Path, email: str, password: str) -> bool:
    code = (
        "from django.contrib.auth import authenticate;"
        f"print(authenticate(email={email!r}, password={password!r}) is not None)"
    )
    result = _manage(tmp_path, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1] == "True"


def test_demo_setup_generates_a_fresh_password_each_run(tmp_path: Path) -> None:
    assert _manage(tmp_path, "migrate", "--noinput").returncode == 0
    first = _manage(tmp_path, "demo_setup")
    second = _manage(tmp_path, "demo_setup")
    assert first.returncode == 0, first.stderr
    passwords = [
        line.split()[-1]
        for result in (first, second)
        for line in result.stdout.splitlines()
        if "password:" in line
    ]
    assert len(passwords) == 2
    assert passwords[0] != passwords[1]
    assert "email:    admin@example.com" in second.stdout
    assert not _authenticates(tmp_path, "admin@example.com", passwords[0])
    assert _authenticates(tmp_path, "admin@example.com", passwords[1])


def test_demo_setup_takes_credentials_from_the_environment(tmp_path: Path) -> None:
    assert _manage(tmp_path, "migrate", "--noinput").returncode == 0
    result = _manage(
        tmp_path,
        "demo_setup",
        DJANGO_SUPERUSER_EMAIL="Owner@Example.com",
        DJANGO_SUPERUSER_PASSWORD="from-the-env-123",
    )
    assert result.returncode == 0, result.stderr
    assert "email:    Owner@example.com" in result.stdout
    assert "password: from-the-env-123" in result.stdout
    assert _authenticates(tmp_path, "owner@example.com", "from-the-env-123")


def test_check_deploy_flags_the_demo_defaults(tmp_path: Path) -> None:
    result = _manage(tmp_path, "check", "--deploy")
    output = result.stdout + result.stderr
    assert "security.W018" in output  # DEBUG on
    assert "security.W009" in output  # the demo SECRET_KEY


def _check_ids(output: str, *prefixes: str) -> list[str]:
    """The ids of the system-check messages in ``output`` that start with one of ``prefixes``."""
    pattern = "|".join(re.escape(prefix) for prefix in prefixes)
    return sorted(set(re.findall(rf"\(((?:{pattern})\.[EWIC]\d+)\)", output)))


def test_check_deploy_reports_nothing_of_bearer_auth_or_dot(tmp_path: Path) -> None:
    """The shipped configuration passes bearer_auth's and DOT's (RFC 9700) deploy checks.

    Django's own warnings about the demo's DEBUG, SECRET_KEY and http
    cookies are expected: the environment provides those in production.
    """
    result = _manage(tmp_path, "check", "--deploy")
    output = result.stdout + result.stderr
    assert "security.W018" in output  # the run did report (DEBUG on)
    assert _check_ids(output, "bearer_auth", "oauth2_provider") == []
    # Control: the same run with the issuer unset shows bearer_auth's error.
    unset = _manage(tmp_path, "check", "--deploy", BEARER_AUTH_ISSUER="")
    assert _check_ids(unset.stdout + unset.stderr, "bearer_auth", "oauth2_provider") == [
        "bearer_auth.E009"
    ]


def test_check_passes_without_deploy(tmp_path: Path) -> None:
    result = _manage(tmp_path, "check")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def _sign_in_status(base_url: str, email: str, password: str) -> int:
    body = urllib.parse.urlencode({"email": email, "password": password}).encode()
    try:
        with urllib.request.urlopen(f"{base_url}/auth/token/", data=body, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_demo_throttle_budget_is_shared_by_gunicorn_workers(tmp_path: Path) -> None:
    """Issue 19 item 11: the demo's default cache is shared, so 4 workers keep one budget.

    With the local-memory cache each worker counted its own 5 failures a minute.
    """
    with run_gunicorn_demo(tmp_path, workers=4) as server:
        statuses = [
            _sign_in_status(server.base_url, server.email, "wrong password") for _ in range(16)
        ]
    assert 429 not in statuses[:5], statuses
    assert statuses[5:] == [429] * 11, statuses
