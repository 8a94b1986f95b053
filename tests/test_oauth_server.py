"""The oauthlib server bearer_auth configures: code digests, lifetimes, grants offered."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from oauth2_provider.models import get_grant_model
from oauth2_provider.oauth2_backends import get_oauthlib_core

from bearer_auth.jwt import decode_access_token, token_checksum
from bearer_auth.models import ApplicationPolicy
from tests.oauth_client import (
    authorization_code,
    exchange,
    make_application,
    pkce_pair,
    token_request,
)

pytestmark = pytest.mark.django_db


def test_authorization_codes_are_stored_as_digests(browser: Client) -> None:
    application = make_application()
    code, verifier = authorization_code(browser, application)
    grant = get_grant_model().objects.get(application=application)
    assert grant.code == token_checksum(code)
    assert code not in grant.code
    assert not get_grant_model().objects.filter(code=code).exists()
    # The digest alone cannot be exchanged.
    assert exchange(application, grant.code, verifier).json()["error"] == "invalid_grant"
    # The code itself still works once, and PKCE is checked against the stored challenge.
    response = exchange(application, code, verifier)
    assert response.status_code == 200, response.content
    assert not get_grant_model().objects.exists()


def test_wrong_verifier_is_still_refused_with_digest_storage(browser: Client) -> None:
    application = make_application()
    code, _verifier = authorization_code(browser, application)
    other_verifier, _ = pkce_pair()
    response = exchange(application, code, other_verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_per_application_access_token_lifetime_is_applied(browser: Client) -> None:
    application = make_application()
    ApplicationPolicy.objects.filter(application=application).update(
        access_token_lifetime=timedelta(seconds=90)
    )
    code, verifier = authorization_code(browser, application)
    body = exchange(application, code, verifier).json()
    assert body["expires_in"] == 90
    claims = decode_access_token(body["access_token"])
    assert claims["exp"] - claims["iat"] == 90


def test_default_lifetime_comes_from_bearer_auth_not_dot(browser: Client, settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "ACCESS_TOKEN_LIFETIME": timedelta(minutes=3)}
    application = make_application()
    code, verifier = authorization_code(browser, application)
    assert exchange(application, code, verifier).json()["expires_in"] == 180


def test_server_offers_no_password_implicit_or_device_grant() -> None:
    server = get_oauthlib_core().server
    assert set(server.grant_types) == {"authorization_code", "client_credentials", "refresh_token"}
    assert "token" not in server.response_types


def test_first_party_refresh_tokens_rotate_at_o_token_by_the_same_rules(
    user: Any, password: str, settings: Any
) -> None:
    # One refresh implementation: the first-party application is a public
    # client, so its refresh token may be presented at /o/token/ with its
    # client_id alone, and rotates exactly as at /auth/token/refresh/.
    from tests.first_party import refresh, refresh_row, sign_in

    tokens = sign_in(user, password)
    family = refresh_row(tokens["refresh_token"]).token_family
    client_id = settings.BEARER_AUTH.get("FIRST_PARTY_CLIENT_ID", "bearer-auth-first-party")
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    response = token_request(client_id, data, secret=None)
    assert response.status_code == 200, response.content
    rotated = response.json()
    assert refresh_row(rotated["refresh_token"]).token_family == family
    # The first-party endpoint continues the same family; the spent token is a replay.
    assert refresh(rotated["refresh_token"]).status_code == 200
    assert token_request(client_id, data, secret=None).json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("url", "status"), [("/o/token/", 400), ("/o/revoke_token/", 400), ("/o/introspect/", 401)]
)
def test_client_endpoints_answer_under_login_required_middleware(
    settings: Any, url: str, status: int
) -> None:
    """Clients have no session: their endpoints answer themselves, never a sign-in redirect."""
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "django.contrib.auth.middleware.LoginRequiredMiddleware",
    ]
    assert Client().post(url, {}).status_code == status
