"""DPoP at the token endpoints (RFC 9449 §5, §8, §10): what gets bound, and what is refused.

The proofs are signed by joserfc and jwcrypto (:mod:`tests.dpop_support`);
the real-client flows (requests-oauth2client) are in ``test_dpop_clients.py``,
the resource server's side in ``test_dpop_resource.py``.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import Client
from rest_framework.test import APIClient

from bearer_auth import dpop
from bearer_auth.models import ApplicationPolicy, TokenSession
from bearer_auth.services.issuing import first_party_application
from bearer_auth.settings import bearer_settings
from tests.dpop_support import OMIT, ProofKey, jwcrypto_proof
from tests.factories import UserFactory
from tests.first_party import REFRESH_URL, TOKEN_URL, session_of
from tests.oauth_client import (
    authorization_code,
    basic_auth,
    make_application,
    signed_in_browser,
)


@dataclass(frozen=True)
class IAT_FROM_NOW:
    """An ``iat`` this many seconds from the moment the test runs."""

    seconds: int


pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
OAUTH_TOKEN_URL = "/o/token/"


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def sign_in(user: Any, **headers: str) -> Any:
    return APIClient().post(
        TOKEN_URL, {"email": user.get_username(), "password": PASSWORD}, format="json", **headers
    )


def refresh(refresh_token: str, **headers: str) -> Any:
    return APIClient().post(REFRESH_URL, {"refresh_token": refresh_token}, format="json", **headers)


def oauth_token(data: dict[str, str], *, client_id: str, secret: str | None, **headers: str) -> Any:
    if secret is None:
        return Client().post(OAUTH_TOKEN_URL, {**data, "client_id": client_id}, **headers)
    return Client().post(
        OAUTH_TOKEN_URL, data, HTTP_AUTHORIZATION=basic_auth(client_id, secret), **headers
    )


def assert_refused(response: Any, fragment: str = "") -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "invalid_dpop_proof", body
    assert fragment in body["error_description"], body
    assert response["Cache-Control"] == "no-store"


# First-party sign-in and refresh


def test_a_sign_in_with_a_proof_gets_tokens_bound_to_its_key() -> None:
    user = UserFactory()
    key = ProofKey()
    response = sign_in(user, **key.headers("POST", TOKEN_URL))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "DPoP"
    assert claims_of(body["access_token"])["cnf"] == {"jkt": key.jkt}
    assert session_of(body["refresh_token"]).dpop_jkt == key.jkt


def test_a_sign_in_without_a_proof_is_bearer_as_before() -> None:
    body = sign_in(UserFactory()).json()
    assert body["token_type"] == "Bearer"
    assert "cnf" not in claims_of(body["access_token"])
    assert session_of(body["refresh_token"]).dpop_jkt == ""


def test_a_jwcrypto_proof_binds_to_jwcryptos_thumbprint() -> None:
    proof, key = jwcrypto_proof("POST", TOKEN_URL)
    body = sign_in(UserFactory(), HTTP_DPOP=proof).json()
    assert claims_of(body["access_token"])["cnf"]["jkt"] == key.thumbprint()


@pytest.mark.parametrize("alg", ["ES256", "ES384", "EdDSA", "RS256", "PS256"])
def test_every_default_algorithm_binds(alg: str) -> None:
    key = ProofKey(alg)
    body = sign_in(UserFactory(), **key.headers("POST", TOKEN_URL)).json()
    assert claims_of(body["access_token"])["cnf"]["jkt"] == key.jkt


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"claims": {"htu": "http://testserver/auth/token/refresh/"}}, "another URI"),
        ({"claims": {"htu": "https://testserver/auth/token/"}}, "another URI"),
        ({"claims": {"htm": "GET"}}, "another HTTP method"),
        ({"claims": {"iat": IAT_FROM_NOW(-300)}}, "too old"),
        ({"claims": {"iat": IAT_FROM_NOW(300)}}, "in the future"),
        ({"claims": {"jti": OMIT}}, "not a valid signed JWT"),
        ({"header": {"typ": "JWT"}}, "typ"),
        ({"header": {"alg": "RS256"}}, "does not fit"),
        ({"header": {"alg": "ES512"}}, "not accepted"),
        ({"header": {"jwk": OMIT}}, "public key"),
        ({"header": {"x5u": "https://attacker.example/key"}}, "not accepted"),
    ],
)
def test_a_sign_in_with_a_bad_proof_is_refused_before_the_password(
    change: dict[str, Any], fragment: str, django_assert_num_queries: Any
) -> None:
    user = UserFactory()
    claims = change.get("claims", {})
    if isinstance(claims.get("iat"), IAT_FROM_NOW):
        # Seconds from when the test runs, not from when pytest collected it.
        change = {**change, "claims": {"iat": int(time.time()) + claims["iat"].seconds}}
    proof = ProofKey().proof("POST", TOKEN_URL, **change)
    with django_assert_num_queries(0):
        response = sign_in(user, HTTP_DPOP=proof)
    assert_refused(response, fragment)
    assert not TokenSession.objects.exists()


@pytest.mark.parametrize("iat", ["NaN", "Infinity", "-Infinity", "1e999", "true", '"1700000000"'])
def test_an_iat_that_is_no_finite_number_is_refused(iat: str) -> None:
    """Python's json reads NaN and Infinity; no comparison with them may let a proof through."""
    key = ProofKey()
    good = key.proof("POST", TOKEN_URL).split(".")
    payload = json.loads(base64.urlsafe_b64decode(good[1] + "=="))
    text = json.dumps({**payload, "iat": "IAT"}).replace('"IAT"', iat)
    body = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    signing_input = f"{good[0]}.{body}".encode()
    signature = key.key.private_key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(signature)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    proof = f"{good[0]}.{body}." + base64.urlsafe_b64encode(raw).decode().rstrip("=")
    response = sign_in(UserFactory(), HTTP_DPOP=proof)
    assert_refused(response)
    assert not TokenSession.objects.exists()


