"""README.md, run: the two set-up commands, the user model and "Protecting an API".

The quickstart and the custom user model run in tests/test_quickstart.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core import checks
from rest_framework.test import APIRequestFactory

from bearer_auth.jwt import mint_access_token
from bearer_auth.models import User
from tests.docs.markdown import sample, snippets, transcript
from tests.docs.project import Project
from tests.docs.replay import assert_text_like
from tests.factories import ApplicationFactory
from tests.issuing import issue_access_token, store_token
from tests.processes import ROOT, run_make_demo
from tests.security.probes import DPOP_OFFER

MAKE_DEMO = sample("README.md", "make-demo")
MAKE_TEST = sample("README.md", "make-test")
DEMO_WALK_THROUGH = sample("README.md", "demo-walk-through")
USER_MODEL_SETTINGS = sample("README.md", "user-model-settings")
PROTECT_SETTINGS = sample("README.md", "protect-settings")
PROTECT_VIEWS = sample("README.md", "protect-views")


@pytest.mark.slow
def test_make_demo_prints_what_the_readme_shows(tmp_path: Path) -> None:
    [exchange] = transcript(MAKE_DEMO.block)
    assert exchange.command == "make demo"
    with run_make_demo(tmp_path) as demo:
        port = demo.base_url.rsplit(":", 1)[1]
        spa_port = demo.spa_url.rstrip("/").rsplit(":", 1)[1]
        printed = demo.output.read_text().splitlines()
    password = next(line.split()[-1] for line in exchange.output if "password:" in line)
    shown = [
        line.replace(":8001/", f":{spa_port}/").replace(":8000/", f":{port}/")
        for line in exchange.output
    ]
    assert_text_like(shown, printed, random={password})


@pytest.mark.slow
@pytest.mark.parametrize("verify_mode", ["strict", "stateless"])
def test_the_demo_walk_through_works_as_written(tmp_path: Path, verify_mode: str) -> None:
    """Sign in with curl, use the notes API and /auth/me/: in both verification modes."""
    [make_demo] = transcript(MAKE_DEMO.block)
    password = next(line.split()[-1] for line in make_demo.output if "password:" in line)
    exchanges = transcript(DEMO_WALK_THROUGH.block)
    assert f"password={password}" in exchanges[0].command
    demo = Project(
        ROOT,
        settings_module="demo_project.settings",
        environment={
            "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
            "DJANGO_SUPERUSER_PASSWORD": password,
            "BEARER_AUTH_VERIFY_MODE": verify_mode,
        },
    )
    demo.succeed("python manage.py migrate --noinput")
    demo.succeed("python manage.py demo_setup")
    answers = demo.replay(exchanges, bind={"ACCESS": "access_token"})
    assert "notes:read" in answers[0]["scope"].split()
    assert answers[2] == [answers[1]]
    assert answers[3]["email"] == "admin@example.com"


def test_make_test_runs_lint_types_and_both_user_models() -> None:
    [exchange] = transcript(MAKE_TEST.block)
    assert exchange.command == "make test"
    # A dry run prints the commands `make test` prints before running each.
    planned = subprocess.run(
        ["make", "--no-print-directory", "-n", "test"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert_text_like(exchange.output, planned.stdout.splitlines())


def test_the_user_model_settings_name_installed_apps_and_the_email_user() -> None:
    configured = snippets(USER_MODEL_SETTINGS.block)[0].settings()
    assert configured["INSTALLED_APPS"] == ["rest_framework", "bearer_auth", "oauth2_provider"]
    for label in ("rest_framework", "oauth2_provider", "bearer_auth"):
        assert apps.is_installed(label)
    assert apps.get_model(configured["AUTH_USER_MODEL"]) is User
    assert User.USERNAME_FIELD == "email"


@pytest.fixture
def protected(settings: Any) -> dict[str, Any]:
    """The README's settings applied, and its two views."""
    [part] = snippets(PROTECT_SETTINGS.block)
    configured = part.settings()
    for name in ("BEARER_AUTH", "OAUTH2_PROVIDER", "REST_FRAMEWORK"):
        setattr(settings, name, configured[name])
    [views] = snippets(PROTECT_VIEWS.block)
    return {**configured, **views.run()}


def test_protecting_settings_pass_bearer_auth_checks(protected: dict[str, Any]) -> None:
    assert [
        message for message in checks.run_checks() if message.id.startswith("bearer_auth")
    ] == []
    required = {
        protected["NoteList"].read_scope,
        protected["NoteList"].write_scope,
        *protected["Report"].required_scopes,
    }
    assert required <= set(protected["OAUTH2_PROVIDER"]["SCOPES"])


#: The README's issuer: every challenge names its RFC 9728 metadata.
RESOURCE_METADATA = (
    'resource_metadata="https://auth.example.com/.well-known/oauth-protected-resource"'
)


def insufficient_scope(scope: str) -> str:
    return (
        'Bearer realm="api", error="insufficient_scope", error_description="The access token '
        f'does not carry the scope this request needs.", scope="{scope}", {RESOURCE_METADATA}'
    )


def _call(view: Any, method: str, token: str | None) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    request = getattr(APIRequestFactory(), method)("/", {"text": "hi"}, format="json", **headers)
    response = view.as_view()(request)
    response.render()
    return response


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "scope", "status", "missing"),
    [
        ("get", "notes:read", 200, None),
        ("get", "notes:write", 403, "notes:read"),
        ("post", "notes:write", 201, None),
        ("post", "notes:read", 403, "notes:write"),
    ],
)
def test_note_list_needs_the_read_or_write_scope(
    protected: dict[str, Any], user: Any, method: str, scope: str, status: int, missing: str | None
) -> None:
    response = _call(protected["NoteList"], method, issue_access_token(user, scope=scope))
    assert response.status_code == status, response.content
    if missing:
        assert response["WWW-Authenticate"] == insufficient_scope(missing)


@pytest.mark.django_db
def test_note_list_needs_a_token(protected: dict[str, Any]) -> None:
    response = _call(protected["NoteList"], "get", None)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == f'Bearer realm="api", {RESOURCE_METADATA}, {DPOP_OFFER}'


@pytest.mark.django_db
def test_report_needs_reports_read(protected: dict[str, Any], user: Any) -> None:
    application = ApplicationFactory()
    token = issue_access_token(user, scope="reports:read", application=application)
    allowed = _call(protected["Report"], "get", token)
    assert allowed.status_code == 200
    assert allowed.data == {"client": application.client_id}
    refused = _call(protected["Report"], "get", issue_access_token(user, scope="notes:read"))
    assert refused.status_code == 403
    assert refused["WWW-Authenticate"] == insufficient_scope("reports:read")


@pytest.mark.django_db
def test_report_serves_client_credentials_tokens_and_note_list_does_not(
    protected: dict[str, Any],
) -> None:
    application = ApplicationFactory(authorization_grant_type="client-credentials")
    minted = mint_access_token(
        user=None, client_id=application.client_id, scope="reports:read notes:read"
    )
    store_token(
        minted.token,
        user=None,
        application=application,
        scope="reports:read notes:read",
        expires=minted.expires_at,
    )
    report = _call(protected["Report"], "get", minted.token)
    assert report.status_code == 200
    assert report.data == {"client": application.client_id}
    assert _call(protected["NoteList"], "get", minted.token).status_code == 403
