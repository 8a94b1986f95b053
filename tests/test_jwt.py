"""Minting RFC 9068 access tokens, and verifying them as a third party would."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.utils import timezone
from jwcrypto import jwk
from jwcrypto import jwt as jwcrypto_jwt
from oauth2_provider.models import get_access_token_model

from bearer_auth import jwt as bearer_jwt
from bearer_auth import keys
from bearer_auth.exceptions import BearerAuthError, InvalidToken, TokenExpired
from bearer_auth.jwt import (
    PASSWORD_CLAIM,
    decode_access_token,
    mint_access_token,
    password_fingerprint,
    token_checksum,
    user_subject,
)
from tests.factories import ApplicationFactory
from tests.issuing import claims_of, forge, header_of, issue_access_token

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


# The verified-token cache: a token's signature is checked on its first use only.


def _resigned_token(user: Any, **claims: Any) -> str:
    """A real token re-signed with ``claims`` changed or added."""
    valid = mint_access_token(user=user, client_id="c", scope="read").token
    return forge(valid, user=user, claims=claims, store=False)


def test_a_verified_token_is_not_verified_again(user: Any, monkeypatch: Any) -> None:
    token = mint_access_token(user=user, client_id="c", scope="read").token
    first = decode_access_token(token)
    monkeypatch.setattr(jwt, "decode", _must_not_decode)
    assert decode_access_token(token) == first


def test_each_use_gets_its_own_copy_of_the_claims(user: Any) -> None:
    token = mint_access_token(user=user, client_id="c", scope="read").token
    decode_access_token(token)["scope"] = "admin"
    cached = decode_access_token(token)
    assert cached["scope"] == "read"
    cached["scope"] = "admin"
    assert decode_access_token(token)["scope"] == "read"


def test_a_refused_token_is_never_remembered(user: Any, monkeypatch: Any) -> None:
    token = mint_access_token(user=user, client_id="c", scope="read").token
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload}.{signature[:-4]}AAAA"
    calls: list[str] = []
    real_decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **kw: calls.append(a[0]) or real_decode(*a, **kw))
    for _ in range(2):
        with pytest.raises(InvalidToken):
            decode_access_token(tampered)
    assert calls == [tampered, tampered]


def test_a_remembered_token_expires_on_time(user: Any) -> None:
    with time_machine.travel("2030-01-01 12:00:00+00:00", tick=False) as traveller:
        minted = mint_access_token(user=user, client_id="c", scope="read")
        decode_access_token(minted.token)
        traveller.move_to(minted.expires_at - timedelta(seconds=1))
        assert decode_access_token(minted.token)["jti"] == minted.jti
        traveller.move_to(minted.expires_at)
        with pytest.raises(TokenExpired):
            decode_access_token(minted.token)


_T0 = 1_900_000_000  # 2030-03-17, a whole second


@pytest.mark.parametrize("leeway", [0, 5])
@pytest.mark.parametrize(
    "moment", [-6, -1, -0.5, 0, 9, 9.5, 10, 10.3, 99, 99.5, 100, 100.5, 104.9, 105, 106]
)
def test_remembered_dates_are_checked_as_pyjwt_checks_them(
    user: Any, settings: Any, leeway: int, moment: float
) -> None:
    """At each boundary (and fractional ``iat``/``nbf``), a remembered token is
    accepted or refused exactly as a first verification by PyJWT would be."""
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "LEEWAY": timedelta(seconds=leeway)}
    dates = {"iat": _T0 + 0.7, "nbf": _T0 + 10.2, "exp": _T0 + 100}
    with time_machine.travel(_T0 + 50, tick=False) as traveller:
        token = _resigned_token(user, **dates)
        traveller.move_to(_T0 + moment)
        bearer_jwt._verified_tokens.clear()
        first = _outcome(token)
        traveller.move_to(_T0 + 50)
        decode_access_token(token)  # remembered while valid
        traveller.move_to(_T0 + moment)
        assert _outcome(token) == first


def test_a_retired_key_past_its_deadline_refuses_a_remembered_token(user: Any) -> None:
    """The key's deadline is looked at on every use, not only when the token was verified."""
    with time_machine.travel("2030-01-01 12:00:00+00:00", tick=False) as traveller:
        token = mint_access_token(
            user=user, client_id="c", scope="read", lifetime=timedelta(days=1)
        ).token
        decode_access_token(token)
        keys.rotate_signing_key()
        decode_access_token(token)  # remembered with the retired key
        (retired,) = [s for s in keys.describe_signing_keys() if s.state == "retired"]
        assert retired.verify_until is not None
        traveller.move_to(retired.verify_until + timedelta(seconds=1))
        with pytest.raises(InvalidToken) as refused:
            decode_access_token(token)
        assert refused.type is InvalidToken  # the key, not the (one-day) token, ended