def test_a_proof_with_a_private_key_is_refused() -> None:
    key = ProofKey()
    private = dict(key.key.as_dict(private=True))
    assert_refused(
        sign_in(UserFactory(), **key.headers("POST", TOKEN_URL, header={"jwk": private})),
        "public key",
    )


def test_a_proof_is_used_once() -> None:
    user = UserFactory()
    proof = ProofKey().proof("POST", TOKEN_URL)
    assert sign_in(user, HTTP_DPOP=proof).status_code == 200
    assert_refused(sign_in(user, HTTP_DPOP=proof), "already used")


def test_two_dpop_headers_are_refused() -> None:
    key = ProofKey()
    both = f"{key.proof('POST', TOKEN_URL)},{key.proof('POST', TOKEN_URL)}"
    assert_refused(sign_in(UserFactory(), HTTP_DPOP=both), "exactly one")


def test_the_proof_uri_is_compared_normalized() -> None:
    key = ProofKey()
    proof = key.proof("POST", "HTTP://TestServer:80/auth/%74oken/?q=1#f")
    assert sign_in(UserFactory(), HTTP_DPOP=proof).status_code == 200


def test_a_bound_refresh_token_needs_a_proof_from_its_key() -> None:
    key = ProofKey()
    body = sign_in(UserFactory(), **key.headers("POST", TOKEN_URL)).json()
    token = body["refresh_token"]
    assert_refused(refresh(token), "bound to a DPoP key")
    assert_refused(refresh(token, **ProofKey().headers("POST", REFRESH_URL)), "not the key")
    # A thief without the key changed nothing: the family lives, the holder refreshes.
    rotated = refresh(token, **key.headers("POST", REFRESH_URL))
    assert rotated.status_code == 200, rotated.content
    assert rotated.json()["token_type"] == "DPoP"
    assert claims_of(rotated.json()["access_token"])["cnf"] == {"jkt": key.jkt}
    assert session_of(rotated.json()["refresh_token"]).dpop_jkt == key.jkt


def test_a_bearer_family_refreshed_with_a_proof_becomes_bound() -> None:
    body = sign_in(UserFactory()).json()
    key = ProofKey()
    rotated = refresh(body["refresh_token"], **key.headers("POST", REFRESH_URL)).json()
    assert rotated["token_type"] == "DPoP"
    assert_refused(refresh(rotated["refresh_token"]), "bound to a DPoP key")


