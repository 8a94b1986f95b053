"""Rotation and revocation attacks (RFC 9700 §4.14, RFC 7009 §2, RFC 6749 §10.4).

``tests/test_refresh.py``, ``tests/test_revoke.py`` and
``tests/test_sessions_api.py`` prove the mechanics. Here: a thief racing the
victim through several generations, near-miss tokens at the revocation
endpoints, one client revoking another's sign-in, malformed session ids, and
that a sign-out or password change reaches OAuth clients' refresh tokens too
(an authorization-code family has a session like a sign-in).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import get_refresh_token_model
from rest_framework.test import APIClient

from bearer_auth.jwt import token_checksum
from bearer_auth.models import TokenSession
from tests.first_party import REVOKE_URL, SESSIONS_URL, bearer, me_status, refresh, sign_in
from tests.oauth_client import basic_auth, make_application
from tests.refresh_entries import past_reuse_interval
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
    with past_reuse_interval():  # the victim returns later with its now-stale token
        assert refresh(stolen).status_code == 400
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
    with past_reuse_interval():  # the victim returns later
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


def test_password_change_by_queryset_update_stops_oauth_refresh(user: Any) -> None:
    # No post_save, so no sign-out everywhere: the family's session still
    # holds the old password fingerprint, and the OAuth refresh compares it.
    application = make_application()
    tokens = oauth_tokens(user, application)
    get_user_model().objects.filter(pk=user.pk).update(password=make_password("new-pass-42"))
    assert bearer(tokens["access_token"]).get("/test-api/whoami/").status_code == 401
    response = _oauth_refresh(application, tokens["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    family = _family(tokens["refresh_token"])
    assert not get_refresh_token_model().objects.filter(token_family=family, revoked=None).exists()
    assert TokenSession.objects.get(token_family=family).revoked is not None


def test_deactivation_by_queryset_update_stops_oauth_refresh(user: Any) -> None:
    application = make_application()
    tokens = oauth_tokens(user, application)
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert _oauth_refresh(application, tokens["refresh_token"]).status_code == 400


def test_an_oauth_authorization_ends_with_the_session_lifetime(user: Any, settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "REFRESH_TOKEN_LIFETIME": timedelta(hours=1)}
    application = make_application()
    tokens = oauth_tokens(user, application)
    with time_machine.travel(timezone.now() + timedelta(minutes=59)):
        kept = _oauth_refresh(application, tokens["refresh_token"])
        assert kept.status_code == 200, kept.content
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert _oauth_refresh(application, kept.json()["refresh_token"]).status_code == 400


def test_oauth_authorizations_are_sessions_the_user_can_see_and_end(
    user: Any, password: str
) -> None:
    application = make_application(name="Photo printer")
    third_party = oauth_tokens(user, application)
    own = sign_in(user, password)
    listed = bearer(own["access_token"]).get(SESSIONS_URL).json()
    by_client = {session["client_name"]: session for session in listed}
    assert set(by_client) == {"Photo printer", "First-party sign-in"}
    assert by_client["Photo printer"]["current"] is False
    assert by_client["First-party sign-in"]["current"] is True
    # A refresh at /o/token/ is recorded as a use of the same session.
    refreshed = _oauth_refresh(application, third_party["refresh_token"]).json()
    session = TokenSession.objects.get(token_family=_family(refreshed["refresh_token"]))
    assert session.last_used > session.created
    assert str(session.pk) == by_client["Photo printer"]["id"]
    # Ending it from the first-party sessions API ends the third party's access.
    ended = bearer(own["access_token"]).delete(f"{SESSIONS_URL}{session.pk}/")
    assert ended.status_code == 204
    assert bearer(refreshed["access_token"]).get("/test-api/whoami/").status_code == 401
    assert _oauth_refresh(application, refreshed["refresh_token"]).status_code == 400
    assert me_status(own["access_token"]) == 200


def test_client_credentials_tokens_start_no_session() -> None:
    application = make_application(grant_type="client-credentials")
    response = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "read"},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )
    assert response.status_code == 200, response.content
    assert TokenSession.objects.count() == 0


def _family(refresh_token: str) -> Any:
    return (
        get_refresh_token_model()
        .objects.filter(token_checksum=token_checksum(refresh_token))
        .values_list("token_family", flat=True)
        .get()
    )


def test_an_oauth_refresh_that_arrived_before_the_rotation_lost_a_race_not_a_replay(
    user: Any,
) -> None:
    application = make_application()
    tokens = oauth_tokens(user, application)
    arrived = timezone.now()
    rotated = _oauth_refresh(application, tokens["refresh_token"]).json()
    # The same token, in a request that arrived before the rotation above.
    with time_machine.travel(arrived, tick=False):
        lost = _oauth_refresh(application, tokens["refresh_token"])
    assert lost.status_code == 400
    assert lost.json()["error"] == "invalid_grant"
    assert bearer(rotated["access_token"]).get("/test-api/whoami/").status_code == 200
    # A use of the spent token past the reuse interval is a replay: the family goes.
    with past_reuse_interval():
        assert _oauth_refresh(application, tokens["refresh_token"]).status_code == 400
        assert bearer(rotated["access_token"]).get("/test-api/whoami/").status_code == 401
        assert _oauth_refresh(application, rotated["refresh_token"]).status_code == 400
