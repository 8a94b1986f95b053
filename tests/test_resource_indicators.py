"""RFC 8707 resource indicators: one resource per grant, ``aud`` = the resource, audience checks."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_refresh_token_model,
)

from bearer_auth.authentication import BearerTokenAuthentication
from bearer_auth.exceptions import InvalidToken
from tests.issuing import claims_of, issue_access_token
from tests.oauth_client import (
    authorization_code,
    authorization_params,
    basic_auth,
    client_credentials_token,
    consent,
    exchange,
    make_application,
    query_of,
    token_request,
)
from tests.views import OTHER_RESOURCE

pytestmark = pytest.mark.django_db

DEFAULT_RESOURCE = "https://issuer.test"
THIRD_RESOURCE = "https://tools.issuer.test/"
OTHER_URL = "/test-api/other-resource/"
DEFAULT_URL = "/test-api/whoami/"


@pytest.fixture(autouse=True)
def resources(settings: Any) -> None:
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "RESOURCES": {
            OTHER_RESOURCE: {"name": "Notes (MCP)", "scopes": ["notes:read", "notes:write"]},
            THIRD_RESOURCE: {},
        },
    }


def _get(url: str, token: str) -> Any:
    return Client().get(url, HTTP_AUTHORIZATION=f"Bearer {token}")


def _tokens_for(browser: Client, application: Any, **params: str) -> dict[str, Any]:
    code, verifier = authorization_code(browser, application, scope="notes:read", **params)
    response = exchange(application, code, verifier)
    assert response.status_code == 200, response.content
    return dict(response.json())


# The token's audience


def test_a_code_for_a_resource_gives_a_token_for_it_alone(browser: Client) -> None:
    application = make_application()
    tokens = _tokens_for(browser, application, resource=OTHER_RESOURCE)
    assert claims_of(tokens["access_token"])["aud"] == OTHER_RESOURCE
    assert _get(OTHER_URL, tokens["access_token"]).status_code == 200
    refused = _get(DEFAULT_URL, tokens["access_token"])
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_token"
    # DOT keeps the resource on the rows (RFC 8707 at refresh).
    assert get_access_token_model().objects.get().resource == [OTHER_RESOURCE]
    assert get_refresh_token_model().objects.get().resource == [OTHER_RESOURCE]


def test_without_resource_the_token_is_for_the_default_resource_only(browser: Client) -> None:
    application = make_application()
    tokens = _tokens_for(browser, application)
    assert claims_of(tokens["access_token"])["aud"] == DEFAULT_RESOURCE
    assert _get(DEFAULT_URL, tokens["access_token"]).status_code == 200
    assert _get(OTHER_URL, tokens["access_token"]).status_code == 401


def test_the_exchange_may_repeat_the_grants_resource(browser: Client) -> None:
    application = make_application()
    code, verifier = authorization_code(
        browser, application, scope="notes:read", resource=OTHER_RESOURCE
    )
    response = exchange(application, code, verifier, resource=OTHER_RESOURCE)
    assert response.status_code == 200, response.content
    assert claims_of(response.json()["access_token"])["aud"] == OTHER_RESOURCE


def test_the_exchange_may_name_the_default_resource_of_a_grant_without_one(
    browser: Client,
) -> None:
    application = make_application()
    code, verifier = authorization_code(browser, application, scope="notes:read")
    response = exchange(application, code, verifier, resource=DEFAULT_RESOURCE)
    assert response.status_code == 200, response.content
    assert claims_of(response.json()["access_token"])["aud"] == DEFAULT_RESOURCE


@pytest.mark.parametrize(
    ("granted", "asked"),
    [
        (None, OTHER_RESOURCE),  # a grant for the default resource
        (OTHER_RESOURCE, THIRD_RESOURCE),
        (OTHER_RESOURCE, DEFAULT_RESOURCE),
        (OTHER_RESOURCE, "https://unknown.example/api"),
    ],
)
def test_the_exchange_cannot_widen_the_grant(
    browser: Client, granted: str | None, asked: str
) -> None:
    application = make_application()
    code, verifier = authorization_code(browser, application, scope="notes:read", resource=granted)
    response = exchange(application, code, verifier, resource=asked)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"
    assert not get_access_token_model().objects.exists()
    # Refused before the code was spent: the exchange the grant allows still works.
    assert exchange(application, code, verifier).status_code == 200


def test_the_exchange_of_a_code_for_a_resource_no_longer_configured_is_refused(
    browser: Client, settings: Any
) -> None:
    application = make_application()
    code, verifier = authorization_code(
        browser, application, scope="notes:read", resource=OTHER_RESOURCE
    )
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "RESOURCES": {}}
    response = exchange(application, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


def test_a_resource_costs_the_exchange_no_statement(browser: Client) -> None:
    application = make_application()
    counts = []
    # The first exchange also reads the key set and the scopes: leave it out.
    for resource in (None, None, OTHER_RESOURCE):
        code, verifier = authorization_code(
            browser, application, scope="notes:read", resource=resource
        )
        with CaptureQueriesContext(connection) as queries:
            assert exchange(application, code, verifier).status_code == 200
        counts.append(len(queries))
    assert counts[1] == counts[2]


# Refresh


def _refresh(application: Any, refresh_token: str, **extra: str) -> Any:
    return token_request(
        application.client_id,
        {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra},
    )


def test_a_refresh_keeps_the_familys_resource(browser: Client) -> None:
    application = make_application()
    tokens = _tokens_for(browser, application, resource=OTHER_RESOURCE)
    refreshed = _refresh(application, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.content
    assert claims_of(refreshed.json()["access_token"])["aud"] == OTHER_RESOURCE
    again = _refresh(application, refreshed.json()["refresh_token"], resource=OTHER_RESOURCE)
    assert again.status_code == 200, again.content
    assert claims_of(again.json()["access_token"])["aud"] == OTHER_RESOURCE
    assert _get(OTHER_URL, again.json()["access_token"]).status_code == 200


@pytest.mark.parametrize("granted", [None, OTHER_RESOURCE])
def test_a_refresh_cannot_widen_the_familys_resource(browser: Client, granted: str | None) -> None:
    application = make_application()
    tokens = _tokens_for(browser, application, **({"resource": granted} if granted else {}))
    refused = _refresh(application, tokens["refresh_token"], resource=THIRD_RESOURCE)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_target"
    # Refused before anything was rotated: the refresh token still works.
    assert _refresh(application, tokens["refresh_token"]).status_code == 200


def test_the_first_party_refresh_stays_on_the_default_resource(
    client: Client, user: Any, password: str
) -> None:
    signed_in = client.post(
        "/auth/token/",
        {"email": user.email, "password": password},
        content_type="application/json",
    )
    assert signed_in.status_code == 200, signed_in.content
    refreshed = client.post(
        "/auth/token/refresh/",
        {"refresh_token": signed_in.json()["refresh_token"]},
        content_type="application/json",
    )
    assert refreshed.status_code == 200, refreshed.content
    assert claims_of(refreshed.json()["access_token"])["aud"] == DEFAULT_RESOURCE


# Authorization requests


@pytest.mark.parametrize(
    "resource",
    [
        "https://unknown.example/api",
        OTHER_RESOURCE + "/",  # identifiers compare exactly
        [OTHER_RESOURCE, THIRD_RESOURCE],  # one resource per grant
    ],
)
def test_an_authorization_request_for_an_unknown_or_several_resources_is_invalid_target(
    browser: Client, resource: str | list[str]
) -> None:
    application = make_application()
    response = browser.get(
        "/o/authorize/", {**authorization_params(application), "resource": resource}
    )
    assert response.status_code == 302
    answer = query_of(response["Location"])
    assert answer["error"] == "invalid_target"
    assert answer["error_description"]
    assert response["Location"].startswith(application.redirect_uris)


def test_the_consent_page_keeps_the_resource_to_the_grant(browser: Client) -> None:
    application = make_application()
    response = consent(browser, authorization_params(application, resource=OTHER_RESOURCE))
    assert response.status_code == 302
    assert "code" in query_of(response["Location"])


# Client credentials


def test_client_credentials_may_name_any_configured_resource() -> None:
    application = make_application(grant_type="client-credentials")
    response = token_request(
        application.client_id,
        {"grant_type": "client_credentials", "scope": "notes:read", "resource": OTHER_RESOURCE},
    )
    assert response.status_code == 200, response.content
    token = response.json()["access_token"]
    assert claims_of(token)["aud"] == OTHER_RESOURCE
    assert _get(OTHER_URL, token).status_code == 200
    assert claims_of(client_credentials_token(application))["aud"] == DEFAULT_RESOURCE


@pytest.mark.parametrize(
    "resource", ["https://unknown.example/api", "not a uri", "https://issuer.test/mcp#x"]
)
def test_client_credentials_for_an_unknown_resource_is_invalid_target(resource: str) -> None:
    application = make_application(grant_type="client-credentials")
    response = token_request(
        application.client_id,
        {"grant_type": "client_credentials", "scope": "notes:read", "resource": resource},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


def test_client_credentials_for_two_resources_is_invalid_target() -> None:
    application = make_application(grant_type="client-credentials")
    response = Client().post(
        "/o/token/",
        f"grant_type=client_credentials&scope=notes%3Aread&resource={OTHER_RESOURCE}"
        f"&resource={THIRD_RESOURCE}",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


# The resource server side


def test_a_verified_token_is_refused_at_another_resource_from_the_cache(user: Any) -> None:
    """The per-process cache of verified tokens checks ``aud`` again."""
    token = issue_access_token(user, scope="notes:read", resource=OTHER_RESOURCE)
    for _ in range(2):
        assert _get(OTHER_URL, token).status_code == 200
        assert _get(DEFAULT_URL, token).status_code == 401
    default_token = issue_access_token(user, scope="notes:read")
    for _ in range(2):
        assert _get(DEFAULT_URL, default_token).status_code == 200
        assert _get(OTHER_URL, default_token).status_code == 401


def test_the_class_and_the_instance_name_the_resource(user: Any) -> None:
    token = issue_access_token(user, scope="notes:read", resource=THIRD_RESOURCE)
    assert BearerTokenAuthentication(resource=THIRD_RESOURCE).authenticate_credentials(token)
    assert BearerTokenAuthentication.for_resource(THIRD_RESOURCE)().authenticate_credentials(token)
    with pytest.raises(InvalidToken):
        BearerTokenAuthentication().authenticate_credentials(token)
    with pytest.raises(InvalidToken):
        BearerTokenAuthentication(resource=OTHER_RESOURCE).authenticate_credentials(token)


def test_stateless_mode_checks_the_audience_too(user: Any, settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFY_MODE": "stateless"}
    token = issue_access_token(user, scope="notes:read", resource=OTHER_RESOURCE)
    assert _get(OTHER_URL, token).status_code == 200
    assert _get(DEFAULT_URL, token).status_code == 401


def test_opaque_tokens_are_checked_against_their_rows_resource(
    browser: Client, settings: Any
) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "ACCESS_TOKEN_FORMAT": "opaque"}
    application = make_application()
    for_other = _tokens_for(browser, application, resource=OTHER_RESOURCE)["access_token"]
    assert _get(OTHER_URL, for_other).status_code == 200
    assert _get(DEFAULT_URL, for_other).status_code == 401
    for_default = _tokens_for(browser, application)["access_token"]
    assert _get(DEFAULT_URL, for_default).status_code == 200
    assert _get(OTHER_URL, for_default).status_code == 401


# Introspection


def _introspect(token: str) -> dict[str, Any]:
    caller = make_application(grant_type="client-credentials")
    response = Client().post(
        "/o/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic_auth(caller.client_id)
    )
    assert response.status_code == 200, response.content
    return dict(response.json())


def test_a_token_for_any_configured_resource_introspects_as_active(user: Any) -> None:
    for resource, aud in ((OTHER_RESOURCE, OTHER_RESOURCE), (None, DEFAULT_RESOURCE)):
        answer = _introspect(issue_access_token(user, scope="notes:read", resource=resource))
        assert answer["active"] is True
        assert answer["aud"] == aud


def test_a_token_for_an_unconfigured_resource_is_inactive(user: Any, settings: Any) -> None:
    token = issue_access_token(user, scope="notes:read", resource=OTHER_RESOURCE)
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "RESOURCES": {}}
    assert _introspect(token) == {"active": False}


def test_an_opaque_token_for_a_resource_introspects_as_active(
    browser: Client, settings: Any
) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "ACCESS_TOKEN_FORMAT": "opaque"}
    application = make_application()
    token = _tokens_for(browser, application, resource=OTHER_RESOURCE)["access_token"]
    assert _introspect(token)["active"] is True
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "RESOURCES": {}}
    assert _introspect(token) == {"active": False}


# The consent page


def test_the_consent_page_names_the_resource_the_access_is_for(browser: Client) -> None:
    application = make_application()
    page = browser.get("/o/authorize/", authorization_params(application, resource=OTHER_RESOURCE))
    assert page.status_code == 200
    assert "The access is for <strong>Notes (MCP)</strong> only." in page.content.decode()
    plain = browser.get("/o/authorize/", authorization_params(application))
    assert "The access is for" not in plain.content.decode()


def test_the_consent_page_says_when_a_client_registered_itself(
    browser: Client, settings: Any
) -> None:
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "CLIENT_REGISTRATION": "open",
        "REGISTRATION_SCOPES": ["notes:read"],
    }
    answer = Client().post(
        "/o/register/",
        {"redirect_uris": ["http://127.0.0.1:9/callback"], "client_name": "Totally Your Bank"},
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    registered = get_application_model().objects.get(client_id=answer.json()["client_id"])
    page = browser.get(
        "/o/authorize/", authorization_params(registered, scope="notes:read")
    ).content.decode()
    assert "Totally Your Bank registered itself" in page
    made_here = browser.get("/o/authorize/", authorization_params(make_application())).content
    assert b"registered itself" not in made_here
