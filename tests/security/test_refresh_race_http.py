"""Twenty simultaneous refreshes of one token over real HTTP: the winner's session lives.

Issue 19 item 18: two browser tabs or a client's retry spend one refresh
token at once. Exactly one request rotates it; the others present the
just-rotated token within ``REFRESH_REUSE_INTERVAL`` and get a clean
``invalid_grant`` without revoking the family, so the winner's new refresh
token refreshes again. Nothing answers 5xx: on SQLite the racers wait for the
write lock (the demo's ``transaction_mode = "IMMEDIATE"``) instead of
failing with "database is locked" (503).

Before the fix the family was revoked in most trials (a racer scheduled
after the winner's commit counted as a replay) and, on SQLite, 14-17 racers
of 20 answered 503.

- SQLite: the demo served by gunicorn (4 worker processes) on a SQLite file.
- PostgreSQL: pytest-django's live server (a thread per request, each on its
  own connection), at both entry points.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.oauth_client import SECRET, make_application
from tests.processes import run_gunicorn_demo
from tests.security.flows import oauth_tokens
from tests.threads import run_together

RACERS = 20
TRIALS = 4


def _race_once(post_refresh: Callable[[str], requests.Response], refresh_token: str) -> None:
    """Spend ``refresh_token`` RACERS times at once; the winner's token must refresh again."""
    responses = run_together(*[lambda: post_refresh(refresh_token)] * RACERS)
    answers = sorted((response.status_code, response.json().get("error")) for response in responses)
    assert answers == [(200, None)] + [(400, "invalid_grant")] * (RACERS - 1), answers
    (winner,) = [response.json() for response in responses if response.status_code == 200]
    again = post_refresh(winner["refresh_token"])
    assert again.status_code == 200, again.content


@pytest.mark.slow
def test_twenty_http_refreshes_against_gunicorn_on_sqlite_keep_the_session(
    tmp_path: Path,
) -> None:
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings_demo_races"}
    with run_gunicorn_demo(tmp_path, workers=4, env=env) as server:

        def post_refresh(refresh_token: str) -> requests.Response:
            return requests.post(
                f"{server.base_url}/auth/token/refresh/",
                data={"refresh_token": refresh_token},
                timeout=60,
            )

        for _ in range(TRIALS):
            signed_in = requests.post(
                f"{server.base_url}/auth/token/",
                data={"email": server.email, "password": server.password},
                timeout=60,
            )
            assert signed_in.status_code == 200, signed_in.content
            _race_once(post_refresh, signed_in.json()["refresh_token"])


@pytest.fixture
def _no_throttles(settings: Any) -> None:
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "SIGN_IN_THROTTLE_RATES": {},
        "REFRESH_THROTTLE_RATE": None,
        "OAUTH_THROTTLE_RATES": {},
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_no_throttles")
def test_twenty_http_refreshes_on_postgresql_keep_the_session(
    live_server: Any, user: Any, password: str
) -> None:
    def first_party(refresh_token: str) -> requests.Response:
        return requests.post(
            f"{live_server.url}/auth/token/refresh/",
            data={"refresh_token": refresh_token},
            timeout=60,
        )

    for _ in range(TRIALS):
        signed_in = requests.post(
            f"{live_server.url}/auth/token/",
            data={"email": user.get_username(), "password": password},
            timeout=60,
        )
        assert signed_in.status_code == 200, signed_in.content
        _race_once(first_party, signed_in.json()["refresh_token"])

    application = make_application()

    def oauth(refresh_token: str) -> requests.Response:
        return requests.post(
            f"{live_server.url}/o/token/",
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            auth=(application.client_id, SECRET),
            timeout=60,
        )

    for _ in range(TRIALS):
        _race_once(oauth, oauth_tokens(user, application)["refresh_token"])
