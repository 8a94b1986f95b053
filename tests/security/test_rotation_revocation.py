"""Rotation and revocation attacks (RFC 9700 §4.14, RFC 7009 §2, RFC 6749 §10.4).

``tests/test_refresh.py``, ``tests/test_revoke.py`` and
``tests/test_sessions_api.py`` prove the mechanics. Here: a thief racing the
victim through several generations, near-miss tokens at the revocation
endpoints, one client revoking another's sign-in, malformed session ids, and
that a sign-out or password change reaches OAuth clients' refresh tokens too.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.first_party import REVOKE_URL, SESSIONS_URL, bearer, me_status, refresh, sign_in
from tests.oauth_client import basic_auth, make_application
from tests.security.flows import oauth_tokens

pytestmark = pytest.mark.django_db


def _oauth_refresh(application: Any, refresh_token: str) -> Any:
    return Client().post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )


@pytest.mark.parametrize("generations", [1, 3])
def test_thief_who_refreshes_first_loses_everything_when_the_victim_returns(
    user: Any, password: str, generations: int
) -> None:
    """The thief rotates a stolen token ``generations`` times; one replay ends the family."""
    victim = sign_in(user, password)
    stolen = victim["refresh_token"]
    thief = victim
    for _ in range(generations):
        response = refresh(thief["refresh_token"])
        assert response.status_code == 200
        thief = response.json()
    assert me_status(thief["access_token"]) == 200
    assert refresh(stolen).status_code == 400  # the victim's now-stale token
    assert me_status(thief["access_token"]) == 401
    assert refresh(thief["refresh_token"]).status_code == 400
    # Nothing in the family comes back, whichever generation is tried next.
    assert refresh(stolen).status_code == 400
    assert me_status(victim["access_token"]) == 401


def test_oauth_thief_who_refreshes_first_loses_everything(user: Any) -> None:
    application = make_application()
    stolen = oauth_tokens(user, application)
    thief = _oauth_refresh(application, stolen["refresh_token"]).json()
    assert bearer(thief["access_token"]).get("/test-api/whoami/").status_code == 200
    assert _oauth_refresh(application, stolen["refresh_token"]).status_code == 400
    assert bearer(thief["access_token"]).get("/test-api/whoami/").status_code == 401
    assert _oauth_refresh(application, thief["refresh_token"]).status_code == 400


@pytest.mark.parametrize("change", ["upper", "drop-last", "prefix", "append-="])
def test_near_miss_tokens_revoke_nothing(user: Any, password: str, change: str) -> None:
    pair = sign_in(user, password)
    for kind in ("refresh_token", "access_token"):
        value = pair[kind]
        near = {
            "upper": value.upper(),
            "drop-last": value[:-1],
            "prefix": value[:16],
            "append-=": value + "=",
        }[change]
        response = APIClient().post(REVOKE_URL, {"token": near}, format="json")
        assert response.status_code == 200
    assert me_status(pair["access_token"]) == 200
    assert refresh(pair["refresh_token"]).status_code == 200


def test_an_oauth_client_cannot_revoke_a_first_party_sign_in(user: Any, password: str) -> None:
    pair = sign_in(user, password)
    other = make_application()
    for kind in ("refresh_token", "access_token"):
        response = Client().post(
            "/o/revoke_token/",
            {"token": pair[kind], "token_type_hint": kind},
            HTTP_AUTHORIZATION=basic_auth(other.client_id),
        )
        assert response.status_code == 200
    assert me_status(pair["access_token"]) == 200
    assert refresh(pair["refresh_token"]).status_code == 200


def test_the_first_party_revoke_endpoint_cannot_revoke_an_oauth_clients_tokens(
    user: Any,
) -> None:
    application = make_application()
    tokens = oauth_tokens(user, application)
    for kind in ("refresh_token", "access_token"):
        response = APIClient().post(REVOKE_URL, {"token": tokens[kind]}, format="json")
        assert response.status_code == 200
    assert bearer(tokens["access_token"]).get("/test-api/whoami/").status_code == 200
    assert _oauth_refresh(application, tokens["refresh_token"]).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "not-a-uuid/",
        "00000000-0000-0000-0000-000000000000/",
        "../../admin/",
        "%2e%2e/",
        "1 OR 1=1/",
    ],
)
def test_malformed_or_unknown_session_ids_are_404(user: Any, password: str, path: str) -> None:
    pair = sign_in(user, password)
    response = bearer(pair["access_token"]).delete(SESSIONS_URL + path)
    assert response.status_code == 404
    assert me_status(pair["access_token"]) == 200


def test_sign_out_everywhere_reaches_oauth_refresh_tokens(user: Any, password: str) -> None:
    application = make_application()
    tokens = oauth_tokens(user, application)
    first_party = sign_in(user, password)
    assert bearer(first_party["access_token"]).delete(SESSIONS_URL).status_code == 204
    assert bearer(tokens["access_token"]).get("/test-api/whoami/").status_code == 401
    assert _oauth_refresh(application, tokens["refresh_token"]).status_code == 400
