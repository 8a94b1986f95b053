"""CORS through django-cors-headers, configured as docs/browser-apps.md says.

The app on another origin may send cookie-mode requests (credentials, the
``Refresh-Token-Delivery`` header) and API calls with ``Authorization``;
no other origin gets a CORS answer, so the browser blocks it. The JWKS and
metadata documents stay readable from any origin. The same in Chromium:
``tests/browser/test_spa.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from corsheaders.defaults import default_headers
from rest_framework.test import APIClient

from tests.first_party import REFRESH_URL, TOKEN_URL, preflight

pytestmark = pytest.mark.django_db

APP = "https://app.example.com"


@pytest.fixture(autouse=True)
def cors(settings: Any) -> None:
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "corsheaders"]
    settings.MIDDLEWARE = ["corsheaders.middleware.CorsMiddleware", *settings.MIDDLEWARE]
    settings.CORS_ALLOWED_ORIGINS = [APP]
    settings.CORS_ALLOW_CREDENTIALS = True
    settings.CORS_ALLOW_HEADERS = (*default_headers, "refresh-token-delivery")
    settings.CORS_URLS_REGEX = r"^/(auth|test-api)/"
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "BROWSER_APP_ORIGINS": [APP]}


def allowed_headers(response: Any) -> set[str]:
    return {name.strip() for name in response["Access-Control-Allow-Headers"].split(",")}


def test_the_app_may_send_cookie_mode_requests_with_credentials() -> None:
    response = preflight(REFRESH_URL, APP, "content-type,refresh-token-delivery")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == APP
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert {"content-type", "refresh-token-delivery"} <= allowed_headers(response)


def test_the_app_may_call_the_api_with_an_authorization_header() -> None:
    response = preflight("/test-api/whoami/", APP, "authorization")

    assert response["Access-Control-Allow-Origin"] == APP
    assert "authorization" in allowed_headers(response)


@pytest.mark.parametrize("origin", ["https://evil.example", "https://app.example.com.evil.example"])
def test_no_other_origin_gets_a_cors_answer(origin: str) -> None:
    response = preflight(REFRESH_URL, origin, "content-type,refresh-token-delivery")

    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Credentials" not in response


def test_a_credentialed_cookie_refresh_from_the_app_is_readable_by_it(
    user: Any, password: str
) -> None:
    client = APIClient()
    headers = {"HTTP_ORIGIN": APP, "HTTP_REFRESH_TOKEN_DELIVERY": "cookie"}
    signed_in = client.post(
        TOKEN_URL,
        {"email": user.email, "password": password},
        format="json",
        secure=True,
        **headers,
    )

    refreshed = client.post(REFRESH_URL, {}, format="json", secure=True, **headers)

    for response in (signed_in, refreshed):
        assert response.status_code == 200, response.content
        assert response["Access-Control-Allow-Origin"] == APP
        assert response["Access-Control-Allow-Credentials"] == "true"


@pytest.mark.parametrize(
    "path",
    [
        "/.well-known/jwks.json",
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-protected-resource",
    ],
)
@pytest.mark.parametrize("origin", [APP, "https://anyone.example"])
def test_the_public_documents_are_readable_from_any_origin(path: str, origin: str) -> None:
    response = APIClient().get(path, HTTP_ORIGIN=origin, secure=True)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response
