"""Obtain real tokens the way clients do: first-party sign-in and the OAuth endpoints."""

from __future__ import annotations

from typing import Any

from django.test import Client

from tests.oauth_client import (
    authorization_params,
    basic_auth,
    consent,
    make_application,
    pkce_pair,
    query_of,
)


def authorize(user: Any, application: Any, **overrides: str) -> tuple[str, str]:
    """Sign ``user`` in to the browser, approve the consent page; return (code, verifier)."""
    browser = Client()
    browser.force_login(user)
    verifier, challenge = pkce_pair()
    response = consent(browser, authorization_params(application, challenge, **overrides))
    assert response.status_code == 302, response.content
    params = query_of(response["Location"])
    assert "code" in params, params
    return params["code"], verifier


def exchange(application: Any, code: str, verifier: str) -> Any:
    """Redeem ``code`` at ``/o/token/`` as the confidential ``application``."""
    return Client().post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": application.redirect_uris.split()[0],
        },
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )


def oauth_tokens(user: Any, application: Any | None = None, **overrides: str) -> dict[str, Any]:
    """Run the authorization-code + PKCE flow; return the token response."""
    application = application or make_application()
    code, verifier = authorize(user, application, **overrides)
    response = exchange(application, code, verifier)
    assert response.status_code == 200, response.content
    return dict(response.json())


def client_credentials_token(application: Any | None = None, scope: str = "read") -> str:
    """Return a client-credentials access token of a confidential client."""
    application = application or make_application(grant_type="client-credentials")
    response = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": scope},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])
