"""Stateless mode's users (issue 19 item 3): a user's own rows, and the account endpoints.

A resource server in stateless mode gets a ``ClaimsUser`` (its id is the
token's ``sub``); ``database_user()`` maps it to the user's row. The account
endpoints (``/auth/me/``, ``/auth/sessions/``) check tokens in strict mode
whatever ``VERIFY_MODE`` says, so they answer a valid token in both modes.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from bearer_auth.authentication import ClaimsUser, database_user
from bearer_auth.jwt import user_by_subject, user_subject
from tests.factories import ApplicationFactory
from tests.first_party import ME_URL, SESSIONS_URL, sign_in
from tests.issuing import issue_access_token

pytestmark = pytest.mark.django_db

MODES = ["strict", "stateless"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest, settings: Any) -> str:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFY_MODE": request.param}
    return str(request.param)


class OwnerView(APIView):
    """A resource server's view that keeps rows per user: who owns them."""

    def get(self, request: Request) -> Response:
        owner = database_user(request)
        return Response({"pk": owner.pk, "user_type": type(request.user).__name__})


def _owner(token: str) -> Any:
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    return OwnerView.as_view()(request).render()


def test_database_user_is_the_users_row_in_both_modes(mode: str, user: Any) -> None:
    response = _owner(issue_access_token(user))
    assert response.status_code == 200, response.content
    assert response.data["pk"] == user.pk
    assert response.data["user_type"] == ("ClaimsUser" if mode == "stateless" else "User")


@pytest.mark.parametrize("change", ["delete", "deactivate", "password"])
def test_database_user_refuses_a_token_whose_user_is_gone_or_changed(
    settings: Any, user: Any, change: str
) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFY_MODE": "stateless"}
    token = issue_access_token(user)
    if change == "delete":
        user.delete()
    elif change == "deactivate":
        user.is_active = False
        user.save()
    else:
        user.set_password("another password entirely")
        user.save()
    response = _owner(token)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Bearer realm="api", error="invalid_token"')


def test_a_client_credentials_token_has_no_database_user_in_either_mode(mode: str) -> None:
    client = ApplicationFactory(authorization_grant_type="client-credentials")
    response = _owner(issue_access_token(None, application=client))
    assert response.status_code == 403


def test_user_by_subject_reverses_user_subject(user: Any) -> None:
    assert user_by_subject(user_subject(user)) == user
    assert user_by_subject("bearer-auth-first-party") is None
    assert user_by_subject("00000000-0000-0000-0000-000000000000") is None
    assert ClaimsUser({"sub": user_subject(user)}).id == user_subject(user)  # type: ignore[arg-type]


def test_me_answers_a_valid_token_in_both_modes(mode: str, user: Any, password: str) -> None:
    tokens = sign_in(user, password)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    me = client.get(ME_URL)
    assert me.status_code == 200, me.content
    assert me.json()["id"] == user_subject(user)
    sessions = client.get(SESSIONS_URL)
    assert sessions.status_code == 200, sessions.content
    assert [session["current"] for session in sessions.json()] == [True]


def test_me_refuses_a_revoked_token_in_stateless_mode_too(
    settings: Any, user: Any, password: str
) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFY_MODE": "stateless"}
    tokens = sign_in(user, password)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert client.delete(SESSIONS_URL).status_code == 204
    refused = client.get(ME_URL)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_token"
