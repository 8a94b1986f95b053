"""Minting RFC 9068 access tokens, and verifying them as a third party would."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from jwcrypto import jwk
from jwcrypto import jwt as jwcrypto_jwt
from oauth2_provider.models import get_access_token_model

from bearer_auth.tokens import (
    PASSWORD_CLAIM,
    decode_access_token,
    mint_access_token,
    password_fingerprint,
    token_checksum,
    user_subject,
)
from tests.factories import ApplicationFactory
from tests.issuing import claims_of, header_of

pytestmark = pytest.mark.django_db


def test_header_names_key_algorithm_and_type(user: Any) -> None:
    minted = mint_access_token(user=user, client_id="c1", scope="read")
    header = header_of(minted.token)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "RS256"
    assert isinstance(header["kid"], str)
    assert header["kid"]
    assert set(header) == {"typ", "alg", "kid"}


def test_claims_follow_rfc_9068(user: Any) -> None:
    minted = mint_access_token(user=user, client_id="c1", scope="read write")
    claims = claims_of(minted.token)
    assert set(claims) == {
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "jti",
        "client_id",
        "scope",
        PASSWORD_CLAIM,
    }
    assert claims["iss"] == "https://issuer.test"
    assert claims["aud"] == "https://issuer.test"
    assert claims["sub"] == user_subject(user)
    assert claims["client_id"] == "c1"
    assert claims["scope"] == "read write"
    assert claims["exp"] - claims["iat"] == 300
    assert minted.expires_at.timestamp() == claims["exp"]
    # 128 random bits, base64url without padding.
    assert len(base64.urlsafe_b64decode(claims["jti"] + "==")) == 16
    assert claims[PASSWORD_CLAIM] == password_fingerprint(user)


def test_no_personal_data_in_claims(user: Any) -> None:
    token = mint_access_token(user=user, client_id="c1", scope="read").token
    payload = base64.urlsafe_b64decode(token.split(".")[1] + "==").decode()
    assert user.get_username() not in payload
    assert user.password not in payload


@pytest.mark.custom_user_model
def test_subject_is_the_public_id_not_the_database_id(user: Any) -> None:
    assert user_subject(user) == str(user.public_id)


def test_jtis_are_unique(user: Any) -> None:
    jtis = {mint_access_token(user=user, client_id="c", scope="").jti for _ in range(50)}
    assert len(jtis) == 50


def test_client_credentials_subject_is_the_client(db: Any) -> None:
    minted = mint_access_token(user=None, client_id="machine", scope="read")
    assert minted.claims["sub"] == "machine"
    assert PASSWORD_CLAIM not in minted.claims


def test_lifetime_and_audience_settings(user: Any, settings: Any) -> None:
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "AUDIENCE": "https://api.test",
        "ACCESS_TOKEN_LIFETIME": timedelta(minutes=2),
    }
    claims = mint_access_token(user=user, client_id="c", scope="").claims
    assert claims["aud"] == "https://api.test"
    assert claims["exp"] - claims["iat"] == 120
    assert decode_access_token(mint_access_token(user=user, client_id="c", scope="").token)


def test_password_fingerprint_changes_with_the_hash_only(user: Any) -> None:
    before = password_fingerprint(user)
    user.full_name = "x" if hasattr(user, "full_name") else ""
    assert password_fingerprint(user) == before
    user.set_password("another-password-9")
    assert password_fingerprint(user) != before
    assert user.password[-10:] not in password_fingerprint(user)


def test_third_party_verifies_with_published_jwks(client: Client, user: Any) -> None:
    """An independent JOSE library (jwcrypto) checks the token against the JWKS URL."""
    token = mint_access_token(user=user, client_id="c1", scope="read").token
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    key_set = jwk.JWKSet.from_json(json.dumps(response.json()))
    verified = jwcrypto_jwt.JWT(
        jwt=token,
        key=key_set,
        algs=["RS256", "ES256", "EdDSA"],
        expected_type="JWS",
        check_claims={"iss": "https://issuer.test", "aud": "https://issuer.test", "exp": None},
    )
    claims = json.loads(verified.claims)
    assert claims["sub"] == user_subject(user)
    assert json.loads(verified.token.objects["protected"])["typ"] == "at+jwt"


def test_dot_token_endpoint_issues_the_same_jwts(client: Client) -> None:
    """Client credentials at /o/token/: DOT stores the digest of bearer_auth's JWT."""
    application = ApplicationFactory(
        client_id="machine-client",
        authorization_grant_type="client-credentials",
        client_secret="machine-secret",
    )
    response = client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "read"},
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"machine-client:machine-secret").decode(),
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert "refresh_token" not in body
    claims = decode_access_token(body["access_token"])
    assert claims["sub"] == "machine-client"
    assert claims["client_id"] == "machine-client"
    assert claims["scope"] == "read"
    row = get_access_token_model().objects.get(application=application)
    assert row.token_checksum == token_checksum(body["access_token"])
    assert body["access_token"] not in row.token  # hashed storage: no plaintext at rest
