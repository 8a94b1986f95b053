"""docs/browser-apps.md, run: its settings with django-cors-headers, as a project writes them.

The page's JavaScript runs in Chromium: ``tests/browser/test_browser_apps_md.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from bearer_auth.checks import check_browser_apps
from tests.docs.markdown import sample, snippets
from tests.first_party import REFRESH_URL, TOKEN_URL, preflight

pytestmark = pytest.mark.django_db

PAGE = "docs/browser-apps.md"
SETTINGS = sample(PAGE, "browser-settings")
APP = "https://app.example.com"
API_HOST = "api.example.com"


@pytest.fixture
def configured(settings: Any) -> dict[str, Any]:
    """The page's settings over the test project's (its URLs, database and keys stay)."""
    [part] = snippets(SETTINGS.block)
    values = part.settings()
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, **values["BEARER_AUTH"]}
    settings.INSTALLED_APPS = [
        *settings.INSTALLED_APPS,
        *(app for app in values["INSTALLED_APPS"] if app not in settings.INSTALLED_APPS),
    ]
    for name in (
        "MIDDLEWARE",
        "CORS_ALLOWED_ORIGINS",
        "CORS_ALLOW_CREDENTIALS",
        "CORS_ALLOW_HEADERS",
        "CORS_URLS_REGEX",
    ):
        setattr(settings, name, values[name])
    settings.ALLOWED_HOSTS = [API_HOST]
    return values


def test_the_settings_pass_the_checks(configured: dict[str, Any]) -> None:
    assert check_browser_apps(None) == []


def test_the_app_signs_in_and_refreshes_across_origins(
    configured: dict[str, Any], user: Any, password: str
) -> None:
    client = APIClient(HTTP_HOST=API_HOST)
    allowed = preflight(REFRESH_URL, APP, "content-type,refresh-token-delivery", client=client)
    cookie_mode = {"HTTP_ORIGIN": APP, "HTTP_REFRESH_TOKEN_DELIVERY": "cookie"}
    signed_in = client.post(
        TOKEN_URL,
        {"email": user.email, "password": password},
        format="json",
        secure=True,
        **cookie_mode,
    )
    refreshed = client.post(REFRESH_URL, {}, format="json", secure=True, **cookie_mode)

    assert allowed["Access-Control-Allow-Origin"] == APP
    assert allowed["Access-Control-Allow-Credentials"] == "true"
    for response in (signed_in, refreshed):
        assert response.status_code == 200, response.content
        assert "refresh_token" not in response.json()
        assert response.cookies["__Host-bearer_refresh"]["httponly"] is True
        assert response["Access-Control-Allow-Origin"] == APP


def test_another_origin_gets_no_cors_answer_and_no_cookie_mode(
    configured: dict[str, Any], user: Any, password: str
) -> None:
    client = APIClient(HTTP_HOST=API_HOST)
    refused = preflight(
        REFRESH_URL, "https://evil.example", "refresh-token-delivery", client=client
    )
    signed_in = client.post(
        TOKEN_URL,
        {"email": user.email, "password": password},
        format="json",
        secure=True,
        HTTP_ORIGIN="https://evil.example",
        HTTP_REFRESH_TOKEN_DELIVERY="cookie",
    )

    assert "Access-Control-Allow-Origin" not in refused
    assert signed_in.status_code == 400
    assert signed_in.json()["error"] == "invalid_request"
