"""RFC 9728: the metadata documents, the challenge that points at them, their settings' checks."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bearer_auth.resources import metadata_url
from tests.issuing import issue_access_token
from tests.security.probes import DPOP_OFFER
from tests.views import OTHER_RESOURCE

pytestmark = pytest.mark.django_db

WELL_KNOWN = "/.well-known/oauth-protected-resource"


@pytest.fixture
def resources(settings: Any) -> None:
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "RESOURCES": {
            OTHER_RESOURCE: {
                "name": "Notes (MCP)",
                "scopes": ["notes:read", "notes:write"],
                "documentation": "https://issuer.test/docs/mcp",
            },
        },
    }


def test_the_default_resource_is_described_at_the_well_known_root() -> None:
    with CaptureQueriesContext(connection) as queries:
        response = Client().get(WELL_KNOWN)
    assert response.status_code == 200
    assert len(queries) == 0
    document = response.json()
    assert document["resource"] == "https://issuer.test"
    assert document["authorization_servers"] == ["https://issuer.test"]
    assert document["bearer_methods_supported"] == ["header"]
    assert {"read", "write", "notes:read"} <= set(document["scopes_supported"])
    assert "resource_name" not in document
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "max-age=300" in response["Cache-Control"]


@pytest.mark.usefixtures("resources")
def test_a_resource_with_a_path_is_described_at_the_path_suffixed_url() -> None:
    response = Client().get(f"{WELL_KNOWN}/mcp")
    assert response.status_code == 200
    assert response.json() == {
        "resource": OTHER_RESOURCE,
        "authorization_servers": ["https://issuer.test"],
        "scopes_supported": ["notes:read", "notes:write"],
        "bearer_methods_supported": ["header"],
        "resource_name": "Notes (MCP)",
        "resource_documentation": "https://issuer.test/docs/mcp",
        "dpop_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "RS256", "PS256"],
        "dpop_bound_access_tokens_required": False,
    }
    assert metadata_url(OTHER_RESOURCE) == f"https://issuer.test{WELL_KNOWN}/mcp"


@pytest.mark.usefixtures("resources")
@pytest.mark.parametrize("suffix", ["/mcp/", "/other", "/mcp/x", "/MCP"])
def test_other_paths_are_404(suffix: str) -> None:
    assert Client().get(f"{WELL_KNOWN}{suffix}").status_code == 404


def test_an_audience_with_a_path_moves_the_default_document(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "AUDIENCE": "https://api.test/v1"}
    assert Client().get(WELL_KNOWN).status_code == 404
    response = Client().get(f"{WELL_KNOWN}/v1")
    assert response.status_code == 200
    assert response.json()["resource"] == "https://api.test/v1"


def test_two_resources_with_one_path_are_told_apart_by_host(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "RESOURCES": {"https://a.test/mcp": {}, "https://b.test/mcp": {}},
    }
    for host in ("a.test", "b.test"):
        response = Client().get(f"{WELL_KNOWN}/mcp", HTTP_HOST=host)
        assert response.json()["resource"] == f"https://{host}/mcp"
    assert Client().get(f"{WELL_KNOWN}/mcp", HTTP_HOST="c.test").status_code == 404


def test_a_non_url_audience_has_no_metadata_url(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "AUDIENCE": "my-api"}
    assert metadata_url("my-api") is None
    response = Client().get("/test-api/whoami/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == f'Bearer realm="api", {DPOP_OFFER}'


# The challenge


@pytest.mark.usefixtures("resources")
def test_every_challenge_of_another_resource_names_its_metadata(user: Any) -> None:
    expected = f'resource_metadata="https://issuer.test{WELL_KNOWN}/mcp"'
    bare = Client().get("/test-api/other-resource/")
    assert bare.status_code == 401
    assert bare["WWW-Authenticate"] == f'Bearer realm="api", {expected}, {DPOP_OFFER}'
    wrong_audience = Client().get(
        "/test-api/other-resource/",
        HTTP_AUTHORIZATION=f"Bearer {issue_access_token(user, scope='notes:read')}",
    )
    assert wrong_audience.status_code == 401
    assert wrong_audience["WWW-Authenticate"].startswith(
        'Bearer realm="api", error="invalid_token"'
    )
    assert wrong_audience["WWW-Authenticate"].endswith(expected)
    read_only = issue_access_token(user, scope="read", resource=OTHER_RESOURCE)
    lacking = Client().get("/test-api/other-resource/", HTTP_AUTHORIZATION=f"Bearer {read_only}")
    assert lacking.status_code == 403
    assert lacking["WWW-Authenticate"].endswith(f'scope="notes:read", {expected}')


def test_the_challenge_leaves_the_metadata_out_when_turned_off(settings: Any, user: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "RESOURCE_METADATA_IN_CHALLENGE": False}
    bare = Client().get("/test-api/whoami/")["WWW-Authenticate"]
    assert bare == f'Bearer realm="api", {DPOP_OFFER}'
    refused = Client().get("/test-api/whoami/", HTTP_AUTHORIZATION="Bearer a.b.c")
    assert "resource_metadata" not in refused["WWW-Authenticate"]
    lacking = Client().get(
        "/test-api/scoped/",
        HTTP_AUTHORIZATION=f"Bearer {issue_access_token(user, scope='read')}",
    )
    assert lacking.status_code == 403
    assert "resource_metadata" not in lacking["WWW-Authenticate"]


# The authorization server's metadata


@pytest.mark.parametrize(
    ("policy", "advertised"),
    [("closed", False), ("initial_access_token", True), ("open", True)],
)
def test_the_registration_endpoint_is_advertised_unless_registration_is_closed(
    settings: Any, policy: str, advertised: bool
) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "CLIENT_REGISTRATION": policy}
    document = Client().get("/.well-known/oauth-authorization-server").json()
    if advertised:
        assert document["registration_endpoint"] == "https://issuer.test/o/register/"
    else:
        assert "registration_endpoint" not in document


# Checks


@pytest.mark.parametrize(
    "resources",
    [
        ["https://issuer.test/mcp"],
        {"issuer.test/mcp": {}},
        {"ftp://issuer.test/mcp": {}},
        {"https://issuer.test/mcp#top": {}},
        {"https://user@issuer.test/mcp": {}},
        {"https://issuer.test/mcp": None},
        {"https://issuer.test/mcp": {"scope": ["notes:read"]}},
        {"https://issuer.test/mcp": {"scopes": "notes:read"}},
        {"https://issuer.test/mcp": {"scopes": [1]}},
    ],
)
def test_bad_resources_are_e016(settings: Any, resources: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "RESOURCES": resources}
    found = [message.id for message in checks.run_checks() if message.id == "bearer_auth.E016"]
    assert found == ["bearer_auth.E016"]


@pytest.mark.usefixtures("resources")
def test_good_resources_pass_the_checks() -> None:
    assert not [message for message in checks.run_checks() if message.id == "bearer_auth.E016"]
