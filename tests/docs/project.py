"""A throwaway ``django-admin startproject mysite`` that the README's snippets are applied to."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.docs.markdown import Exchange, Snippet
from tests.processes import ROOT

# Runs inside the project: replays curl commands with tests.docs.replay.Shell
# (so the comparison is the same as for every other page) and prints the
# answers. Exits non-zero with the mismatch when an answer differs.
_REPLAY = """
import json, sys
import django
django.setup()
from django.test import Client
from tests.docs.markdown import Exchange
from tests.docs.replay import Shell
request = json.load(sys.stdin)
shell = Shell(Client(), bind=request["bind"])
answers = [shell.run(Exchange(**exchange)) for exchange in request["exchanges"]]
print(json.dumps([json.loads(answer.content or "null") for answer in answers]))
"""


@dataclass(frozen=True)
class Project:
    """A fresh Django project in ``root`` (the directory holding ``manage.py``)."""

    root: Path
    #: ``DJANGO_SETTINGS_MODULE`` of the commands run in it.
    settings_module: str = "mysite.settings"
    #: More environment variables for every command run in it.
    environment: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def start(cls, directory: Path, name: str = "mysite") -> Project:
        started = subprocess.run(
            [sys.executable, "-m", "django", "startproject", name],
            cwd=directory,
            capture_output=True,
            text=True,
            check=False,
        )
        assert started.returncode == 0, started.stderr
        return cls(directory / name)

    def env(self) -> dict[str, str]:
        """The caller's environment without the test run's settings; the repo for tests.docs."""
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "PYTHONPATH"}
        }
        env["DJANGO_SETTINGS_MODULE"] = self.settings_module
        env["PYTHONPATH"] = str(ROOT)
        env.update(self.environment)
        return env

    def apply(self, snippet: Snippet, *, path: str | None = None) -> None:
        """Write a snippet to the file it names (or ``path``), appending when the file exists."""
        path = path or snippet.path
        assert path, f"{snippet.origin}: the snippet names no file"
        target = self.root / path
        if target.exists():
            target.write_text(f"{target.read_text()}\n\n{snippet.code}")
        else:
            target.write_text(snippet.code)

    def run(self, command: str, **env: str) -> subprocess.CompletedProcess[str]:
        """Run a shell command of the README, ``python`` being the interpreter of the tests."""
        python = shlex.quote(sys.executable)
        return subprocess.run(
            ["/bin/sh", "-c", re.sub(r"\bpython\b", python, command)],
            cwd=self.root,
            env={**self.env(), **env},
            capture_output=True,
            text=True,
            check=False,
        )

    def succeed(self, command: str) -> str:
        """Run a command that must work; return its output."""
        result = self.run(command)
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def replay(self, exchanges: list[Exchange], *, bind: Mapping[str, str]) -> list[Any]:
        """Replay curl commands inside the project; return the JSON answers."""
        replayed = subprocess.run(
            [sys.executable, "-c", _REPLAY],
            cwd=self.root,
            env=self.env(),
            input=json.dumps(
                {
                    "bind": dict(bind),
                    "exchanges": [
                        {"command": exchange.command, "output": exchange.output}
                        for exchange in exchanges
                    ],
                }
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        assert replayed.returncode == 0, replayed.stderr
        answers: list[Any] = json.loads(replayed.stdout)
        return answers