def test_another_key_under_the_same_kid_verifies_the_token_afresh(
    user: Any, monkeypatch: Any
) -> None:
    token = mint_access_token(user=user, client_id="c", scope="read").token
    decode_access_token(token)
    stranger = ec.generate_private_key(ec.SECP256R1()).public_key()
    monkeypatch.setattr(bearer_jwt, "_verification_key", lambda kid: (stranger, "ES256"))
    with pytest.raises(InvalidToken):
        decode_access_token(token)


def test_changed_settings_forget_remembered_tokens(user: Any, settings: Any) -> None:
    token = mint_access_token(user=user, client_id="c", scope="read").token
    decode_access_token(token)
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "AUDIENCE": "https://elsewhere.test"}
    with pytest.raises(InvalidToken):
        decode_access_token(token)


def test_size_zero_turns_the_cache_off(user: Any, settings: Any, monkeypatch: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFIED_TOKEN_CACHE_SIZE": 0}
    token = mint_access_token(user=user, client_id="c", scope="read").token
    decode_access_token(token)
    monkeypatch.setattr(jwt, "decode", _must_not_decode)
    with pytest.raises(InvalidToken):
        decode_access_token(token)


def test_the_oldest_token_is_dropped_at_the_size(
    user: Any, settings: Any, monkeypatch: Any
) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFIED_TOKEN_CACHE_SIZE": 2}
    first, second, third = (
        mint_access_token(user=user, client_id="c", scope="read").token for _ in range(3)
    )
    for token in (first, second, second, third):
        decode_access_token(token)
    monkeypatch.setattr(jwt, "decode", _must_not_decode)
    assert decode_access_token(second)
    assert decode_access_token(third)
    with pytest.raises(InvalidToken):
        decode_access_token(first)


def test_tokens_with_list_or_object_claims_are_verified_every_time(
    user: Any, monkeypatch: Any
) -> None:
    token = _resigned_token(user, extra=["a", "b"])
    assert decode_access_token(token)["extra"] == ["a", "b"]
    monkeypatch.setattr(jwt, "decode", _must_not_decode)
    with pytest.raises(InvalidToken):
        decode_access_token(token)


def _must_not_decode(*args: Any, **kwargs: Any) -> Any:
    raise jwt.InvalidTokenError("PyJWT was called")


def _outcome(token: str) -> str:
    try:
        decode_access_token(token)
    except BearerAuthError as exc:
        return type(exc).__name__
    return "accepted"


# EXTRA_CLAIMS_HOOK: the project's own claims.


def tenant_and_roles(*, user: Any, client_id: str, scopes: Any, request: Any, **kwargs: Any) -> Any:
    """A hook: a scalar claim, and a list one (such tokens are never remembered)."""
    return {"tenant": "acme", "roles": ["editor"] if user is not None else []}


class RecordingHook:
    """A claims hook returning ``returns``, recording each call's keyword arguments."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.returns: Any = {}

    def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return self.returns


@pytest.fixture
def hook(settings: Any) -> RecordingHook:
    recording = RecordingHook()
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "EXTRA_CLAIMS_HOOK": recording}
    return recording


def test_the_hook_adds_its_claims_to_every_token(user: Any, settings: Any) -> None:
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "EXTRA_CLAIMS_HOOK": f"{__name__}.tenant_and_roles",
    }
    minted = mint_access_token(user=user, client_id="c1", scope="read write")
    claims = claims_of(minted.token)
    assert claims["tenant"] == "acme"
    assert claims["roles"] == ["editor"]
    assert claims["sub"] == user_subject(user)
    assert minted.claims == claims
    client = claims_of(mint_access_token(user=None, client_id="machine", scope="read").token)
    assert (client["sub"], client["roles"]) == ("machine", [])


def test_the_hook_is_told_the_user_client_scopes_and_request(
    user: Any, hook: RecordingHook
) -> None:
    hook.returns = {}
    request = object()
    mint_access_token(user=user, client_id="c1", scope="read write", request=request)
    mint_access_token(user=None, client_id="machine", scope="")
    assert hook.calls == [
        {"user": user, "client_id": "c1", "scopes": ("read", "write"), "request": request},
        {"user": None, "client_id": "machine", "scopes": (), "request": None},
    ]


def test_every_claim_bearer_auth_sets_is_reserved(user: Any) -> None:
    from bearer_auth.claims import RESERVED_CLAIMS

    for token_user in (user, None):
        claims = mint_access_token(user=token_user, client_id="c", scope="read").claims
        assert set(claims) <= RESERVED_CLAIMS


@pytest.mark.parametrize(
    "claim", ["sub", "iss", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "pfp", "cnf"]
)
def test_a_reserved_claim_from_the_hook_issues_no_token(
    user: Any, hook: RecordingHook, claim: str
) -> None:
    hook.returns = {"tenant": "acme", claim: "mine"}
    with pytest.raises(ImproperlyConfigured, match=f"returned the claim '{claim}', which"):
        mint_access_token(user=user, client_id="c", scope="read")


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (None, "returned NoneType, not a mapping of claims"),
        ([("tenant", "acme")], "returned list, not a mapping of claims"),
        ({1: "one"}, "returned the claim name 1: not a string"),
        ({"at": timezone.now()}, "claim 'at' with a value that is not JSON"),
        ({"ids": {1, 2}}, "claim 'ids' with a value that is not JSON"),
        ({"ratio": float("nan")}, "claim 'ratio' with a value that is not JSON"),
        ({"roles": ("a", "b")}, "claim 'roles' with a value JSON would change"),
        ({"map": {1: "one"}}, "claim 'map' with a value JSON would change"),
    ],
)
def test_a_value_that_is_not_json_issues_no_token(
    user: Any, hook: RecordingHook, returned: Any, message: str
) -> None:
    hook.returns = returned
    with pytest.raises(ImproperlyConfigured, match=message):
        mint_access_token(user=user, client_id="c", scope="read")


def test_the_claims_are_the_tokens_not_the_hooks_objects(user: Any, hook: RecordingHook) -> None:
    roles = ["editor"]
    hook.returns = {"roles": roles, "profile": {"plan": "pro", "seats": 3}}
    minted = mint_access_token(user=user, client_id="c", scope="read")
    roles.append("admin")
    assert minted.claims["roles"] == ["editor"]
    assert claims_of(minted.token)["profile"] == {"plan": "pro", "seats": 3}


def test_scalar_extra_claims_are_remembered(
    user: Any, hook: RecordingHook, monkeypatch: Any
) -> None:
    hook.returns = {"tenant": "acme", "level": 3, "beta": True, "note": None}
    token = mint_access_token(user=user, client_id="c", scope="read").token
    first = decode_access_token(token)
    monkeypatch.setattr(jwt, "decode", _must_not_decode)
    assert decode_access_token(token) == first


def test_list_or_object_extra_claims_verify_every_time(
    user: Any, hook: RecordingHook, monkeypatch: Any
) -> None:
    hook.returns = {"roles": ["editor"], "profile": {"plan": "pro"}}
    token = mint_access_token(user=user, client_id="c", scope="read").token
    calls: list[str] = []
    real_decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **kw: calls.append(a[0]) or real_decode(*a, **kw))
    for _ in range(3):
        claims = decode_access_token(token)
        assert (claims["roles"], claims["profile"]) == (["editor"], {"plan": "pro"})
        claims["roles"].append("admin")
    assert calls == [token, token, token]


@pytest.mark.parametrize("verify_mode", ["strict", "stateless"])
def test_tokens_with_extra_claims_authenticate(
    client: Client, user: Any, settings: Any, verify_mode: str
) -> None:
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "EXTRA_CLAIMS_HOOK": f"{__name__}.tenant_and_roles",
        "VERIFY_MODE": verify_mode,
    }
    token = issue_access_token(user)
    for _ in range(2):  # verified, then again (not remembered: a list claim)
        response = client.get("/test-api/whoami/", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 200, response.content


def test_the_token_endpoint_issues_tokens_with_extra_claims(client: Client, settings: Any) -> None:
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "EXTRA_CLAIMS_HOOK": f"{__name__}.tenant_and_roles",
    }
    ApplicationFactory(
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
    claims = decode_access_token(response.json()["access_token"])
    assert (claims["sub"], claims["tenant"], claims["roles"]) == ("machine-client", "acme", [])


def test_a_refused_hook_fails_the_token_request_and_stores_nothing(
    user: Any, password: str, settings: Any
) -> None:
    from bearer_auth.models import TokenSession

    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "EXTRA_CLAIMS_HOOK": lambda **kw: {"sub": "x"}}
    ApplicationFactory(
        client_id="machine-client",
        authorization_grant_type="client-credentials",
        client_secret="machine-secret",
    )
    browser = Client(raise_request_exception=False)
    signed_in = browser.post(
        "/auth/token/",
        {"email": user.get_username(), "password": password},
        content_type="application/json",
    )
    machine = browser.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "read"},
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"machine-client:machine-secret").decode(),
    )
    assert (signed_in.status_code, machine.status_code) == (500, 500)
    assert not get_access_token_model().objects.exists()
    assert not TokenSession.objects.exists()
