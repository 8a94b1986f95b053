"""OpenID Connect in tests: turn it on for one test, run the code flow with ``openid``."""

from __future__ import annotations

from typing import Any

import pytest

from bearer_auth.oidc.claims import OIDC_SCOPES
from tests.oauth_client import authorization_code, exchange, live_issuer, make_application

#: An OpenID Connect client's scopes (its policy allows exactly these).
OIDC_CLIENT_SCOPES = "openid profile email read"


def enable_oidc(settings: Any) -> None:
    """Turn OpenID Connect on (DOT's ``OIDC_ENABLED``) with its scopes, via the settings fixture."""
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "OIDC_ENABLED": True,
        "SCOPES": {**settings.OAUTH2_PROVIDER["SCOPES"], **OIDC_SCOPES},
    }


def live_oidc_provider(live_server: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The live server as an OpenID Connect provider, its own URL the issuer; return the URL."""
    url = live_issuer(live_server, settings, monkeypatch)
    enable_oidc(settings)
    return url


def make_oidc_application(**kwargs: Any) -> Any:
    """A confidential authorization-code client allowed the OpenID Connect scopes."""
    kwargs.setdefault("allowed_scopes", OIDC_CLIENT_SCOPES)
    return make_application(**kwargs)


def oidc_tokens(browser: Any, application: Any, **overrides: str | None) -> dict[str, Any]:
    """Approve an ``openid`` authorization request, redeem the code; return the token response."""
    overrides.setdefault("scope", "openid profile email")
    code, verifier = authorization_code(browser, application, **overrides)
    response = exchange(application, code, verifier)
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body
