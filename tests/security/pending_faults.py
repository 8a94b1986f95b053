"""Pending: fails until ``/o/token/`` answers a database outage like the first-party endpoints.

Not collected by the default run; run ``pytest tests/security/pending_faults.py``.
Today DOT's token view lets the ``OperationalError`` through and Django renders
its HTML "Server Error (500)" page; the first-party refresh answers 503
``temporarily_unavailable`` JSON with ``Cache-Control: no-store``. The
rollback itself is correct (``test_faults.py``). Once this passes, fold it into
``test_faults.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.oauth_client import basic_auth, make_application
from tests.security.flows import oauth_tokens
from tests.security.test_faults import failing_queries

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("grant", ["refresh_token", "client_credentials"])
def test_token_endpoint_answers_503_json_when_the_database_is_down(user: Any, grant: str) -> None:
    application = make_application(
        grant_type="client-credentials" if grant == "client_credentials" else "authorization-code"
    )
    data = {"grant_type": grant}
    if grant == "refresh_token":
        data["refresh_token"] = oauth_tokens(user, application)["refresh_token"]
    with failing_queries(lambda sql: sql.lstrip().upper().startswith("INSERT")):
        response = Client(raise_request_exception=False).post(
            "/o/token/", data, HTTP_AUTHORIZATION=basic_auth(application.client_id)
        )
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "temporarily_unavailable"
    assert response["Cache-Control"] == "no-store"
