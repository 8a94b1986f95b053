"""Fifty parallel refreshes of one OAuth refresh token at /o/token/: one 200, the rest 400, no 500.

PostgreSQL only. DOT validates a refresh token before it locks it, so racers
could each pass validation (DOT then handed a loser the winner's tokens).
bearer_auth's validator locks the family's session and checks the token again
inside DOT's transaction: exactly one racer rotates, the others get
invalid_grant. Racers that arrived before the rotation lost a race; one
scheduled after it presents the just-rotated token within
``REFRESH_REUSE_INTERVAL``: either way the winner's family lives
(``assert_winners_family_lives``).
The arrival rule itself is tested deterministically in
``test_rotation_revocation.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from oauth2_provider.models import get_refresh_token_model

from bearer_auth.jwt import token_checksum
from tests.first_party import assert_winners_family_lives
from tests.oauth_client import basic_auth, make_application
from tests.security.flows import oauth_tokens
from tests.security.test_concurrency_attacks import (
    _answers,
    _no_throttles,
    race,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

__all__ = ["_no_throttles"]  # the autouse fixture applies here too


def test_fifty_concurrent_refreshes_of_one_oauth_token(user: Any) -> None:
    application = make_application()
    tokens = oauth_tokens(user, application)

    def spend() -> Any:
        return Client().post(
            "/o/token/",
            {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            HTTP_AUTHORIZATION=basic_auth(application.client_id),
        )

    responses = race(spend)
    winners = [response for response in responses if response.status_code == 200]
    assert len(winners) == 1, _answers(responses)
    assert set(_answers(responses)[1:]) == {(400, "invalid_grant")}
    family = (
        get_refresh_token_model()
        .objects.get(token_checksum=token_checksum(tokens["refresh_token"]))
        .token_family
    )

    def refresh_again(refresh_token: str) -> Any:
        return Client().post(
            "/o/token/",
            {"grant_type": "refresh_token", "refresh_token": refresh_token},
            HTTP_AUTHORIZATION=basic_auth(application.client_id),
        )

    assert_winners_family_lives(family, winners[0].json(), refresh_again)
