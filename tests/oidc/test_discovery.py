"""OpenID Connect Discovery 1.0: ``/.well-known/openid-configuration`` and RFC 8414 agree."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError
from django.test import Client

from bearer_auth import keys
from bearer_auth.oidc.claims import claims_supported

pytestmark = pytest.mark.django_db

URL = "/.well-known/openid-configuration"
RFC8414_URL = "/.well-known/oauth-authorization-server"
#: The OpenID Connect fields the RFC 8414 document carries while OIDC is on.
OPENID_FIELDS = (
    "userinfo_endpoint",
    "end_session_endpoint",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
    "claims_supported",
    "prompt_values_supported",
    "claims_parameter_supported",
    "request_parameter_supported",
    "request_uri_parameter_supported",
)


@pytest.mark.usefixtures("oidc")
def test_discovery_document() -> None:
    response = Client().get(URL)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "public" in response["Cache-Control"]
    assert "max-age=300" in response["Cache-Control"]
    data = response.json()
    assert data["issuer"] == "https://issuer.test"
    assert data["authorization_endpoint"] == "https://issuer.test/o/authorize/"
    assert data["token_endpoint"] == "https://issuer.test/o/token/"
    assert data["userinfo_endpoint"] == "https://issuer.test/o/userinfo/"
    assert data["end_session_endpoint"] == "https://issuer.test/o/logout/"
    assert data["jwks_uri"] == "https://issuer.test/.well-known/jwks.json"
    assert data["response_types_supported"] == ["code"]
    assert data["subject_types_supported"] == ["public"]
    assert data["id_token_signing_alg_values_supported"] == ["RS256"]
    assert data["claims_supported"] == claims_supported()
    assert {"sub", "email", "email_verified", "name", "nonce", "auth_time"} <= set(
        data["claims_supported"]
    )
    assert "openid" in data["scopes_supported"]
    assert data["code_challenge_methods_supported"] == ["S256"]
    assert data["grant_types_supported"] == [
        "authorization_code",
        "client_credentials",
        "refresh_token",
    ]
    assert data["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    assert data["prompt_values_supported"] == ["none", "login", "consent"]
    assert data["claims_parameter_supported"] is False
    assert data["request_parameter_supported"] is False
    assert data["request_uri_parameter_supported"] is False


@pytest.mark.usefixtures("oidc")
def test_discovery_and_rfc8414_documents_agree_field_by_field() -> None:
    discovery = Client().get(URL).json()
    metadata = Client().get(RFC8414_URL).json()
    assert set(OPENID_FIELDS) <= set(metadata)
    for field in sorted(set(discovery) | set(metadata)):
        assert discovery.get(field) == metadata.get(field), field


def test_without_oidc_there_is_no_discovery_and_no_openid_metadata() -> None:
    assert Client().get(URL).status_code == 404
    metadata = Client().get(RFC8414_URL).json()
    assert not set(OPENID_FIELDS) & set(metadata)


@pytest.mark.usefixtures("oidc")
@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA", "RS256"])
def test_signing_algorithm_follows_a_rotation(algorithm: str) -> None:
    keys.rotate_signing_key(algorithm=algorithm)
    for url in (URL, RFC8414_URL):
        assert Client().get(url).json()["id_token_signing_alg_values_supported"] == [algorithm]


@pytest.mark.usefixtures("oidc")
def test_a_retired_keys_algorithm_stays_listed_after_the_active_one() -> None:
    """ID tokens of the retired key still verify: RPs that check the list accept them."""
    keys.rotate_signing_key(algorithm="RS256")
    keys.rotate_signing_key(algorithm="EdDSA")
    for url in (URL, RFC8414_URL):
        assert Client().get(url).json()["id_token_signing_alg_values_supported"] == [
            "EdDSA",
            "RS256",
        ]


@pytest.mark.usefixtures("oidc")
def test_discovery_is_public_under_login_required_middleware(settings: Any) -> None:
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "django.contrib.auth.middleware.LoginRequiredMiddleware",
    ]
    for url in (URL, RFC8414_URL):
        assert Client().get(url, HTTP_AUTHORIZATION="Bearer not-a-token").status_code == 200


@pytest.mark.usefixtures("oidc")
def test_discovery_is_read_only() -> None:
    assert Client().post(URL).status_code == 405
    assert Client().head(URL).status_code == 200


@pytest.mark.usefixtures("oidc")
def test_a_database_outage_is_a_503_not_a_500(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> Any:
        raise DatabaseError("down")

    keys.clear_key_cache()
    monkeypatch.setattr("bearer_auth.keys.store.current_key_set", unavailable)
    response = Client().get(URL)
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
