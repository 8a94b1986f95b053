"""Which scopes a client may ask for: every defined scope unless a policy or setting restricts it.

Issue 19 items 1 and 2: the first-party sign-in may ask for every scope
``OAUTH2_PROVIDER["SCOPES"]`` defines unless ``BEARER_AUTH["FIRST_PARTY_SCOPES"]``
restricts it, and an application without a policy row (made with DOT's own
tools) or with an empty one may have every defined scope, as with plain DOT.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from oauth2_provider.models import get_application_model
from rest_framework.test import APIClient

from bearer_auth import policy
from bearer_auth.models import ApplicationPolicy
from bearer_auth.services import first_party_application
from tests.first_party import TOKEN_URL, sign_in
from tests.oauth_client import (
    HTTPS_CALLBACK,
    SECRET,
    authorization_code,
    authorization_params,
    exchange,
    make_application,
    query_of,
    token_request,
)

pytestmark = pytest.mark.django_db

EVERY_SCOPE = {"read", "write", "notes:read", "notes:write"}


def _sign_in_response(user: Any, password: str, scope: str) -> Any:
    return APIClient().post(
        TOKEN_URL,
        {"email": user.get_username(), "password": password, "scope": scope},
        format="json",
    )


def _bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


# The first-party application (item 1).


def test_first_party_sign_in_may_ask_for_every_defined_scope(user: Any, password: str) -> None:
    body = sign_in(user, password, scope="notes:read notes:write")
    assert set(body["scope"].split()) == {"notes:read", "notes:write"}
    assert policy.allowed_scopes(first_party_application()) == EVERY_SCOPE
    api = Client().post("/test-api/read-write/", **_bearer(body["access_token"]))
    assert api.status_code == 201, api.content


def test_first_party_default_scopes_may_name_any_defined_scope(
    settings: Any, user: Any, password: str
) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "DEFAULT_SCOPES": ["read", "notes:read"]}
    body = sign_in(user, password)
    assert set(body["scope"].split()) == {"read", "notes:read"}
    assert Client().get("/test-api/read-write/", **_bearer(body["access_token"])).status_code == 200


def test_first_party_scopes_setting_restricts_sign_in(
    settings: Any, user: Any, password: str
) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "FIRST_PARTY_SCOPES": ["read", "write"]}
    refused = _sign_in_response(user, password, "read notes:read")
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"
    assert sign_in(user, password, scope="write")["scope"] == "write"
    assert policy.allowed_scopes(first_party_application()) == {"read", "write"}
    # Defaults outside the restriction are not granted either.
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "FIRST_PARTY_SCOPES": ["read"],
        "DEFAULT_SCOPES": ["read", "notes:read"],
    }
    assert policy.default_scopes(first_party_application()) == {"read"}
    assert _sign_in_response(user, password, "notes:read").json()["error"] == "invalid_scope"
    assert sign_in(user, password)["scope"] == "read"
    # None of the defaults allowed: a sign-in without scope is refused, never an empty scope.
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "DEFAULT_SCOPES": ["notes:read"]}
    refused = APIClient().post(
        TOKEN_URL, {"email": user.get_username(), "password": password}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"


def test_a_policy_on_the_first_party_application_restricts_it_further(
    user: Any, password: str
) -> None:
    ApplicationPolicy.objects.create(
        application=first_party_application(), allowed_scopes="read write"
    )
    assert _sign_in_response(user, password, "notes:read").json()["error"] == "invalid_scope"
    assert sign_in(user, password)["scope"] == "read write"


# Applications without a policy row, or with an empty one (item 2).


@pytest.mark.parametrize("allowed_scopes", [None, ""])
def test_application_without_allowed_scopes_may_have_every_defined_scope(
    browser: Client, allowed_scopes: str | None
) -> None:
    application = make_application(allowed_scopes=allowed_scopes)
    assert policy.allowed_scopes(application) == EVERY_SCOPE
    code, verifier = authorization_code(browser, application, scope="write notes:write")
    tokens = exchange(application, code, verifier).json()
    assert set(tokens["scope"].split()) == {"write", "notes:write"}
    # An undefined scope is still refused, and no scope means DOT's defaults.
    response = browser.get("/o/authorize/", authorization_params(application, scope="admin"))
    assert query_of(response["Location"])["error"] == "invalid_scope"
    code, verifier = authorization_code(browser, application, scope=None)
    assert exchange(application, code, verifier).json()["scope"] == "read"


def test_application_made_with_dots_createapplication_gets_real_scopes(browser: Client) -> None:
    call_command(
        "createapplication",
        "confidential",
        "authorization-code",
        "--client-id=made-with-dot",
        f"--client-secret={SECRET}",
        f"--redirect-uris={HTTPS_CALLBACK}",
        "--name=Made with DOT",
        verbosity=0,
    )
    application = get_application_model().objects.get(client_id="made-with-dot")
    assert not ApplicationPolicy.objects.filter(application=application).exists()
    code, verifier = authorization_code(browser, application, scope="notes:read")
    assert exchange(application, code, verifier).json()["scope"] == "notes:read"


def test_client_credentials_without_policy_may_ask_for_a_defined_scope() -> None:
    application = make_application(
        grant_type="client-credentials", redirect_uris="", allowed_scopes=None
    )
    response = token_request(
        application.client_id, {"grant_type": "client_credentials", "scope": "notes:write"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "notes:write"


def test_a_policy_with_allowed_scopes_still_restricts(browser: Client) -> None:
    application = make_application(allowed_scopes="read")
    assert policy.allowed_scopes(application) == {"read"}
    response = browser.get("/o/authorize/", authorization_params(application, scope="notes:read"))
    assert query_of(response["Location"])["error"] == "invalid_scope"
