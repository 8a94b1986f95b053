"""The README quickstart, followed literally on a throwaway ``startproject``.

Every snippet comes from README.md (the fenced block after each
``<!-- quickstart:NAME -->`` marker), so editing the README without keeping
it working breaks this test. The commands of the setup block run in a shell;
``runserver`` is replaced by Django's test client in a child process, which
sends the README's curl requests (same method, path, form body and headers)
and compares the answers with the output the README shows.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest

from tests.processes import ROOT

pytestmark = pytest.mark.slow

README = ROOT / "README.md"
SECRET_FIELDS = frozenset({"access_token", "refresh_token"})

# Runs in the throwaway project: replays the requests, substituting $ACCESS
# and $REFRESH (the shell variables of the README, set once from the sign-in
# answer), and prints every answer.
_DRIVER = """
import json, sys
import django
from django.test import Client
django.setup()
client = Client(HTTP_HOST="127.0.0.1:8000")
tokens = {}
answers = []
for request in json.load(sys.stdin):
    def fill(value):
        for name, token in tokens.items():
            value = value.replace("$" + name, token)
        return value
    headers = {name: fill(value) for name, value in request["headers"].items()}
    if request["data"]:
        body = "&".join(fill(pair) for pair in request["data"])
        response = client.post(
            request["path"], body,
            content_type="application/x-www-form-urlencoded", headers=headers,
        )
    else:
        response = client.get(request["path"], headers=headers)
    answer = json.loads(response.content)
    if "access_token" in answer and not tokens:
        tokens = {"ACCESS": answer["access_token"], "REFRESH": answer["refresh_token"]}
    answers.append({"status": response.status_code, "body": answer})
print(json.dumps(answers))
"""


def readme_block(name: str) -> str:
    """Return the body of the fenced block that follows ``<!-- quickstart:name -->``."""
    pattern = rf"<!-- quickstart:{re.escape(name)} -->\n```[a-z]*\n(.*?)```"
    match = re.search(pattern, README.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert match, f"README.md has no quickstart:{name} block"
    return match.group(1)


def transcript(block: str) -> list[tuple[str, list[str]]]:
    """Split a console block into ``(command, output lines)`` pairs."""
    pairs: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            pairs.append((line[2:], []))
        else:
            pairs[-1][1].append(line)
    return pairs


def curl_request(command: str) -> dict[str, Any]:
    """Translate ``curl -s URL [-d k=v]... [-H 'Name: value']...`` into a request spec."""
    words = shlex.split(command)
    assert words[0] == "curl", command
    request: dict[str, Any] = {"path": "", "data": [], "headers": {}}
    arguments = iter(words[1:])
    for word in arguments:
        if word == "-s":
            continue
        if word == "-d":
            request["data"].append(next(arguments))
        elif word == "-H":
            name, _, value = next(arguments).partition(": ")
            request["headers"][name] = value
        else:
            url = urlsplit(word)
            assert url.scheme == "http", word
            assert url.netloc == "127.0.0.1:8000", word
            request["path"] = url.path
    return request


def _child_env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "PYTHONPATH"}
    }
    env["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
    return env


def _apply_snippet(project: Path, block: str) -> None:
    """Write a Python block to the file its first line names (append if it exists)."""
    first, _, code = block.partition("\n")
    assert first.startswith("# "), first
    target = project / first[2:].strip()
    if target.exists():
        target.write_text(target.read_text() + "\n\n" + code)
    else:
        target.write_text(code)


def _run(command: str, project: Path) -> subprocess.CompletedProcess[str]:
    python = shlex.quote(sys.executable)
    return subprocess.run(
        ["/bin/sh", "-c", re.sub(r"\bpython\b", python, command)],
        cwd=project,
        env=_child_env(),
        capture_output=True,
        text=True,
        check=False,
    )


def test_install_command_names_this_distribution() -> None:
    [(command, output)] = transcript(readme_block("install"))
    distribution = metadata.metadata("django-bearer-auth")["Name"]
    assert command == f"python -m pip install {distribution}"
    assert output == []


def test_quickstart_gives_an_authenticated_api_call(tmp_path: Path) -> None:
    started = subprocess.run(
        [sys.executable, "-m", "django", "startproject", "mysite"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    project = tmp_path / "mysite"
    for name in ("settings", "views", "urls"):
        _apply_snippet(project, readme_block(name))

    setup = transcript(readme_block("setup"))
    assert [command for command, _ in setup][-1] == "python manage.py runserver"
    for command, _ in setup[:-1]:
        result = _run(command, project)
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    checked = _run("python manage.py check --fail-level WARNING", project)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    exchanges = transcript(readme_block("sign-in")) + transcript(readme_block("call"))
    replayed = subprocess.run(
        [sys.executable, "-c", _DRIVER],
        cwd=project,
        env=_child_env(),
        input=json.dumps([curl_request(command) for command, _ in exchanges]),
        capture_output=True,
        text=True,
        check=False,
    )
    assert replayed.returncode == 0, replayed.stderr
    answers = json.loads(replayed.stdout)
    assert len(answers) == len(exchanges) == 4
    for (command, shown), answer in zip(exchanges, answers, strict=True):
        [shown_line] = shown
        expected = json.loads(shown_line)
        assert answer["status"] == (400 if "error" in expected else 200), command
        assert set(answer["body"]) == set(expected), command
        for field, value in expected.items():
            if field not in SECRET_FIELDS:
                assert answer["body"][field] == value, (command, field)
    access_token = answers[0]["body"]["access_token"]
    assert jwt.get_unverified_header(access_token)["typ"] == "at+jwt"
    assert answers[1]["body"] == {"hello": "ada@example.com", "scopes": ["read", "write"]}
