"""docs/api.md, replayed: every curl example in page order, every answer as shown."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any
from unittest import mock

import jwt
import pytest
from django.contrib.auth.models import Group
from django.core import checks
from django.test import Client
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from bearer_auth.authentication import BearerTokenAuthentication
from bearer_auth.settings import oauth2_provider_settings
from tests.docs.markdown import sample, snippet, transcript
from tests.docs.project import Project
from tests.docs.replay import Shell, assert_like
from tests.factories import ApplicationFactory, UserFactory
from tests.issuing import issue_access_token
from tests.processes import ROOT
from tests.views import WhoAmIView

# The examples sign in with an email address and show bearer_auth's user fields.
pytestmark = [pytest.mark.django_db, pytest.mark.custom_user_model]

PAGE = "docs/api.md"
TOKEN_RESPONSE = sample(PAGE, "token-response")
ERROR_RESPONSE = sample(PAGE, "error-response")
#: The examples, one session in page order.
CREATE_ALICE = sample(PAGE, "create-alice")
SESSION = (
    sample(PAGE, "sign-in"),
    sample(PAGE, "refresh"),
    sample(PAGE, "revoke"),
    sample(PAGE, "me"),
    sample(PAGE, "sessions"),
    sample(PAGE, "sign-out-session"),
    sample(PAGE, "sign-out-everywhere"),
)
#: The page's prose: "$ACCESS_TOKEN is the access_token of the first sign-in below".
SHELL_VARIABLES = {"ACCESS_TOKEN": "access_token"}
PASSWORD = "correct horse battery staple"
#: The demo's BEARER_AUTH["DEFAULT_SCOPES"] (demo_project/settings.py), which the examples show.
DEMO_DEFAULT_SCOPES = ["read", "write", "notes:read", "notes:write"]


@pytest.fixture
def demo_scopes(settings: Any) -> None:
    """The test settings with the demo's default scopes, as the examples were run."""
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "DEFAULT_SCOPES": DEMO_DEFAULT_SCOPES}


@pytest.fixture
def alice(db: Any) -> Any:
    return UserFactory(
        email="alice@example.com", full_name="Alice Liddell", short_name="Alice", password=PASSWORD
    )


@pytest.mark.usefixtures("alice", "demo_scopes")
def test_the_examples_replay_in_page_order() -> None:
    blocks = [claim.block for claim in SESSION]
    assert [block.line for block in blocks] == sorted(block.line for block in blocks)
    shell = Shell(Client(), bind=SHELL_VARIABLES)
    answers = [response for block in blocks for response in shell.replay(block)]
    assert len(answers) == 15
    assert [answer.headers["Cache-Control"] for answer in answers[:8]] == ["no-store"] * 8


@pytest.mark.usefixtures("alice", "demo_scopes")
def test_the_token_response_and_error_shapes_are_real() -> None:
    client = Client()
    signed_in = client.post(
        "/auth/token/",
        {"email": "alice@example.com", "password": PASSWORD},
        content_type="application/json",
    )
    assert signed_in.status_code == 200
    assert_like(json.loads(TOKEN_RESPONSE.block.text), signed_in.json())
    refused = client.post(
        "/auth/token/refresh/", {"refresh_token": "unknown"}, content_type="application/json"
    )
    assert refused.status_code == 400
    assert_like(json.loads(ERROR_RESPONSE.block.text), refused.json())


@pytest.mark.slow
def test_the_examples_replay_against_the_demo_after_creating_alice(tmp_path: Path) -> None:
    """The page's promise: the demo, with Alice created by the command shown, answers as shown."""
    [create] = transcript(CREATE_ALICE.block)
    assert create.command.startswith(".venv/bin/python manage.py ")
    demo = Project(
        ROOT,
        settings_module="demo_project.settings",
        environment={"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"},
    )
    demo.succeed("python manage.py migrate --noinput")
    demo.succeed("python manage.py demo_setup")  # what `make demo` runs
    demo.succeed(create.command.removeprefix(".venv/bin/"))
    exchanges = [exchange for claim in SESSION for exchange in transcript(claim.block)]
    answers = demo.replay(exchanges, bind=SHELL_VARIABLES)
    assert len(answers) == 15
    assert answers[0]["scope"] == " ".join(DEMO_DEFAULT_SCOPES)


DATABASE_USER = sample(PAGE, "database-user")


@pytest.fixture
def note_viewset(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, mock.Mock]:
    """The database-user sample's view, with its ``notes`` app stood in for by mocks."""
    note = mock.Mock(name="Note")
    notes_models = types.ModuleType("notes.models")
    notes_serializers = types.ModuleType("notes.serializers")
    vars(notes_models)["Note"] = note
    vars(notes_serializers)["NoteSerializer"] = mock.Mock(name="NoteSerializer")
    monkeypatch.setitem(sys.modules, "notes", types.ModuleType("notes"))
    monkeypatch.setitem(sys.modules, "notes.models", notes_models)
    monkeypatch.setitem(sys.modules, "notes.serializers", notes_serializers)
    namespace = snippet(DATABASE_USER.block, "# notes/views.py").run()
    return namespace["NoteViewSet"], note


