"""POST /auth/token/revoke/ (RFC 7009)."""

from __future__ import annotations

import pytest
from oauth2_provider.models import get_access_token_model
from rest_framework.test import APIClient

from tests.first_party import (
    REVOKE_URL,
    family_access_tokens,
    live_refresh_tokens,
    me_status,
    refresh,
    refresh_row,
    session_of,
    sign_in,
    store_other_clients_tokens,
)

pytestmark = pytest.mark.django_db


def revoke(token: str, **data: str) -> object:
    return APIClient().post(REVOKE_URL, {"token": token, **data}, format="json")


def assert_ok(response) -> None:
    assert response.status_code == 200, response.content
    assert response.content == b""
    assert response["Cache-Control"] == "no-store"


def test_revoking_a_refresh_token_revokes_its_family(user, password):
    first = sign_in(user, password)
    second = refresh(first["refresh_token"]).json()
    family = refresh_row(second["refresh_token"]).token_family

    assert_ok(revoke(second["refresh_token"], token_type_hint="refresh_token"))

    assert live_refresh_tokens(family) == 0
    assert family_access_tokens(family) == 0
    assert me_status(second["access_token"]) == 401
    assert refresh(second["refresh_token"]).status_code == 400
    assert session_of(second["refresh_token"]).revoked is not None


def test_revoking_an_access_token_stops_it_at_once(user, password):
    tokens = sign_in(user, password)
    other = sign_in(user, password)
    assert me_status(tokens["access_token"]) == 200

    assert_ok(revoke(tokens["access_token"], token_type_hint="access_token"))

    assert me_status(tokens["access_token"]) == 401
    assert refresh(tokens["refresh_token"]).status_code == 400
    assert me_status(other["access_token"]) == 200


def test_wrong_hint_is_ignored(user, password):
    tokens = sign_in(user, password)
    assert_ok(revoke(tokens["access_token"], token_type_hint="refresh_token"))
    assert me_status(tokens["access_token"]) == 401


def test_revoking_a_rotated_refresh_token_revokes_the_family(user, password):
    first = sign_in(user, password)
    second = refresh(first["refresh_token"]).json()
    assert_ok(revoke(first["refresh_token"]))
    assert me_status(second["access_token"]) == 401


@pytest.mark.parametrize("token", ["unknown-token", "a" * 8192, "eyJ.eyJ.sig"])
def test_unknown_tokens_answer_200(user, password, token):
    tokens = sign_in(user, password)
    assert_ok(revoke(token))
    assert me_status(tokens["access_token"]) == 200


def test_another_clients_token_is_left_alone(user):
    access, other = store_other_clients_tokens(
        user, access_token="oauth-access", refresh_token="oauth-refresh"
    )
    assert_ok(revoke("oauth-refresh"))
    assert_ok(revoke("oauth-access"))
    other.refresh_from_db()
    assert other.revoked is None
    assert get_access_token_model().objects.filter(pk=access.pk).exists()


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"{}", "application/json"),
        (b'{"token": ""}', "application/json"),
        (b"token_type_hint=refresh_token", "application/x-www-form-urlencoded"),
        (b"{bad", "application/json"),
        (b"token=x", "text/plain"),
    ],
)
def test_missing_or_malformed_token_is_invalid_request(data, content_type):
    response = APIClient().post(REVOKE_URL, data=data, content_type=content_type)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert set(response.json()) == {"error", "error_description"}


def test_form_encoded_revocation(user, password):
    tokens = sign_in(user, password)
    response = APIClient().post(
        REVOKE_URL,
        data=f"token={tokens['refresh_token']}&token_type_hint=refresh_token",
        content_type="application/x-www-form-urlencoded",
    )
    assert_ok(response)
    assert me_status(tokens["access_token"]) == 401


def test_revoke_query_count(django_assert_max_num_queries, user, password):
    tokens = sign_in(user, password)
    with django_assert_max_num_queries(12):
        assert_ok(revoke(tokens["refresh_token"]))
    with django_assert_max_num_queries(4):
        assert_ok(revoke("unknown-token"))
