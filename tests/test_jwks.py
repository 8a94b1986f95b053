"""GET /.well-known/jwks.json: public keys only, cacheable, as a third party reads it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.test import Client
from django.urls import reverse

from bearer_auth import keys

pytestmark = pytest.mark.django_db

URL = "/.well-known/jwks.json"
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k", "oth", "r", "t"}
PUBLIC_MEMBERS = {
    "RSA": {"kty", "n", "e", "kid", "alg", "use"},
    "EC": {"kty", "crv", "x", "y", "kid", "alg", "use"},
    "OKP": {"kty", "crv", "x", "kid", "alg", "use"},
}
GRACE = timedelta(minutes=5, seconds=30)


def with_bearer(settings: Any, **values: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, **values}


def test_url_name() -> None:
    assert reverse("bearer_auth_well_known:jwks") == URL


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_jwks_publishes_only_public_members(client: Client, algorithm: str) -> None:
    row = keys.rotate_signing_key(algorithm=algorithm)

    response = client.get(URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    (jwk,) = response.json()["keys"]
    assert set(jwk) == PUBLIC_MEMBERS[jwk["kty"]]
    assert not PRIVATE_MEMBERS & set(jwk)
    assert (jwk["kid"], jwk["alg"], jwk["use"]) == (row.kid, algorithm, "sig")
    assert jwk["kid"] == keys.thumbprint(jwk)


def test_jwks_is_cacheable_for_the_configured_time(client: Client, settings: Any) -> None:
    keys.current_signing_key()
    assert client.get(URL)["Cache-Control"] == "public, max-age=60"
    with_bearer(settings, JWKS_MAX_AGE_SECONDS=15)
    assert client.get(URL)["Cache-Control"] == "public, max-age=15"


def test_cache_lifetime_never_exceeds_the_rotation_overlap(client: Client, settings: Any) -> None:
    with_bearer(settings, JWKS_MAX_AGE_SECONDS=3600, ACCESS_TOKEN_LIFETIME=timedelta(minutes=2))
    keys.current_signing_key()
    assert client.get(URL)["Cache-Control"] == "public, max-age=120"


def test_retired_keys_stay_until_their_deadline(client: Client) -> None:
    with time_machine.travel("2030-01-01 12:00:00+00:00", tick=False) as traveller:
        old = keys.rotate_signing_key(algorithm="ES256")
        traveller.shift(timedelta(minutes=1))
        new = keys.rotate_signing_key(algorithm="EdDSA")

        kids = [jwk["kid"] for jwk in client.get(URL).json()["keys"]]
        assert kids == [new.kid, old.kid]  # active first

        traveller.shift(GRACE)
        assert [jwk["kid"] for jwk in client.get(URL).json()["keys"]] == [new.kid, old.kid]
        traveller.shift(timedelta(seconds=1))
        assert [jwk["kid"] for jwk in client.get(URL).json()["keys"]] == [new.kid]


def test_kids_are_unique(client: Client) -> None:
    for algorithm in ("RS256", "ES256", "EdDSA", "ES256"):
        keys.rotate_signing_key(algorithm=algorithm)
    kids = [jwk["kid"] for jwk in client.get(URL).json()["keys"]]
    assert len(kids) == 4
    assert len(set(kids)) == 4


def test_a_third_party_verifies_tokens_with_the_published_key(client: Client) -> None:
    material = keys.current_signing_key()
    token = jwt.encode(
        {"sub": "someone"},
        material.private_key,
        algorithm=material.algorithm,
        headers={"kid": material.kid},
    )

    jwk_set = jwt.PyJWKSet.from_dict(client.get(URL).json())
    published = jwk_set[jwt.get_unverified_header(token)["kid"]]

    assert jwt.decode(token, published, algorithms=[published.algorithm_name]) == {"sub": "someone"}
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({"sub": "someone"}, other, algorithm="RS256", headers={"kid": material.kid})
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, published, algorithms=[published.algorithm_name])


def test_settings_keys_are_published_and_hs256_secrets_never(client: Client, settings: Any) -> None:
    private_key = ec.generate_private_key(ec.SECP256R1())
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with_bearer(settings, SIGNING_KEYS=[pem])
    (jwk,) = client.get(URL).json()["keys"]
    assert jwk["kid"] == keys.current_signing_key().kid
    assert "d" not in jwk

    secret = "s" * 48
    with_bearer(settings, SIGNING_ALGORITHM="HS256", SIGNING_KEYS=[secret])
    response = client.get(URL)
    assert response.json() == {"keys": []}
    assert secret not in response.content.decode()


def test_jwks_needs_no_credentials(client: Client) -> None:
    keys.current_signing_key()
    response = client.get(URL, HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 200
    assert len(response.json()["keys"]) == 1


def test_jwks_is_read_only(client: Client) -> None:
    assert client.post(URL).status_code == 405
    assert client.head(URL).status_code == 200


@pytest.mark.parametrize("url", [URL, "/.well-known/oauth-authorization-server"])
def test_well_known_documents_are_public_under_login_required_middleware(
    client: Client, settings: Any, url: str
) -> None:
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "django.contrib.auth.middleware.LoginRequiredMiddleware",
    ]
    keys.current_signing_key()
    assert client.get(url).status_code == 200