def test_a_policy_requiring_dpop_refuses_a_first_party_sign_in_without_one() -> None:
    ApplicationPolicy.objects.create(
        application=first_party_application(), dpop_bound_access_tokens=True
    )
    user = UserFactory()
    assert_refused(sign_in(user), "must send a DPoP proof")
    key = ProofKey()
    assert sign_in(user, **key.headers("POST", TOKEN_URL)).json()["token_type"] == "DPoP"


# /o/token/: every grant


def test_client_credentials_with_a_proof_are_bound() -> None:
    application = make_application(grant_type="client-credentials")
    key = ProofKey("PS256")
    response = oauth_token(
        {"grant_type": "client_credentials", "scope": "read"},
        client_id=application.client_id,
        secret="client-secret-for-tests",
        **key.headers("POST", OAUTH_TOKEN_URL),
    )
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "DPoP"
    assert claims_of(response.json()["access_token"])["cnf"] == {"jkt": key.jkt}


def test_a_client_whose_policy_requires_dpop_gets_nothing_without_a_proof() -> None:
    application = make_application(grant_type="client-credentials")
    ApplicationPolicy.objects.filter(application=application).update(dpop_bound_access_tokens=True)
    response = oauth_token(
        {"grant_type": "client_credentials", "scope": "read"},
        client_id=application.client_id,
        secret="client-secret-for-tests",
    )
    assert_refused(response, "must send a DPoP proof")


def test_a_bad_proof_at_the_oauth_token_endpoint_is_invalid_dpop_proof() -> None:
    application = make_application(grant_type="client-credentials")
    response = oauth_token(
        {"grant_type": "client_credentials", "scope": "read"},
        client_id=application.client_id,
        secret="client-secret-for-tests",
        **ProofKey().headers("POST", TOKEN_URL),  # another endpoint's URI
    )
    assert_refused(response, "another URI")


def exchanged(application: Any, key: ProofKey | None, secret: str | None) -> Any:
    code, verifier = authorization_code(signed_in_browser(UserFactory()), application)
    headers = key.headers("POST", OAUTH_TOKEN_URL) if key else {}
    return oauth_token(
        {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": application.redirect_uris.split()[0],
        },
        client_id=application.client_id,
        secret=secret,
        **headers,
    )


def oauth_refresh(application: Any, token: str, key: ProofKey | None, secret: str | None) -> Any:
    headers = key.headers("POST", OAUTH_TOKEN_URL) if key else {}
    return oauth_token(
        {"grant_type": "refresh_token", "refresh_token": token},
        client_id=application.client_id,
        secret=secret,
        **headers,
    )


def test_a_public_clients_code_exchange_and_refresh_are_bound_to_one_key() -> None:
    application = make_application(client_type="public")
    key = ProofKey()
    response = exchanged(application, key, None)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "DPoP"
    assert session_of(body["refresh_token"]).dpop_jkt == key.jkt
    assert_refused(oauth_refresh(application, body["refresh_token"], None, None))
    assert_refused(oauth_refresh(application, body["refresh_token"], ProofKey(), None))
    rotated = oauth_refresh(application, body["refresh_token"], key, None)
    assert rotated.status_code == 200, rotated.content
    assert claims_of(rotated.json()["access_token"])["cnf"] == {"jkt": key.jkt}


def test_a_confidential_clients_refresh_binds_to_the_proof_it_sends() -> None:
    """RFC 9449 §5: its refresh token is bound by its authentication, not to a key."""
    application = make_application()
    secret = "client-secret-for-tests"
    body = exchanged(application, ProofKey(), secret).json()
    new_key = ProofKey("EdDSA")
    rotated = oauth_refresh(application, body["refresh_token"], new_key, secret).json()
    assert claims_of(rotated["access_token"])["cnf"] == {"jkt": new_key.jkt}
    assert session_of(rotated["refresh_token"]).dpop_jkt == new_key.jkt
    plain = oauth_refresh(application, rotated["refresh_token"], None, secret).json()
    assert plain["token_type"] == "Bearer"
    assert "cnf" not in claims_of(plain["access_token"])
    assert session_of(plain["refresh_token"]).dpop_jkt == ""


# Nonces (RFC 9449 §8)


