"""``HasScope`` and ``HasReadWriteScope``: 403 with an RFC 6750 challenge."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.adapters import adapter_client  # noqa: F401  (``client``, over every adapter)
from tests.issuing import issue_access_token
from tests.security.probes import BARE_CHALLENGE, RESOURCE_METADATA

pytestmark = pytest.mark.django_db


def call(client: Client, method: str, path: str, token: str | None) -> Any:
    extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return getattr(client, method)(path, **extra)


def test_has_scope_passes_with_every_required_scope(client: Client, user: Any) -> None:
    token = issue_access_token(user, scope="notes:read profile extra")
    assert call(client, "get", "/test-api/scoped/", token).status_code == 200


@pytest.mark.parametrize(
    "scope",
    [
        "notes:read",
        "profile",
        "notes:rea profile",
        "notes:read:all profile",
        "NOTES:READ profile",
        "",
    ],
)
def test_has_scope_refuses_missing_or_near_miss_scopes(
    client: Client, user: Any, scope: str
) -> None:
    token = issue_access_token(user, scope=scope)
    response = call(client, "get", "/test-api/scoped/", token)
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="The access token does not carry the scope this request needs.", '
        'scope="notes:read profile", ' + RESOURCE_METADATA
    )
    assert response.json()["error"] == "insufficient_scope"


def test_has_scope_without_token_is_401_with_bare_challenge(client: Client) -> None:
    response = call(client, "get", "/test-api/scoped/", None)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BARE_CHALLENGE


def test_read_write_scope_follows_the_method(client: Client, user: Any) -> None:
    reader = issue_access_token(user, scope="notes:read")
    writer = issue_access_token(user, scope="notes:write")
    assert call(client, "get", "/test-api/read-write/", reader).status_code == 200
    refused = call(client, "post", "/test-api/read-write/", reader)
    assert refused.status_code == 403
    assert 'scope="notes:write"' in refused["WWW-Authenticate"]
    assert call(client, "post", "/test-api/read-write/", writer).status_code == 201
    refused = call(client, "get", "/test-api/read-write/", writer)
    assert refused.status_code == 403
    assert 'scope="notes:read"' in refused["WWW-Authenticate"]
