"""One regression test per published advisory of the stack that applies to this design.

Each test is named after the advisory's CVE and GHSA ids where both were
confirmed, and says in its docstring what the advisory was and why it
applies. Where no id could be confirmed (the django-oauth-toolkit fixes of
3.4.0/3.4.1 are published in its changelog only), the test is named after the
advisory's description and its changelog entry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from bearer_auth import keys
from bearer_auth.jwt import mint_access_token
from tests.factories import ApplicationFactory
from tests.first_party import REFRESH_URL, TOKEN_URL, sign_in
from tests.issuing import (
    b64url,
    claims_of,
    forge,
    header_of,
    issue_access_token,
    store_live_token,
    store_token,
)
from tests.oauth_client import SECRET, basic_auth, make_application
from tests.security.conftest import JsonServer, NetworkGuard
from tests.security.flows import oauth_tokens
from tests.security.probes import assert_invalid_token, call, compact

pytestmark = pytest.mark.django_db


def _hs256(valid: str, secret: bytes, **header: Any) -> str:
    signing_input = compact({**header_of(valid), **header, "alg": "HS256"}, claims_of(valid))
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def _stored(token: str, user: Any) -> str:
    return store_live_token(token, user=user)


def _public_pem(**encoding: Any) -> bytes:
    return bytes(
        keys.current_signing_key()
        .private_key.public_key()
        .public_bytes(
            encoding.get("encoding", serialization.Encoding.PEM),
            encoding.get("format", serialization.PublicFormat.SubjectPublicKeyInfo),
        )
    )


@pytest.fixture
def stateless_jwks(
    settings: Any, json_server: Callable[[dict[str, Any]], JsonServer]
) -> Callable[[dict[str, Any]], JsonServer]:
    """Make this process a stateless resource server reading a JWKS from a loopback URL."""

    def configure(document: dict[str, Any]) -> JsonServer:
        server = json_server(document)
        settings.BEARER_AUTH = {
            **settings.BEARER_AUTH,
            "VERIFY_MODE": "stateless",
            "JWKS_URL": f"{server.url}/jwks.json",
        }
        return server

    return configure


# PyJWT


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "RS256"])
def test_cve_2022_29217_ghsa_ffqj_6fqr_9h24_openssh_public_key_as_hmac_secret(
    client: Client, user: Any, algorithm: str
) -> None:
    """PyJWT < 2.4.0: HMAC accepted OpenSSH-format (e.g. ``ssh-ed25519``) public keys as secrets.

    An attacker with the public key signs HS256 with it. bearer_auth binds
    each ``kid`` to its one asymmetric algorithm, so HS256 never reaches a key.
    """
    keys.rotate_signing_key(algorithm=algorithm)
    token = issue_access_token(user)
    assert call(client, token).status_code == 200
    openssh = _public_pem(
        encoding=serialization.Encoding.OpenSSH, format=serialization.PublicFormat.OpenSSH
    )
    assert_invalid_token(call(client, _stored(_hs256(token, openssh), user)))


def test_cve_2017_11424_ghsa_r9jw_mwhq_wp62_pkcs1_pem_as_hmac_secret(
    client: Client, user: Any, token: str
) -> None:
    """PyJWT < 1.5.1: ``-----BEGIN RSA PUBLIC KEY-----`` (PKCS#1) slipped past the HMAC guard."""
    pkcs1 = _public_pem(format=serialization.PublicFormat.PKCS1)
    assert pkcs1.startswith(b"-----BEGIN RSA PUBLIC KEY-----")
    assert_invalid_token(call(client, _stored(_hs256(token, pkcs1), user)))


def test_cve_2026_48526_ghsa_xgmm_8j9v_c9wx_public_jwk_json_as_hmac_secret(
    client: Client, user: Any, token: str, stateless_jwks: Callable[[dict[str, Any]], JsonServer]
) -> None:
    """PyJWT < 2.13.0: a public JWK passed as raw JSON was usable as an HS256 secret.

    The JWK is public (``/.well-known/jwks.json``). Checked in strict mode and
    on a stateless resource server fed the same JWKS.
    """
    jwks = json.loads(client.get("/.well-known/jwks.json").content)
    (jwk,) = jwks["keys"]
    for text in (json.dumps(jwk), json.dumps(jwk, separators=(",", ":"), sort_keys=True)):
        assert_invalid_token(call(client, _stored(_hs256(token, text.encode()), user)))
    stateless_jwks(jwks)
    assert call(client, token).status_code == 200
    assert_invalid_token(call(client, _hs256(token, json.dumps(jwk).encode())))


@pytest.mark.parametrize(
    "mutation",
    [
        lambda pem: pem.replace(b"\n", b"\r\n"),
        lambda pem: pem.replace(b"\n", b"\r"),
        lambda pem: b"\n\n  " + pem,
        lambda pem: pem.rstrip(b"\n"),
        lambda pem: pem + b"   \t\n",
        lambda pem: pem.replace(b"-----\n", b"-----\n\t"),
    ],
    ids=["crlf", "cr", "leading-whitespace", "no-final-newline", "trailing-blanks", "tab"],
)
def test_cve_2026_102268_ghsa_ffc3_869f_jxw9_whitespace_mutated_pem_as_hmac_secret(
    client: Client, user: Any, token: str, mutation: Callable[[bytes], bytes]
) -> None:
    """PyJWT: line-ending/whitespace-mutated public PEMs skipped the HS/asymmetric guard."""
    secret = mutation(_public_pem())
    assert secret != _public_pem()
    assert_invalid_token(call(client, _stored(_hs256(token, secret), user)))


def test_cve_2026_102273_nested_public_jwk_forms_as_hmac_secret(
    client: Client, user: Any, token: str
) -> None:
    """PyJWT 2.13.0-2.14.x: the HMAC guard saw top-level JWKs only, not a JWK Set or wrapped JWK.

    The JWK Set document exactly as served, and wrapped forms of the JWK, as HS256 secrets.
    """
    served = bytes(client.get("/.well-known/jwks.json").content)
    jwk = json.loads(served)["keys"][0]
    for secret in (served, json.dumps({"jwk": jwk}).encode(), json.dumps([jwk]).encode()):
        assert_invalid_token(call(client, _stored(_hs256(token, secret), user)))


@pytest.mark.parametrize("mode", ["strict", "stateless"])
def test_cve_2026_32597_ghsa_752w_5fwx_jx9f_unknown_crit_extension(
    client: Client,
    user: Any,
    token: str,
    mode: str,
    stateless_jwks: Callable[[dict[str, Any]], JsonServer],
) -> None:
    """PyJWT <= 2.11.0 ignored ``crit`` (RFC 7515 §4.1.11); a critical extension must be refused."""
    if mode == "stateless":
        stateless_jwks(keys.public_jwks())
    forged = forge(token, user=user, headers={"crit": ["x-bound"], "x-bound": "cnf"})
    assert_invalid_token(call(client, forged))
    b64 = forge(token, user=user, headers={"crit": ["b64"], "b64": False})
    assert_invalid_token(call(client, b64))


@pytest.mark.parametrize(
    "issuer",
    ["https://issuer", "issuer.test", "https://issuer.tes", "s", "", "https://issuer.test"],
)
def test_cve_2024_53861_ghsa_75c5_xw7c_p5pm_issuer_partial_match(
    client: Client, user: Any, token: str, issuer: str
) -> None:
    """PyJWT 2.10.0 compared ``iss`` with ``in``: any substring of the expected issuer passed."""
    forged = forge(token, user=user, claims={"iss": issuer})
    if issuer == "https://issuer.test":
        assert call(client, forged).status_code == 200  # the exact issuer, as control
    else:
        assert_invalid_token(call(client, forged))


def test_cve_2026_102266_ghsa_9j54_fg26_wv3r_empty_hmac_key_in_a_jwks(
    client: Client,
    user: Any,
    token: str,
    stateless_jwks: Callable[[dict[str, Any]], JsonServer],
    no_outbound: NetworkGuard,
) -> None:
    """PyJWK accepted an empty ``oct`` key; no JWKS entry makes HS256 (or an empty key) usable."""
    empty = {"kty": "oct", "k": "", "kid": "empty", "alg": "HS256", "use": "sig"}
    weak = {"kty": "oct", "k": b64url(b"0" * 32), "kid": "weak", "alg": "HS256", "use": "sig"}
    stateless_jwks({"keys": [*keys.public_jwks()["keys"], empty, weak]})
    assert call(client, token).status_code == 200
    assert_invalid_token(call(client, _hs256(token, b"", kid="empty")))
    assert_invalid_token(call(client, _hs256(token, b"0" * 32, kid="weak")))


@pytest.mark.parametrize(
    "bad_jwk",
    [
        {"kty": "RSA", "n": "!!!", "e": "AQAB"},
        {"kty": "RSA", "n": "", "e": ""},
        {"kty": "RSA", "e": "AQAB"},
        {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
        {"kty": "OKP", "crv": "Ed25519", "x": "not-base64!"},
    ],
    ids=["rsa-garbage", "rsa-empty", "rsa-no-n", "ec-off-curve", "okp-garbage"],
)
def test_cve_2026_102274_malformed_jwk_in_a_remote_jwks_is_401_not_500(
    client: Client,
    token: str,
    bad_jwk: dict[str, Any],
    stateless_jwks: Callable[[dict[str, Any]], JsonServer],
) -> None:
    """PyJWKSet let a plain ``ValueError`` escape for malformed RSA JWKs (PyJWT 2.9.0-2.14.x)."""
    stateless_jwks({"keys": [{**bad_jwk, "kid": "bad", "alg": "RS256", "use": "sig"}]})
    forged = compact({**header_of(token), "kid": "bad"}, claims_of(token)) + ".c2ln"
    assert_invalid_token(call(client, forged))
    assert_invalid_token(call(client, token))


@pytest.mark.parametrize("claimed", ["RS512", "PS256", "ES256", "HS256"])
def test_ghsa_jq35_7prp_9v3f_pyjwk_algorithm_allow_list_bypass(
    client: Client,
    user: Any,
    token: str,
    claimed: str,
    stateless_jwks: Callable[[dict[str, Any]], JsonServer],
) -> None:
    """PyJWT < 2.13.0: with a ``PyJWK`` the header ``alg`` was checked as a string only.

    The verifier must use the algorithm bound to the JWKS key and require the
    header to name it; a genuine RS256 signature under another ``alg`` fails.
    """
    stateless_jwks(keys.public_jwks())
    signature = token.rsplit(".", 1)[1]
    relabelled = compact({**header_of(token), "alg": claimed}, claims_of(token))
    assert_invalid_token(call(client, f"{relabelled}.{signature}"))
    assert call(client, token).status_code == 200


# djangorestframework-simplejwt


def test_cve_2024_22513_ghsa_5vcc_86wm_547q_token_of_an_inactive_user(
    client: Client, user: Any, password: str
) -> None:
    """simplejwt <= 5.3.1 issued and accepted tokens of inactive users (``for_user``).

    A token minted for an inactive user is refused; an inactive user cannot
    sign in; a user deactivated after sign-in can neither use nor refresh.
    """
    pair = sign_in(user, password)
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    user.refresh_from_db()
    application = ApplicationFactory()
    minted = mint_access_token(user=user, client_id=application.client_id, scope="read")
    store_token(
        minted.token, user=user, application=application, scope="read", expires=minted.expires_at
    )
    assert_invalid_token(call(client, minted.token))
    assert_invalid_token(call(client, pair["access_token"]))
    refresh = APIClient().post(REFRESH_URL, {"refresh_token": pair["refresh_token"]}, format="json")
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"
    again = APIClient().post(TOKEN_URL, {"email": user.email, "password": password}, format="json")
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


# django-oauth-toolkit (ids not confirmed: published in DOT's changelog)


@pytest.mark.parametrize("client_id", ["unknown-client", "registered"])
def test_dot_3_4_0_prompt_none_open_redirect_to_an_unregistered_redirect_uri(
    client_id: str,
) -> None:
    """DOT < 3.4.0 (PR #1719): unauthenticated ``prompt=none`` redirected to any ``redirect_uri``.

    The browser must never be sent to the attacker's origin.
    """
    application = make_application()
    response = Client().get(
        "/o/authorize/",
        {
            "response_type": "code",
            "client_id": application.client_id if client_id == "registered" else client_id,
            "redirect_uri": "https://attacker.example/cb",
            "prompt": "none",
            "scope": "read",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        },
    )
    location = response.get("Location", "")
    assert urlsplit(location).hostname != "attacker.example", location
    assert response.status_code in {302, 400}


def test_dot_3_4_1_revocation_of_another_clients_token(user: Any) -> None:
    """DOT (issue #727): ``/o/revoke_token/`` revoked any client's token (RFC 7009 §2.1).

    Client B, authenticated, submits client A's access and refresh tokens:
    200 (RFC 7009 §2.2, nothing disclosed) and A's tokens keep working.
    """
    owner = make_application()
    tokens = oauth_tokens(user, owner)
    thief = make_application()
    for kind in ("access_token", "refresh_token"):
        response = Client().post(
            "/o/revoke_token/",
            {"token": tokens[kind], "token_type_hint": kind},
            HTTP_AUTHORIZATION=basic_auth(thief.client_id),
        )
        assert response.status_code == 200
    assert call(Client(), tokens["access_token"]).status_code == 200
    refreshed = Client().post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth(owner.client_id),
    )
    assert refreshed.status_code == 200


def test_dot_3_4_0_client_secret_is_not_written_to_the_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """DOT < 3.4.0 (PR #1735) logged the submitted ``client_secret`` at DEBUG on failed auth."""
    application = make_application()
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-secret-that-must-not-be-logged"
    for authorization in (basic_auth(application.client_id, wrong), None):
        data = {"grant_type": "client_credentials"}
        extra = {}
        if authorization is None:
            data.update(client_id=application.client_id, client_secret=wrong)
        else:
            extra["HTTP_AUTHORIZATION"] = authorization
        response = Client().post("/o/token/", data, **extra)
        assert response.status_code in {400, 401}
    assert wrong not in caplog.text
    assert basic_auth(application.client_id, wrong).split()[1] not in caplog.text
    assert SECRET not in caplog.text


# oauthlib


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://[::1",
        "https://[",
        "https://[::1]:99999/cb",
        "http://[::1]x",
        "https://[a]/cb",
        "https://[::1]]/cb",
        "https://[v1.fe]/cb",
        "https://[12345::1]/cb",
        "http://[1:2:3:4:5:6:7:8:9]/",
    ],
)
@pytest.mark.parametrize("signed_in", [True, False])
def test_cve_2022_36087_ghsa_3pgj_pg6c_r5p7_malformed_ipv6_redirect_uri(
    user: Any, redirect_uri: str, signed_in: bool
) -> None:
    """oauthlib 3.1.1-3.2.1: a malformed IPv6 ``redirect_uri`` crashed ``uri_validate`` (DoS).

    Also without a session (``prompt=none`` reaches validation before sign-in):
    DOT 3.4.1's own redirect-URI matching raised ``ValueError`` for a bracketed
    host that is no IP address.
    """
    application = make_application()
    browser = Client()
    params = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": redirect_uri,
        "scope": "read",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    if signed_in:
        browser.force_login(user)
    else:
        params["prompt"] = "none"
    response = browser.get("/o/authorize/", params)
    assert 400 <= response.status_code < 500
    assert "Location" not in response
