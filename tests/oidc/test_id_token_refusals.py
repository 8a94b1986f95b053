"""Forged, altered and misplaced ID tokens, replays, and clients that may not have ID tokens."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt as pyjwt
import pytest
from authlib.oidc.core import CodeIDToken
from django.test import Client
from joserfc import jwt as joserfc_jwt
from joserfc.errors import InvalidClaimError, JoseError
from joserfc.jwk import KeySet
from oauth2_provider.models import get_grant_model, get_id_token_model

from bearer_auth import keys
from bearer_auth.exceptions import InvalidToken
from bearer_auth.jwt import decode_id_token, user_subject
from bearer_auth.keys.material import generate_private_key
from bearer_auth.models import ApplicationPolicy
from tests.factories import UserFactory
from tests.oauth_client import (
    authorization_code,
    authorization_params,
    exchange,
    form_fields,
    pkce_pair,
    query_of,
    signed_in_browser,
)
from tests.oidc_support import make_oidc_application, oidc_tokens

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("oidc")]

ISSUER = "https://issuer.test"


def _segments(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    _header, payload, signature = token.split(".")
    return (
        pyjwt.get_unverified_header(token),
        json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))),
        signature,
    )


def _b64(document: dict[str, Any]) -> str:
    raw = json.dumps(document, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _altered(token: str, **changes: Any) -> str:
    """``token`` with its payload changed and the original signature kept."""
    header_segment, _payload, signature = token.split(".")
    claims = _segments(token)[1]
    return ".".join([header_segment, _b64({**claims, **changes}), signature])


def _forged(token: str, **changes: Any) -> str:
    """``token``'s claims (changed) re-signed with an attacker's key under the same ``kid``."""
    header, claims, _signature = _segments(token)
    return pyjwt.encode(
        {**claims, **changes},
        generate_private_key(header["alg"]),  # the attacker's
        algorithm=header["alg"],
        headers={"kid": header["kid"], "typ": "JWT"},
    )


def _unsigned(token: str) -> str:
    header, claims, _signature = _segments(token)
    return pyjwt.encode(
        claims, None, algorithm="none", headers={"kid": header["kid"], "typ": "JWT"}
    )


def _joserfc_accepts(token: str) -> bool:
    jwks = Client().get("/.well-known/jwks.json").json()
    try:
        joserfc_jwt.decode(token, KeySet.import_key_set(jwks))
    except JoseError:
        return False
    return True


def _assert_redirect_error(response: Any, params: dict[str, str], error: str) -> dict[str, str]:
    assert response.status_code == 302, response.content
    assert response.content == b""
    assert response["Location"].startswith(params["redirect_uri"] + "?")
    answer = query_of(response["Location"])
    assert answer["error"] == error, answer
    assert answer["state"] == params["state"]
    assert answer["iss"] == ISSUER
    assert "code" not in answer
    return answer


# Forged and altered ID tokens


@pytest.mark.parametrize(
    "tamper", [_altered, _forged, _unsigned], ids=["altered", "forged", "none"]
)
def test_a_tampered_id_token_is_refused(browser: Any, id_token_algorithm: str, tamper: Any) -> None:
    application = make_oidc_application()
    genuine = oidc_tokens(browser, application)["id_token"]
    assert decode_id_token(genuine, audience=application.client_id)["aud"] == application.client_id
    someone_else = UserFactory()
    tampered = (
        tamper(genuine, sub=user_subject(someone_else))
        if tamper is not _unsigned
        else tamper(genuine)
    )

    with pytest.raises(InvalidToken):
        decode_id_token(tampered, audience=application.client_id)
    with pytest.raises(InvalidToken):
        decode_id_token(tampered)
    assert not _joserfc_accepts(tampered)
    # As an id_token_hint it names no one: invalid_request, not a sign-in as someone else.
    params = authorization_params(application, scope="openid", id_token_hint=tampered)
    _assert_redirect_error(
        signed_in_browser(someone_else).get("/o/authorize/", params), params, "invalid_request"
    )


# Tokens out of place, both ways


def test_an_access_token_is_not_an_id_token(browser: Any) -> None:
    application = make_oidc_application()
    body = oidc_tokens(browser, application)
    assert pyjwt.get_unverified_header(body["access_token"])["typ"] == "at+jwt"
    with pytest.raises(InvalidToken):
        decode_id_token(body["access_token"])
    with pytest.raises(InvalidToken):
        decode_id_token(body["access_token"], audience=application.client_id)

    params = authorization_params(application, scope="openid", id_token_hint=body["access_token"])
    _assert_redirect_error(browser.get("/o/authorize/", params), params, "invalid_request")


def test_an_id_token_is_not_a_bearer_access_token(browser: Any) -> None:
    application = make_oidc_application()
    body = oidc_tokens(browser, application, scope="openid read")
    assert (
        Client()
        .get("/test-api/whoami/", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
        .status_code
        == 200
    )

    response = Client().get("/test-api/whoami/", HTTP_AUTHORIZATION=f"Bearer {body['id_token']}")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert response.json()["error"] == "invalid_token"


# Replays


def test_authlib_refuses_an_id_token_with_another_flows_nonce(browser: Any) -> None:
    application = make_oidc_application()
    body = oidc_tokens(browser, application, nonce="nonce-of-the-first-flow")
    jwks = Client().get("/.well-known/jwks.json").json()
    decoded = joserfc_jwt.decode(body["id_token"], KeySet.import_key_set(jwks))

    def claims(nonce: str) -> CodeIDToken:
        return CodeIDToken(
            decoded.claims,
            decoded.header,
            {"iss": {"essential": True, "value": ISSUER}},
            {
                "nonce": nonce,
                "client_id": application.client_id,
                "access_token": body["access_token"],
            },
        )

    claims("nonce-of-the-first-flow").validate()
    with pytest.raises(InvalidClaimError, match="nonce"):
        claims("nonce-this-flow-sent").validate()


def test_a_second_exchange_of_the_code_is_invalid_grant_without_an_id_token(
    browser: Any,
) -> None:
    application = make_oidc_application()
    code, verifier = authorization_code(browser, application, scope="openid", nonce="n-once")
    first = exchange(application, code, verifier)
    assert first.status_code == 200
    assert "id_token" in first.json()
    id_tokens = get_id_token_model().objects.count()

    second = exchange(application, code, verifier)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert "id_token" not in second.json()
    assert get_id_token_model().objects.count() <= id_tokens


# Who may have ID tokens


def test_prompt_none_without_a_session_is_login_required_without_a_page() -> None:
    application = make_oidc_application()
    params = authorization_params(application, scope="openid", prompt="none")
    _assert_redirect_error(Client().get("/o/authorize/", params), params, "login_required")


def test_a_client_whose_policy_refuses_openid_connect_asking_for_openid_is_invalid_scope(
    browser: Any,
) -> None:
    application = make_oidc_application()
    ApplicationPolicy.objects.filter(application=application).update(openid_connect=False)
    params = authorization_params(application, scope="openid email")
    answer = _assert_redirect_error(browser.get("/o/authorize/", params), params, "invalid_scope")
    assert answer["error_description"] == "This client may not use OpenID Connect."
    # Without openid the same client is served.
    assert browser.get("/o/authorize/", authorization_params(application)).status_code == 200


def test_a_client_registered_for_another_algorithm_is_refused(browser: Any) -> None:
    application = make_oidc_application()
    ApplicationPolicy.objects.filter(application=application).update(
        id_token_signed_response_alg="ES256"
    )
    params = authorization_params(application, scope="openid")
    answer = _assert_redirect_error(browser.get("/o/authorize/", params), params, "invalid_scope")
    assert "expects ID tokens signed with ES256" in answer["error_description"]
    # Once the active key is the client's algorithm, it is served.
    keys.rotate_signing_key(algorithm="ES256")
    assert browser.get("/o/authorize/", params).status_code == 200


def test_a_policy_changed_between_authorization_and_exchange_yields_no_id_token(
    browser: Any,
) -> None:
    application = make_oidc_application()
    code, verifier = authorization_code(browser, application, scope="openid")
    ApplicationPolicy.objects.filter(application=application).update(
        id_token_signed_response_alg="EdDSA"
    )
    response = exchange(application, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert get_id_token_model().objects.count() == 0


# Parameters DOT stores with the grant


def test_a_nonce_longer_than_the_grant_column_is_invalid_request(browser: Any) -> None:
    """PostgreSQL refused to store it: the consent answer was a 503."""
    application = make_oidc_application()
    params = authorization_params(application, scope="openid", nonce="n" * 256)
    answer = _assert_redirect_error(browser.get("/o/authorize/", params), params, "invalid_request")
    assert "nonce" in answer["error_description"]
    assert oidc_tokens(browser, application, nonce="n" * 255)["id_token"]


def test_a_nonce_made_longer_in_the_consent_form_is_invalid_request(browser: Any) -> None:
    application = make_oidc_application()
    params = authorization_params(application, scope="openid", nonce="n-short")
    page = browser.get("/o/authorize/", params)
    fields = {**form_fields(page.content.decode()), "allow": "on", "nonce": "n" * 256}
    _assert_redirect_error(browser.post("/o/authorize/", fields), params, "invalid_request")
    assert not get_grant_model().objects.exists()


@pytest.mark.parametrize("where", ["query", "consent form"])
def test_a_claims_parameter_cannot_set_auth_time(browser: Any, where: str) -> None:
    """The member of ``claims`` that carries auth_time to the exchange is the server's own."""
    application = make_oidc_application()
    verifier, challenge = pkce_pair()
    forged = json.dumps({"bearer_auth": {"auth_time": 1}})
    extra = {"claims": forged} if where == "query" else {}
    params = authorization_params(application, challenge, scope="openid", **extra)
    fields = {**form_fields(browser.get("/o/authorize/", params).content.decode()), "allow": "on"}
    if where == "consent form":
        fields["claims"] = forged
    code = query_of(browser.post("/o/authorize/", fields)["Location"])["code"]
    id_token = exchange(application, code, verifier).json()["id_token"]
    claims = decode_id_token(id_token, audience=application.client_id)
    # Signed in by force_login moments before.
    assert claims["iat"] - 10 <= claims["auth_time"] <= claims["iat"]
