"""joserfc and jwcrypto validate bearer_auth's ID tokens from the JWKS document alone."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from joserfc import jwt as joserfc_jwt
from joserfc.errors import ExpiredTokenError, InvalidClaimError
from joserfc.jwk import KeySet
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jwt as jwcrypto_jwt
from jwcrypto.jwt import JWTExpired, JWTInvalidClaimValue
from oauth2_provider.settings import oauth2_settings

from bearer_auth import keys
from bearer_auth.jwt import decode_id_token, signing_algorithm
from bearer_auth.settings import bearer_settings
from tests.oidc_support import make_oidc_application, oidc_tokens

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("oidc")]

ISSUER = "https://issuer.test"


def _jwks() -> dict[str, Any]:
    response = Client().get("/.well-known/jwks.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _id_token(browser: Any, application: Any) -> str:
    return str(oidc_tokens(browser, application, nonce="n-jose")["id_token"])


def _joserfc_claims(token: str, jwks: dict[str, Any], algorithm: str, audience: str) -> Any:
    decoded = joserfc_jwt.decode(token, KeySet.import_key_set(jwks), algorithms=[algorithm])
    registry = joserfc_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
        sub={"essential": True},
    )
    registry.validate(decoded.claims)
    return decoded


def _jwcrypto_claims(token: str, jwks: dict[str, Any], algorithm: str, audience: str) -> Any:
    key_set = jwcrypto_jwk.JWKSet.from_json(json.dumps(jwks))
    checked = jwcrypto_jwt.JWT(
        jwt=token,
        key=key_set,
        algs=[algorithm],
        expected_type="JWS",
        check_claims={"iss": ISSUER, "aud": audience, "exp": None, "sub": None},
    )
    return json.loads(checked.claims)


def test_joserfc_validates_an_id_token_from_the_jwks(
    browser: Any, user: Any, id_token_algorithm: str
) -> None:
    application = make_oidc_application()
    token = _id_token(browser, application)
    decoded = _joserfc_claims(token, _jwks(), id_token_algorithm, application.client_id)
    assert decoded.header["alg"] == id_token_algorithm
    assert decoded.header["typ"] == "JWT"
    assert decoded.claims["nonce"] == "n-jose"
    assert decoded.claims["email"] == user.email


def test_jwcrypto_validates_an_id_token_from_the_jwks(
    browser: Any, user: Any, id_token_algorithm: str
) -> None:
    application = make_oidc_application()
    token = _id_token(browser, application)
    claims = _jwcrypto_claims(token, _jwks(), id_token_algorithm, application.client_id)
    assert claims["nonce"] == "n-jose"
    assert claims["email"] == user.email


def test_both_refuse_another_clients_audience(browser: Any, id_token_algorithm: str) -> None:
    application = make_oidc_application()
    token = _id_token(browser, application)
    jwks = _jwks()
    with pytest.raises(InvalidClaimError):
        _joserfc_claims(token, jwks, id_token_algorithm, "another-client")
    with pytest.raises(JWTInvalidClaimValue):
        _jwcrypto_claims(token, jwks, id_token_algorithm, "another-client")


def test_both_refuse_an_expired_id_token(browser: Any) -> None:
    application = make_oidc_application()
    token = _id_token(browser, application)
    jwks = _jwks()
    algorithm = signing_algorithm()
    # Past exp and jwcrypto's default leeway (60 s).
    later = timedelta(seconds=int(oauth2_settings.ID_TOKEN_EXPIRE_SECONDS) + 120)
    with time_machine.travel(later):
        with pytest.raises(ExpiredTokenError):
            _joserfc_claims(token, jwks, algorithm, application.client_id)
        with pytest.raises(JWTExpired):
            _jwcrypto_claims(token, jwks, algorithm, application.client_id)


def test_a_retired_key_verifies_its_id_tokens_until_they_expire(
    browser: Any, settings: Any
) -> None:
    """The key's grace covers ID tokens when they outlive access tokens (a project's choice)."""
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "ID_TOKEN_EXPIRE_SECONDS": 3600}
    application = make_oidc_application()
    token = _id_token(browser, application)
    algorithm = signing_algorithm()
    keys.rotate_signing_key()
    lifetime = int(oauth2_settings.ID_TOKEN_EXPIRE_SECONDS)
    assert timedelta(seconds=lifetime) > bearer_settings.ACCESS_TOKEN_LIFETIME
    with time_machine.travel(timedelta(seconds=lifetime - 60)):
        assert keys.prune_signing_keys() == 0
        keys.clear_key_cache()
        jwks = _jwks()
        _joserfc_claims(token, jwks, algorithm, application.client_id)
        _jwcrypto_claims(token, jwks, algorithm, application.client_id)
        assert decode_id_token(token, audience=application.client_id)["nonce"] == "n-jose"
