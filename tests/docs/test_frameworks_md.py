"""docs/frameworks.md, run: its Ninja API, plain views, middleware and shared authenticator.

Each page block becomes the module it names (``mysite.api``, ``mysite.views``,
...) and serves requests through Django's test client with real tokens.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core import checks
from django.http import JsonResponse
from django.test import Client
from django.urls import clear_url_caches, path

from bearer_auth.checks import check_token_middleware
from bearer_auth.jwt import user_subject
from tests.docs.markdown import sample, snippets
from tests.factories import UserFactory
from tests.issuing import forge, issue_access_token

PAGE = "docs/frameworks.md"
NINJA_API = sample(PAGE, "ninja-api")
NINJA_URLS = sample(PAGE, "ninja-urls")
PLAIN_VIEWS = sample(PAGE, "plain-views")
MIDDLEWARE = sample(PAGE, "token-middleware")
SHARED = sample(PAGE, "shared-authenticator")
SHARED_USE = sample(PAGE, "shared-authenticator-use")

pytestmark = pytest.mark.django_db


@pytest.fixture
def mysite(settings: Any) -> Iterator[Callable[[str, Any], dict[str, Any]]]:
    """Run a block as ``mysite.<name>`` (importable by the next block); serve ``mysite.urls``."""
    package = types.ModuleType("mysite")
    package.__path__ = []
    sys.modules["mysite"] = package
    made = ["mysite"]

    def load(name: str, block: Any, **namespace: Any) -> dict[str, Any]:
        [part] = snippets(block)
        dotted = f"mysite.{name}"
        module = types.ModuleType(dotted)
        module.__dict__.update(part.run(**namespace))
        module.__name__ = dotted
        setattr(package, name, module)
        sys.modules[dotted] = module
        made.append(dotted)
        return module.__dict__

    settings.ROOT_URLCONF = "mysite.urls"
    clear_url_caches()
    try:
        yield load
    finally:
        for name in made:
            sys.modules.pop(name, None)
        clear_url_caches()


def serve(*urlpatterns: Any) -> None:
    """Make ``urlpatterns`` the test project's ``mysite.urls``."""
    urls = types.ModuleType("mysite.urls")
    urls.urlpatterns = list(urlpatterns)  # type: ignore[attr-defined]
    sys.modules["mysite.urls"] = urls
    clear_url_caches()


def get(path_: str, token: str | None = None, **extra: Any) -> Any:
    if token is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return Client().get(path_, **extra)


def test_the_ninja_api_answers_tokens_scopes_and_refusals(mysite: Any) -> None:
    mysite("api", NINJA_API.block)
    mysite("urls", NINJA_URLS.block)
    user = UserFactory(email="reader@example.com")
    reader = issue_access_token(user, scope="reports:read")
    plain = issue_access_token(user, scope="profile")

    me = get("/api/me", plain)
    assert me.status_code == 200, me.content
    assert me.json() == {"sub": user_subject(user), "scopes": ["profile"]}
    reports = get("/api/reports", reader)
    assert reports.status_code == 200, reports.content
    assert reports.json() == {"owner": "reader@example.com"}

    missing = get("/api/reports", plain)
    assert missing.status_code == 403
    assert missing.json()["error"] == "insufficient_scope"
    assert 'scope="reports:read"' in missing["WWW-Authenticate"]
    anonymous = get("/api/me")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith('Bearer realm="api"')

    schema = get("/api/openapi.json").json()
    assert schema["components"]["securitySchemes"] == {
        "BearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    assert schema["paths"]["/api/reports"]["get"]["security"] == [{"BearerAuth": ["reports:read"]}]
    assert schema["paths"]["/api/me"]["get"]["security"] == [{"BearerAuth": []}]


def test_the_plain_views_answer_tokens_scopes_and_refusals(mysite: Any) -> None:
    views = mysite("views", PLAIN_VIEWS.block)
    serve(
        path("me", views["me"]),
        path("reports", views["reports"]),
        path("report", views["ReportView"].as_view()),
    )
    user = UserFactory(email="writer@example.com")
    reader = issue_access_token(user, scope="reports:read")
    writer = issue_access_token(user, scope="reports:write")

    assert get("/me", reader).json() == {"sub": user_subject(user)}
    assert get("/reports", reader).json() == {"owner": "writer@example.com"}
    refused = get("/reports", writer)
    assert refused.status_code == 403
    assert 'scope="reports:read"' in refused["WWW-Authenticate"]
    created = Client(enforce_csrf_checks=True).post(
        "/report", HTTP_AUTHORIZATION=f"Bearer {writer}"
    )
    assert created.status_code == 201, created.content
    assert get("/me").status_code == 401


def test_the_middleware_settings_pass_the_check_and_set_the_user(
    settings: Any, mysite: Any
) -> None:
    def who(request: Any) -> Any:
        return JsonResponse({"user": request.user.get_username(), "auth": bool(request.auth)})

    serve(path("who", who))
    [part] = snippets(MIDDLEWARE.block)
    settings.MIDDLEWARE = part.settings()["MIDDLEWARE"]
    assert check_token_middleware(None) == []
    assert "bearer_auth.E028" not in [message.id for message in checks.run_checks()]
    user = UserFactory(email="someone@example.com")
    token = issue_access_token(user)
    assert get("/who", token).json() == {"user": "someone@example.com", "auth": True}
    user.is_active = False
    user.save()
    # Refused: the request is anonymous, and the view (no decorator) answers it.
    assert get("/who", token).json() == {"user": "", "auth": False}


def test_one_authenticator_subclass_serves_ninja_and_plain_views(mysite: Any) -> None:
    mysite("authentication", SHARED.block)
    api = mysite("api", SHARED_USE.block)

    @api["api"].get("/ping")
    def ping(request: Any) -> dict[str, str]:
        return {"pong": request.auth.claims["sub"]}

    serve(path("api/", api["api"].urls), path("edit", api["edit"]))
    user = UserFactory()
    reader = issue_access_token(user)
    editor = forge(reader, user=user, claims={"roles": ["editor"]})

    assert get("/api/ping", editor).json() == {"pong": user_subject(user)}
    assert get("/edit", editor).json() == {"editor": user_subject(user)}
    for answer in (get("/api/ping", reader), get("/edit", reader)):
        assert answer.status_code == 401
        assert answer.json() == {"error": "invalid_token", "error_description": "Editors only."}
