"""Races on PostgreSQL with real threads: rotation, sign-out and password change.

Each thread has its own database connection; a barrier releases them together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_refresh_token_model,
)
from rest_framework.test import APIClient

from bearer_auth import services
from tests.first_party import (
    REVOKE_URL,
    SESSIONS_URL,
    assert_winners_family_lives,
    bearer,
    live_refresh_tokens,
    refresh,
    refresh_row,
    session_of,
    sign_in,
)
from tests.threads import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_sign_in_throttle(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "SIGN_IN_THROTTLE_RATES": {}}


def family_access_tokens(family: Any) -> int:
    """Access tokens of a family, whichever refresh token they are tied to."""
    return (
        get_access_token_model()
        .objects.filter(refresh_token__token_family=family)
        .union(get_access_token_model().objects.filter(source_refresh_token__token_family=family))
        .count()
    )


def test_twenty_parallel_refreshes_have_exactly_one_winner(user, password):
    tokens = sign_in(user, password)
    family = refresh_row(tokens["refresh_token"]).token_family

    responses = run_together(*[lambda: refresh(tokens["refresh_token"])] * 20)

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [400] * 19
    assert {r.json()["error"] for r in responses if r.status_code == 400} == {"invalid_grant"}
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert family_access_tokens(family) <= 1
    assert_winners_family_lives(family, winner, refresh)


@pytest.mark.parametrize("rounds", [8])
def test_revocation_racing_a_refresh_leaves_no_live_token(user, password, rounds):
    for _ in range(rounds):
        tokens = sign_in(user, password)
        family = refresh_row(tokens["refresh_token"]).token_family

        def revoke(token: str = tokens["refresh_token"]) -> Any:
            return APIClient().post(REVOKE_URL, {"token": token}, format="json")

        def rotate(token: str = tokens["refresh_token"]) -> Any:
            return refresh(token)

        revoked, rotated = run_together(revoke, rotate)

        assert revoked.status_code == 200
        assert rotated.status_code in {200, 400}
        assert live_refresh_tokens(family) == 0
        assert family_access_tokens(family) == 0


@pytest.mark.parametrize("rounds", [8])
def test_session_sign_out_racing_a_refresh_leaves_no_live_token(user, password, rounds):
    other = sign_in(user, password)
    for _ in range(rounds):
        tokens = sign_in(user, password)
        session_id = session_of(tokens["refresh_token"]).pk
        family = refresh_row(tokens["refresh_token"]).token_family

        def sign_out(session_id: Any = session_id) -> Any:
            return bearer(other["access_token"]).delete(f"{SESSIONS_URL}{session_id}/")

        def rotate(token: str = tokens["refresh_token"]) -> Any:
            return refresh(token)

        signed_out, rotated = run_together(sign_out, rotate)

        assert signed_out.status_code == 204
        assert rotated.status_code in {200, 400}
        assert live_refresh_tokens(family) == 0
        assert family_access_tokens(family) == 0
    assert bearer(other["access_token"]).get("/auth/me/").status_code == 200


def test_password_change_racing_refreshes_leaves_no_live_refresh_token(user, password):
    sessions = [sign_in(user, password) for _ in range(5)]

    def change_password() -> None:
        user.set_password("a brand new password 42")
        user.save()

    def rotate(token: str) -> Callable[[], Any]:
        return lambda: refresh(token)

    results = run_together(change_password, *[rotate(s["refresh_token"]) for s in sessions])

    assert all(result.status_code in {200, 400} for result in results[1:])
    assert not get_refresh_token_model().objects.filter(user=user, revoked__isnull=True).exists()
    assert not get_access_token_model().objects.filter(user=user).exists()
    for result in results[1:]:
        if result.status_code == 200:
            assert refresh(result.json()["refresh_token"]).status_code == 400


def test_first_party_application_is_created_once_under_a_race():
    applications = run_together(*[services.first_party_application] * 10)
    assert len({application.pk for application in applications}) == 1
    assert get_application_model().objects.count() == 1