def test_nonces_required_at_the_token_endpoint(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "DPOP_NONCE_REQUIRED": ["token"]}
    user = UserFactory()
    key = ProofKey()
    first = sign_in(user, **key.headers("POST", TOKEN_URL))
    assert first.status_code == 400
    assert first.json()["error"] == "use_dpop_nonce"
    nonce = first[dpop.NONCE_HEADER]
    second = sign_in(user, **key.headers("POST", TOKEN_URL, nonce=nonce))
    assert second.status_code == 200, second.content
    assert second[dpop.NONCE_HEADER]  # a fresh one for the next request
    forged = nonce.split(".")[0] + ".AAAAAAAAAAAAAAAAAAAAAAAA"
    assert sign_in(user, **key.headers("POST", TOKEN_URL, nonce=forged)).json()["error"] == (
        "use_dpop_nonce"
    )


def test_a_nonce_expires(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "DPOP_NONCE_REQUIRED": ["token"]}
    nonce = dpop.new_nonce()
    key = ProofKey()
    with time_machine.travel(time.time() + 6 * 60, tick=False):
        response = sign_in(UserFactory(), **key.headers("POST", TOKEN_URL, nonce=nonce))
    assert response.json()["error"] == "use_dpop_nonce"


def test_nonces_at_the_oauth_token_endpoint(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "DPOP_NONCE_REQUIRED": ["token"]}
    application = make_application(grant_type="client-credentials")
    key = ProofKey()
    data = {"grant_type": "client_credentials", "scope": "read"}
    secret = "client-secret-for-tests"
    first = oauth_token(
        data, client_id=application.client_id, secret=secret, **key.headers("POST", OAUTH_TOKEN_URL)
    )
    assert first.status_code == 400
    assert first.json()["error"] == "use_dpop_nonce"
    proof = key.headers("POST", OAUTH_TOKEN_URL, nonce=first[dpop.NONCE_HEADER])
    second = oauth_token(data, client_id=application.client_id, secret=secret, **proof)
    assert second.status_code == 200, second.content


def test_without_nonces_no_nonce_header_is_sent() -> None:
    response = sign_in(UserFactory(), **ProofKey().headers("POST", TOKEN_URL))
    assert dpop.NONCE_HEADER not in response


# DPoP off, the replay cache, introspection


@pytest.mark.parametrize(
    "change", [{"DPOP_SIGNING_ALGORITHMS": []}, {"ACCESS_TOKEN_FORMAT": "opaque"}]
)
def test_with_dpop_off_a_proof_is_ignored(settings: Any, change: dict[str, Any]) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, **change}
    body = sign_in(UserFactory(), **ProofKey().headers("POST", TOKEN_URL)).json()
    assert body["token_type"] == "Bearer"
    assert session_of(body["refresh_token"]).dpop_jkt == ""


def test_an_unreachable_replay_cache_fails_closed(settings: Any) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "unreachable": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "DPOP_REPLAY_CACHE": "unreachable"}
    response = sign_in(UserFactory(), **ProofKey().headers("POST", TOKEN_URL))
    assert response.status_code == 503, response.content
    assert response.json()["error"] == "temporarily_unavailable"
    assert not TokenSession.objects.exists()


def test_introspection_reports_the_binding() -> None:
    key = ProofKey()
    body = sign_in(UserFactory(), **key.headers("POST", TOKEN_URL)).json()
    resource_server = make_application(grant_type="client-credentials")
    answer = (
        Client()
        .post(
            "/o/introspect/",
            {"token": body["access_token"]},
            HTTP_AUTHORIZATION=basic_auth(resource_server.client_id, "client-secret-for-tests"),
        )
        .json()
    )
    assert answer["active"] is True
    assert answer["token_type"] == "DPoP"
    assert answer["cnf"] == {"jkt": key.jkt}


@pytest.mark.redis
def test_the_replay_cache_on_redis_refuses_a_replay() -> None:
    """Production's replay cache: Redis (``REDIS_URL`` makes it the default cache)."""
    assert isinstance(caches[bearer_settings.DPOP_REPLAY_CACHE], RedisCache)
    user = UserFactory()
    proof = ProofKey().proof("POST", TOKEN_URL)
    assert sign_in(user, HTTP_DPOP=proof).status_code == 200
    assert_refused(sign_in(user, HTTP_DPOP=proof), "already used")
