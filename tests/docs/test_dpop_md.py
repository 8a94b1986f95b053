"""docs/dpop.md, run: its settings (checks, nonces at both places) and its client.

The full flows with requests-oauth2client (code + PKCE + dpop_jkt, refresh,
the stolen-token refusals) are ``tests/test_dpop_clients.py``.
"""

from __future__ import annotations

import functools
import sys
import types
from typing import Any

import jwt
import pytest
import requests_oauth2client
from rest_framework.test import APIClient

from bearer_auth import dpop
from bearer_auth.checks import check_dpop, check_dpop_replay_cache
from tests.docs.markdown import sample, snippets
from tests.dpop_support import ProofKey
from tests.factories import UserFactory
from tests.first_party import TOKEN_URL
from tests.oauth_client import SECRET, live_issuer, make_application

PAGE = "docs/dpop.md"
SETTINGS = sample(PAGE, "dpop-settings")
CLIENT = sample(PAGE, "dpop-client")


@pytest.fixture
def values() -> dict[str, Any]:
    [part] = snippets(SETTINGS.block)
    return part.settings()


def test_the_settings_are_the_defaults_but_for_the_nonces(values: dict[str, Any]) -> None:
    from bearer_auth.settings import DEFAULTS

    documented = values["BEARER_AUTH"]
    for name, value in documented.items():
        if name not in ("ISSUER", "DPOP_NONCE_REQUIRED"):
            assert DEFAULTS[name] == value, name
    assert DEFAULTS["DPOP_NONCE_REQUIRED"] == []


def test_the_settings_pass_the_checks(settings: Any, values: dict[str, Any]) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, **values["BEARER_AUTH"]}
    settings.MIDDLEWARE = values["MIDDLEWARE"]
    settings.CACHES = {**settings.CACHES, **values["CACHES"]}
    assert check_dpop(None) == []
    assert check_dpop_replay_cache(None) == []


@pytest.mark.django_db
def test_with_the_settings_a_sign_in_needs_a_nonce(settings: Any, values: dict[str, Any]) -> None:
    documented = values["BEARER_AUTH"]
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        **{name: value for name, value in documented.items() if name != "ISSUER"},
    }
    user = UserFactory()
    key = ProofKey()
    credentials = {"email": user.get_username(), "password": "correct horse battery staple"}
    first = APIClient().post(
        TOKEN_URL, credentials, format="json", **key.headers("POST", TOKEN_URL)
    )
    assert first.json()["error"] == "use_dpop_nonce"
    nonce = first[dpop.NONCE_HEADER]
    second = APIClient().post(
        TOKEN_URL, credentials, format="json", **key.headers("POST", TOKEN_URL, nonce=nonce)
    )
    assert second.json()["token_type"] == "DPoP"


@pytest.mark.django_db(transaction=True)
def test_the_client_gets_a_bound_token_and_calls_the_api(
    live_server: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer = live_issuer(live_server, settings, monkeypatch)
    scopes = settings.OAUTH2_PROVIDER["SCOPES"]
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "SCOPES": {**scopes, "profile": "Your profile"},
    }
    # The live server speaks http; the library refuses that unless testing.
    shim = types.ModuleType("requests_oauth2client")
    shim.OAuth2Client = functools.partial(requests_oauth2client.OAuth2Client, testing=True)
    shim.ApiClient = requests_oauth2client.ApiClient
    monkeypatch.setitem(sys.modules, "requests_oauth2client", shim)
    application = make_application(
        grant_type="client-credentials", allowed_scopes="read notes:read profile"
    )
    [part] = snippets(CLIENT.block)
    namespace = part.run(ISSUER=issuer, CLIENT_ID=application.client_id, CLIENT_SECRET=SECRET)
    token = namespace["token"]
    claims = jwt.decode(token.access_token, options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": token.dpop_key.dpop_jkt}
    assert namespace["answer"] == {
        "user": None,
        "scopes": ["notes:read", "profile"],
        "client_id": application.client_id,
        "jti": claims["jti"],
    }
