"""ID tokens from the code exchange: claims, signature on the managed keys, sessions."""

from __future__ import annotations

from typing import Any

import jwt as pyjwt
import pytest

from bearer_auth import keys
from bearer_auth.jwt import decode_access_token, token_hash, user_subject
from bearer_auth.models import TokenSession
from tests.oidc_support import make_oidc_application, oidc_tokens

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("oidc")]


def _verify(token: str, audience: str) -> dict[str, Any]:
    header = pyjwt.get_unverified_header(token)
    key = keys.verification_key(header["kid"])
    assert key is not None
    claims: dict[str, Any] = pyjwt.decode(
        token, key.public_key, algorithms=[key.algorithm], audience=audience
    )
    return claims


def test_code_exchange_with_openid_returns_a_signed_id_token(browser: Any, user: Any) -> None:
    application = make_oidc_application()
    body = oidc_tokens(browser, application, nonce="n-0S6_WzA2Mj")

    header = pyjwt.get_unverified_header(body["id_token"])
    assert header["typ"] == "JWT"
    claims = _verify(body["id_token"], application.client_id)
    assert claims["iss"] == "https://issuer.test"
    assert claims["sub"] == user_subject(user) == decode_access_token(body["access_token"])["sub"]
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["at_hash"] == token_hash(body["access_token"], header["alg"])
    assert claims["email"] == user.email
    assert claims["email_verified"] is False
    assert isinstance(claims["auth_time"], int)
    session = TokenSession.objects.get(pk=claims["sid"])
    assert session.user == user
    assert session.id_token is not None
    assert str(session.id_token.jti) == claims["jti"]


def test_without_openid_there_is_no_id_token(browser: Any) -> None:
    application = make_oidc_application()
    body = oidc_tokens(browser, application, scope="read")
    assert "id_token" not in body
