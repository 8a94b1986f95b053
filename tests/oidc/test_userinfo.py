"""UserInfo (OpenID Connect Core §5.3): claims by scope, RFC 6750 errors, one query."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from bearer_auth.jwt import user_subject
from bearer_auth.oidc.claims import user_claims
from bearer_auth.services import sign_out_everywhere
from tests.issuing import issue_access_token
from tests.oauth_client import client_credentials_token, make_application
from tests.oidc_support import make_oidc_application, oidc_tokens
from tests.security.probes import BARE_CHALLENGE, RESOURCE_METADATA

pytestmark = pytest.mark.django_db

URL = "/o/userinfo/"


def _get(token: str | None, *, method: str = "get", **extra: Any) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    return getattr(Client(), method)(URL, **headers, **extra)


@pytest.mark.usefixtures("oidc")
@pytest.mark.parametrize("method", ["get", "post"])
def test_userinfo_returns_the_claims_of_the_tokens_scopes(
    browser: Any, user: Any, method: str
) -> None:
    user.full_name = "Ada Lovelace"
    user.save()
    application = make_oidc_application()
    body = oidc_tokens(browser, application, scope="openid email")
    response = _get(body["access_token"], method=method)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "sub": user_subject(user),
        "email": user.email,
        "email_verified": False,
    }


@pytest.mark.usefixtures("oidc")
@pytest.mark.custom_user_model
def test_profile_scope_releases_the_name_claims(user: Any) -> None:
    user.full_name, user.short_name = "Ada Lovelace", "Ada"
    user.save()
    token = issue_access_token(user, scope="openid profile")
    data = _get(token, HTTP_ACCEPT="text/html").json()
    assert data == user_claims(user, {"openid", "profile"})
    assert data == {"sub": user_subject(user), "name": "Ada Lovelace", "nickname": "Ada"}


@pytest.mark.usefixtures("oidc")
def test_profile_claims_of_any_user_model_come_from_the_fields_it_has(user: Any) -> None:
    """Django's own User: first and last name, and the username (not the email) as such."""
    names = {"first_name": "Ada", "last_name": "Lovelace", "full_name": "", "short_name": ""}
    for field, value in names.items():
        if hasattr(user, field):
            setattr(user, field, value)
    user.save()
    expected: dict[str, Any] = {"sub": user_subject(user)}
    if hasattr(user, "first_name"):
        expected.update(name="Ada Lovelace", given_name="Ada", family_name="Lovelace")
    if user.get_email_field_name() != user.USERNAME_FIELD:
        expected["preferred_username"] = getattr(user, user.USERNAME_FIELD)
    token = issue_access_token(user, scope="openid profile")
    assert _get(token).json() == expected


@pytest.mark.usefixtures("oidc")
def test_userinfo_is_one_query_in_strict_mode(
    user: Any, settings: Any, django_assert_num_queries: Any
) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFY_MODE": "stateless"}
    token = issue_access_token(user, scope="openid profile email")
    assert _get(token).status_code == 200  # the key set is read once per process
    with django_assert_num_queries(1):
        assert _get(token).status_code == 200


@pytest.mark.usefixtures("oidc")
def test_a_token_without_openid_is_insufficient_scope(user: Any) -> None:
    response = _get(issue_access_token(user, scope="read email"))
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert response["WWW-Authenticate"].startswith('Bearer realm="api", error="insufficient_scope"')
    assert response["WWW-Authenticate"].endswith(f'scope="openid", {RESOURCE_METADATA}')


@pytest.mark.usefixtures("oidc")
def test_no_token_gets_the_bare_challenge() -> None:
    for method in ("get", "post"):
        response = _get(None, method=method)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == BARE_CHALLENGE


@pytest.mark.usefixtures("oidc")
def test_a_token_in_the_form_body_is_not_accepted(user: Any) -> None:
    """RFC 9700 §2.4 / RFC 6750 §2.2: the Authorization header only."""
    token = issue_access_token(user, scope="openid")
    response = Client().post(URL, {"access_token": token})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BARE_CHALLENGE


@pytest.mark.usefixtures("oidc")
def test_a_revoked_token_is_refused_at_once(user: Any) -> None:
    token = issue_access_token(user, scope="openid")
    assert _get(token).status_code == 200
    sign_out_everywhere(user)
    response = _get(token)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


@pytest.mark.usefixtures("oidc")
def test_an_id_token_is_not_an_access_token(browser: Any) -> None:
    body = oidc_tokens(browser, make_oidc_application())
    response = _get(body["id_token"])
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


@pytest.mark.usefixtures("oidc")
def test_a_client_credentials_token_has_no_user_to_describe() -> None:
    application = make_application(
        grant_type="client-credentials", redirect_uris="", allowed_scopes="openid read"
    )
    response = _get(client_credentials_token(application, scope="openid"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_userinfo_is_not_served_while_oidc_is_off(user: Any) -> None:
    assert _get(issue_access_token(user, scope="openid")).status_code == 404
