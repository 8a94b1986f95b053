"""Fifty parallel refreshes of one OAuth refresh token at /o/token/: one 200, the rest 400, no 500.


PostgreSQL only. oauthlib's refresh grant can succeed for several racers; the
family's reuse protection deletes their access tokens, and DOT's ``TokenView``
then re-reads a deleted token: bearer_auth's ``TokenView`` answers that loser
``invalid_grant`` instead of a 500.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.oauth_client import basic_auth, make_application
from tests.security.flows import oauth_tokens
from tests.security.test_concurrency_attacks import _answers, _no_throttles, race

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
