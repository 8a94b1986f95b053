"""The README quickstart, followed literally on a throwaway ``startproject``.

Every snippet comes from README.md (the blocks marked
``<!-- sample: quickstart-… -->``, and the custom user model of "The user
model"), so editing the README without keeping it working breaks this test.
The commands of the setup block run in a shell; ``runserver`` is replaced
by Django's test client in a child process, which replays the README's curl
commands (tests.docs.replay) and compares the answers with the output the
README shows.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.docs.markdown import sample, snippets, transcript
from tests.docs.project import Project

pytestmark = pytest.mark.slow

INSTALL = sample("README.md", "quickstart-install")
SETTINGS = sample("README.md", "quickstart-settings")
VIEWS = sample("README.md", "quickstart-views")
URLS = sample("README.md", "quickstart-urls")
SETUP = sample("README.md", "quickstart-setup")
SIGN_IN = sample("README.md", "quickstart-sign-in")
CALL = sample("README.md", "quickstart-call")
CUSTOM_USER_MODEL = sample("README.md", "custom-user-model")
#: The README's prose: "the shell variables ACCESS and REFRESH hold the
#: access_token and refresh_token above" (of the sign-in).
SHELL_VARIABLES = {"ACCESS": "access_token", "REFRESH": "refresh_token"}


def test_install_command_names_this_distribution() -> None:
    [exchange] = transcript(INSTALL.block)
    distribution = metadata.metadata("django-bearer-auth")["Name"]
    assert exchange.command == f"python -m pip install {distribution}"
    assert exchange.output == []


def quickstart_project(
    directory: Path, *, before_migrate: Callable[[Project], None] | None = None
) -> Project:
    """Apply the settings, views and urls snippets and run the setup commands but the last."""
    project = Project.start(directory)
    for block in (SETTINGS.block, VIEWS.block, URLS.block):
        for part in snippets(block):
            project.apply(part)
    if before_migrate:
        before_migrate(project)
    setup = transcript(SETUP.block)
    assert [exchange.command for exchange in setup][-1] == "python manage.py runserver"
    for exchange in setup[:-1]:
        project.succeed(exchange.command)
    project.succeed("python manage.py check --fail-level WARNING")
    return project


def replay_sign_in_and_call(project: Project) -> list[Any]:
    answers = project.replay(
        transcript(SIGN_IN.block) + transcript(CALL.block), bind=SHELL_VARIABLES
    )
    assert len(answers) == 4
    assert jwt.get_unverified_header(answers[0]["access_token"])["typ"] == "at+jwt"
    assert answers[1] == {"hello": "ada@example.com", "scopes": ["read", "write"]}
    assert answers[2]["refresh_token"] != answers[0]["refresh_token"]
    assert answers[3]["error"] == "invalid_grant"
    return answers


def test_quickstart_gives_an_authenticated_api_call(tmp_path: Path) -> None:
    replay_sign_in_and_call(quickstart_project(tmp_path))


def _add_member_model(project: Project) -> None:
    """The README's ``Member``, in an app made with ``startapp``, before the first migrate."""
    project.succeed("python manage.py startapp myapp")
    for part in snippets(CUSTOM_USER_MODEL.block):
        # "settings.py" is the project's settings module.
        project.apply(part, path="mysite/settings.py" if part.path == "settings.py" else None)
    project.succeed("python manage.py makemigrations myapp")


def test_the_quickstart_works_with_a_custom_user_model(tmp_path: Path) -> None:
    project = quickstart_project(tmp_path, before_migrate=_add_member_model)
    replay_sign_in_and_call(project)
    shown = project.succeed(
        "python manage.py shell -c '"
        "from django.contrib import admin; from django.contrib.auth import get_user_model; "
        "Member = get_user_model(); user = Member.objects.get(); "
        "print(Member._meta.label, type(admin.site._registry[Member]).__name__, "
        "user.email, repr(user.company), user.public_id is not None)'"
    )
    assert shown.splitlines()[-1].split() == [
        "myapp.Member",
        "EmailUserAdmin",
        "ada@example.com",
        "''",
        "True",
    ]
