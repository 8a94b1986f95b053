"""Token substitution (RFC 8725 §2.8, §3.11; RFC 9068 §4; RFC 9700 §4.10).

Every credential the server hands out is tried where another kind is
expected: refresh tokens and authorization codes as access tokens, access
tokens as refresh tokens, other same-key JWTs (ID-token-shaped, logout,
refresh-shaped) as access tokens, and a client's own token where a user's is
needed.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from oauth2_provider.models import get_access_token_model
from rest_framework.test import APIClient

from bearer_auth.jwt import user_subject
from tests.first_party import ME_URL, REFRESH_URL, SESSIONS_URL, bearer, sign_in
from tests.issuing import claims_of, forge, header_of
from tests.oauth_client import SECRET, basic_auth, make_application
from tests.security.flows import authorize, client_credentials_token, oauth_tokens
from tests.security.probes import WHOAMI, assert_invalid_token, call

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(user: Any, password: str) -> dict[str, Any]:
    """A first-party token response of ``user``."""
    return sign_in(user, password)


@pytest.mark.parametrize("accept_opaque", [False, True])
def test_refresh_token_is_not_an_access_token(
    client: Client, pair: dict[str, Any], settings: Any, accept_opaque: bool
) -> None:
    """Not as a JWT, and not through the opaque-token path of a migrating server either."""
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "ACCEPT_OPAQUE_TOKENS": accept_opaque}
    assert_invalid_token(call(client, pair["refresh_token"]))
    assert bearer(pair["refresh_token"]).get(ME_URL).status_code == 401
    assert call(client, pair["access_token"]).status_code == 200


def test_oauth_refresh_token_and_code_are_not_access_tokens(client: Client, user: Any) -> None:
    application = make_application()
    tokens = oauth_tokens(user, application)
    code, _verifier = authorize(user, application)
    for credential in (tokens["refresh_token"], code, SECRET, application.client_id):
        assert_invalid_token(call(client, credential))
    assert call(client, tokens["access_token"]).status_code == 200


def test_access_token_is_not_a_refresh_token(pair: dict[str, Any]) -> None:
    response = APIClient().post(REFRESH_URL, {"refresh_token": pair["access_token"]}, format="json")
    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_grant", "invalid_request"}
    # The real refresh token still rotates: the attempt revoked nothing.
    assert (
        APIClient()
        .post(REFRESH_URL, {"refresh_token": pair["refresh_token"]}, format="json")
        .status_code
        == 200
    )


def test_oauth_access_token_is_not_a_refresh_token(user: Any) -> None:
    application = make_application()
    tokens = oauth_tokens(user, application)
    response = Client().post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": tokens["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_refresh_tokens_do_not_cross_between_first_party_and_oauth_clients(
    user: Any, pair: dict[str, Any]
) -> None:
    application = make_application()
    tokens = oauth_tokens(user, application)
    # A first-party refresh token presented by an OAuth client.
    response = Client().post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    # An OAuth client's refresh token presented at the first-party endpoint.
    response = APIClient().post(
        REFRESH_URL, {"refresh_token": tokens["refresh_token"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    # Another OAuth client presenting the first client's refresh token.
    other = make_application()
    response = Client().post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth(other.client_id),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def _id_token_shaped(token: str, user: Any) -> dict[str, Any]:
    claims = claims_of(token)
    return {
        "iss": claims["iss"],
        "sub": user_subject(user),
        "aud": claims["client_id"],
        "azp": claims["client_id"],
        "exp": claims["exp"],
        "iat": claims["iat"],
        "auth_time": claims["iat"],
        "nonce": "n-0S6_WzA2Mj",
    }


@pytest.mark.parametrize(
    ("typ", "shape"),
    [
        ("JWT", "id-token"),
        (None, "id-token"),
        ("at+jwt", "id-token"),  # right typ, but an ID token's claims (aud = client)
        ("logout+jwt", "access"),
        ("secevent+jwt", "access"),
        ("rt+jwt", "access"),
        ("dpop+jwt", "access"),
        ("token-introspection+jwt", "access"),
        ("at+jwt; charset=utf-8", "access"),
        ("application/at+jwt+x", "access"),
        ("at+jwt ", "access"),
        ("JOSE", "access"),
    ],
)
def test_other_same_key_jwts_are_not_access_tokens(
    client: Client, user: Any, token: str, typ: str | None, shape: str
) -> None:
    """RFC 9068 §4: ``typ`` must be ``at+jwt`` and the claims an access token's."""
    claims = _id_token_shaped(token, user) if shape == "id-token" else claims_of(token)
    drop = [name for name in claims_of(token) if name not in claims]
    headers = {"typ": typ} if typ is not None else None
    forged = forge(
        token,
        user=user,
        claims=claims,
        drop_claims=drop,
        headers=headers,
        drop_headers=["typ"] if typ is None else [],
    )
    assert header_of(forged).get("typ") == typ
    assert_invalid_token(call(client, forged))


@pytest.mark.parametrize("path", [ME_URL, SESSIONS_URL])
def test_client_credentials_token_is_not_a_user_on_user_endpoints(path: str) -> None:
    access_token = client_credentials_token()
    response = bearer(access_token).get(path)
    assert response.status_code in {401, 403}
    assert "email" not in response.content.decode()
    response = bearer(access_token).delete(SESSIONS_URL)
    assert response.status_code in {401, 403}


def test_client_credentials_token_cannot_sign_anyone_out(user: Any, pair: dict[str, Any]) -> None:
    bearer(client_credentials_token()).delete(SESSIONS_URL)
    assert bearer(pair["access_token"]).get(ME_URL).status_code == 200


def test_client_credentials_token_is_authenticated_as_nobody(client: Client) -> None:
    access_token = client_credentials_token()
    response = call(client, access_token)
    assert response.status_code == 403
    row = get_access_token_model().objects.get()
    assert row.user_id is None
    assert claims_of(access_token)["sub"] == claims_of(access_token)["client_id"]


def test_token_of_one_user_never_shows_another(user: Any, password: str) -> None:
    from tests.factories import UserFactory

    other = UserFactory(password=password)
    mine = sign_in(user, password)
    theirs = sign_in(other, password)
    assert bearer(mine["access_token"]).get(ME_URL).json()["email"] == user.email
    assert bearer(theirs["access_token"]).get(ME_URL).json()["email"] == other.email
    response = APIClient().get(
        WHOAMI, HTTP_AUTHORIZATION=f"Bearer {mine['access_token']}", HTTP_X_USER=str(other.pk)
    )
    assert response.json()["user"] == str(user.pk)
