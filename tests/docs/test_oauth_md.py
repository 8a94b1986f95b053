"""docs/oauth.md, run: mounting the OAuth server, and its throttle answer and settings."""

from __future__ import annotations

import types
from typing import Any

import jwt
import pytest
from django.core import checks
from django.test import Client
from django.urls import NoReverseMatch, reverse

from tests.docs.markdown import sample, snippet, snippets
from tests.docs.replay import assert_response_like, parse_shown
from tests.oauth_client import basic_auth, client_credentials_token, make_application

pytestmark = pytest.mark.django_db

PAGE = "docs/oauth.md"
MOUNTING = sample(PAGE, "mounting")
THROTTLED = sample(PAGE, "throttled")
THROTTLE_SETTINGS = sample(PAGE, "throttle-settings")


@pytest.fixture
def mounted(settings: Any) -> dict[str, Any]:
    """The page's settings and its urls.py as the whole URLconf."""
    configured = snippet(MOUNTING.block, "# settings.py").settings()
    settings.OAUTH2_PROVIDER = configured["OAUTH2_PROVIDER"]
    settings.BEARER_AUTH = configured["BEARER_AUTH"]
    urlconf = types.ModuleType("oauth_md_urls")
    urlconf.urlpatterns = snippet(MOUNTING.block, "# urls.py").run()["urlpatterns"]  # type: ignore[attr-defined]
    settings.ROOT_URLCONF = urlconf
    return configured


@pytest.mark.usefixtures("mounted")
def test_mounting_serves_dots_four_endpoints_under_dots_names() -> None:
    assert [snippet.path for snippet in snippets(MOUNTING.block)] == ["settings.py", "urls.py"]
    assert [
        message.id for message in checks.run_checks() if message.id.startswith("bearer_auth")
    ] == []
    assert {
        name: reverse(f"oauth2_provider:{name}")
        for name in ("authorize", "token", "revoke-token", "introspect")
    } == {
        "authorize": "/o/authorize/",
        "token": "/o/token/",
        "revoke-token": "/o/revoke_token/",
        "introspect": "/o/introspect/",
    }
    with pytest.raises(NoReverseMatch):
        reverse("oauth2_provider:list")  # DOT's application-registration pages


@pytest.mark.usefixtures("mounted")
def test_mounting_publishes_metadata_on_the_issuer() -> None:
    metadata = Client().get("/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == "https://auth.example.com"
    assert metadata["token_endpoint"] == "https://auth.example.com/o/token/"
    assert metadata["jwks_uri"] == "https://auth.example.com/.well-known/jwks.json"


@pytest.mark.usefixtures("mounted")
def test_the_consent_page_sends_anonymous_users_to_the_login_url() -> None:
    response = Client().get("/o/authorize/", {"response_type": "code", "client_id": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=/o/authorize/")


@pytest.mark.usefixtures("mounted")
def test_a_request_without_scope_gets_the_default_scopes() -> None:
    application = make_application(grant_type="client-credentials", allowed_scopes=None)
    token = client_credentials_token(application, scope=None)
    assert jwt.decode(token, options={"verify_signature": False})["scope"] == "read"


def _token_request(client_ip: str, application: Any) -> Any:
    return Client().post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(application.client_id, "a wrong secret"),
        HTTP_X_FORWARDED_FOR=client_ip,
    )


def test_failed_requests_past_the_budget_get_the_answer_shown(settings: Any) -> None:
    [part] = snippets(THROTTLE_SETTINGS.block)
    configured = part.settings()["BEARER_AUTH"]
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, **configured}
    budget = int(configured["OAUTH_THROTTLE_RATES"]["token"].split("/")[0])
    application = make_application(grant_type="client-credentials")
    for _ in range(budget):
        assert _token_request("198.51.100.7", application).status_code == 401
    throttled = _token_request("198.51.100.7", application)
    assert_response_like(
        parse_shown(THROTTLED.block.lines(), with_headers=True), throttled, learned={}
    )
    # CLIENT_IP_HEADER: another client behind the proxy has its own budget.
    assert _token_request("198.51.100.8", application).status_code == 401