@pytest.mark.parametrize("verify_mode", ["strict", "stateless"])
def test_the_notes_view_finds_the_owners_row_in_both_modes(
    settings: Any, alice: Any, note_viewset: tuple[Any, mock.Mock], verify_mode: str
) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFY_MODE": verify_mode}
    viewset, note = note_viewset
    token = issue_access_token(alice, scope="notes:read notes:write")
    view = viewset()
    view.request = Request(
        APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}"),
        authenticators=[BearerTokenAuthentication()],
    )
    view.get_queryset()
    note.objects.filter.assert_called_once_with(owner=alice)
    serializer = mock.Mock()
    view.perform_create(serializer)
    serializer.save.assert_called_once_with(owner=alice)


CLAIMS_HOOK = sample(PAGE, "claims-hook")
AUTHENTICATION_STEPS = sample(PAGE, "authentication-steps")


@pytest.fixture
def hooked(settings: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The claims-hook sample: its myproject.tokens module importable, its settings in force."""
    package, module = types.ModuleType("myproject"), types.ModuleType("myproject.tokens")
    vars(module).update(snippet(CLAIMS_HOOK.block, "# myproject/tokens.py").run())
    monkeypatch.setitem(sys.modules, "myproject", package)
    monkeypatch.setitem(sys.modules, "myproject.tokens", module)
    configured = snippet(CLAIMS_HOOK.block, "# settings.py").settings()
    settings.BEARER_AUTH = configured["BEARER_AUTH"]
    # DOT's settings follow the sample's BEARER_AUTH (its issuer), as the
    # project's settings module would build them.
    settings.OAUTH2_PROVIDER = oauth2_provider_settings(
        settings.BEARER_AUTH,
        SCOPES=settings.OAUTH2_PROVIDER["SCOPES"],
        DEFAULT_SCOPES=settings.OAUTH2_PROVIDER["DEFAULT_SCOPES"],
    )
    return configured


@pytest.mark.usefixtures("hooked")
def test_the_claims_hook_adds_the_users_groups_as_roles(alice: Any) -> None:
    assert [message.id for message in checks.run_checks() if message.id.startswith("bearer")] == []
    alice.groups.add(Group.objects.create(name="editor"), Group.objects.create(name="author"))
    token = issue_access_token(alice)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == "https://auth.example.com"
    assert claims["roles"] == ["author", "editor"]
    client = ApplicationFactory(authorization_grant_type="client-credentials")
    machine = jwt.decode(
        issue_access_token(None, application=client), options={"verify_signature": False}
    )
    assert "roles" not in machine


def editor_view() -> Any:
    """``WhoAmIView`` behind the authentication-steps sample's class."""
    namespace = snippet(AUTHENTICATION_STEPS.block, "# myproject/authentication.py").run()
    return WhoAmIView.as_view(authentication_classes=[namespace["EditorAuthentication"]])


def call(view: Any, token: str) -> Any:
    return view(APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")).render()


@pytest.mark.usefixtures("hooked")
def test_the_editor_authentication_wants_the_role_and_the_group(alice: Any) -> None:
    view = editor_view()
    without_role = issue_access_token(alice)
    editors = Group.objects.create(name="editor")
    alice.groups.add(editors)
    with_role = issue_access_token(alice)
    assert call(view, with_role).status_code == 200
    refused = call(view, without_role)
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"].startswith('Bearer realm="api", error="invalid_token"')
    alice.groups.remove(editors)
    left = call(view, with_role)
    assert left.status_code == 401
    assert json.loads(left.content)["error"] == "invalid_token"


RESOURCE_VIEWS = sample(PAGE, "resource-views")
RESOURCE_CHALLENGE = sample(PAGE, "resource-challenge")


def test_the_resource_view_accepts_its_resources_tokens_alone(settings: Any, alice: Any) -> None:
    configured = snippet(RESOURCE_VIEWS.block, "# settings.py").settings()
    settings.BEARER_AUTH = configured["BEARER_AUTH"]
    settings.OAUTH2_PROVIDER = oauth2_provider_settings(
        settings.BEARER_AUTH,
        SCOPES=settings.OAUTH2_PROVIDER["SCOPES"],
        DEFAULT_SCOPES=settings.OAUTH2_PROVIDER["DEFAULT_SCOPES"],
    )
    assert [message.id for message in checks.run_checks() if message.id.startswith("bearer")] == []
    view = snippet(RESOURCE_VIEWS.block, "# mcp_api/views.py").run()["AgentNotesView"].as_view()
    resource = "https://auth.example.com/mcp"
    for_it = issue_access_token(alice, scope="notes:read", resource=resource)
    assert call(view, for_it).status_code == 200
    for_default = issue_access_token(alice, scope="notes:read")
    refused = call(view, for_default)
    assert refused.status_code == 401
    [shown] = RESOURCE_CHALLENGE.block.text.strip().splitlines()
    assert f"WWW-Authenticate: {refused['WWW-Authenticate']}" == shown
    assert call(WhoAmIView.as_view(), for_it).status_code == 401
    assert call(WhoAmIView.as_view(), for_default).status_code == 200
