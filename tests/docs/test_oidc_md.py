"""docs/oidc.md, run: its settings turn OpenID Connect on, with nothing else to configure."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from django.core import checks
from django.test import Client

from tests.docs.markdown import sample, snippets
from tests.oauth_client import authorization_code, exchange, make_application

pytestmark = pytest.mark.django_db

PAGE = "docs/oidc.md"
SETTINGS = sample(PAGE, "oidc-settings")


@pytest.fixture
def configured(settings: Any) -> dict[str, Any]:
    [part] = snippets(SETTINGS.block)
    values = part.settings()
    settings.BEARER_AUTH = values["BEARER_AUTH"]
    settings.OAUTH2_PROVIDER = values["OAUTH2_PROVIDER"]
    return values


@pytest.mark.usefixtures("configured")
def test_the_settings_pass_the_checks_and_publish_discovery() -> None:
    assert [m.id for m in checks.run_checks() if m.id.startswith("bearer_auth")] == []
    document = Client().get("/.well-known/openid-configuration").json()
    assert document["issuer"] == "https://auth.example.com"
    assert "openid" in document["scopes_supported"]


@pytest.mark.usefixtures("configured")
def test_the_settings_issue_id_tokens_on_the_managed_keys(browser: Any, user: Any) -> None:
    application = make_application(allowed_scopes="openid read")
    code, verifier = authorization_code(browser, application, scope="openid read")
    body = exchange(application, code, verifier).json()
    header = jwt.get_unverified_header(body["id_token"])
    keys = Client().get("/.well-known/jwks.json").json()["keys"]
    assert header["kid"] in {key["kid"] for key in keys}
    claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert claims["aud"] == application.client_id
    assert claims["iss"] == "https://auth.example.com"
