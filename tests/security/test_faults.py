"""Faults: the token store failing under a request (second round of the attack suite).

Failures are injected with Django's ``connection.execute_wrapper``, so they
surface exactly where a real outage would: as a DB-API ``OperationalError``
from the query. An API request then fails closed (503 JSON, never 200, no
traceback); a refresh rolls back completely, so the same refresh token works
on retry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from tests.factories import ApplicationFactory
from tests.first_party import ME_URL, bearer, refresh, sign_in
from tests.issuing import issue_access_token, store_token
from tests.oauth_client import SECRET, basic_auth, make_application
from tests.security.flows import oauth_tokens
from tests.security.probes import SCOPED, WHOAMI

pytestmark = pytest.mark.django_db


@contextmanager
def failing_queries(matches: Callable[[str], bool] = lambda sql: True) -> Iterator[list[str]]:
    """Make every query for which ``matches(sql)`` is true raise ``OperationalError``."""
    failed: list[str] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if matches(sql):
            failed.append(sql)
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield failed


def _assert_fails_closed(response: Any) -> None:
    assert response.status_code == 503, (response.status_code, response.content[:300])
    assert response.json()["error"] == "temporarily_unavailable"
    body = response.content.decode()
    assert "Traceback" not in body
    assert "OperationalError" not in body
    assert "server closed" not in body


@pytest.mark.parametrize("path", [WHOAMI, SCOPED, ME_URL])
def test_api_request_fails_closed_when_the_database_is_down(
    client: Client, user: Any, path: str
) -> None:
    token = issue_access_token(user, scope="read notes:read profile")
    assert client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    with failing_queries() as failed:
        response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert failed
    _assert_fails_closed(response)
    assert client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_opaque_tokens_fail_closed_when_the_database_is_down(
    client: Client, user: Any, settings: Any
) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "ACCEPT_OPAQUE_TOKENS": True}
    store_token(
        "opaque-token-value-123",
        user=user,
        application=ApplicationFactory(),
        scope="read",
        expires=timezone.now() + timedelta(minutes=5),
    )
    with failing_queries():
        response = client.get(WHOAMI, HTTP_AUTHORIZATION="Bearer opaque-token-value-123")
    _assert_fails_closed(response)


def test_stateless_mode_needs_no_database(client: Client, user: Any, settings: Any) -> None:
    """Documented behaviour: a stateless resource server keeps working (and cannot revoke)."""
    token = issue_access_token(user)
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFY_MODE": "stateless"}
    client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {token}")  # warm the key cache
    with failing_queries() as failed:
        response = client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert failed == []


def test_introspection_fails_closed_when_the_token_store_is_down(user: Any) -> None:
    application = make_application()
    tokens = oauth_tokens(user, application)
    with failing_queries(lambda sql: "oauth2_provider_accesstoken" in sql):
        response = Client().post(
            "/o/introspect/",
            {
                "token": tokens["access_token"],
                "client_id": application.client_id,
                "client_secret": SECRET,
            },
        )
    assert response.status_code in {401, 503}
    assert b'active": true' not in response.content
    assert b"Traceback" not in response.content


def _inserting(table: str) -> Callable[[str], bool]:
    return lambda sql: sql.lstrip().upper().startswith("INSERT") and table in sql


@pytest.mark.parametrize("table", ["oauth2_provider_accesstoken", "oauth2_provider_refreshtoken"])
def test_oauth_refresh_interrupted_by_the_database_rolls_back_and_retries(
    user: Any, table: str
) -> None:
    """A failure while DOT writes the new pair leaves the old refresh token usable."""
    application = make_application()
    tokens = oauth_tokens(user, application)
    live_before = get_refresh_token_model().objects.filter(revoked__isnull=True).count()
    access_before = get_access_token_model().objects.count()
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    failing_client = Client(raise_request_exception=False)
    with failing_queries(_inserting(table)) as failed:
        response = failing_client.post(
            "/o/token/", data, HTTP_AUTHORIZATION=basic_auth(application.client_id)
        )
    assert failed
    assert response.status_code >= 500
    assert b"access_token" not in response.content
    assert b"Traceback" not in response.content
    assert get_refresh_token_model().objects.filter(revoked__isnull=True).count() == live_before
    assert get_access_token_model().objects.count() == access_before
    retry = Client().post("/o/token/", data, HTTP_AUTHORIZATION=basic_auth(application.client_id))
    assert retry.status_code == 200, retry.content
    assert bearer(retry.json()["access_token"]).get(WHOAMI).status_code == 200


def test_first_party_refresh_interrupted_at_the_session_update_retries(
    user: Any, password: str
) -> None:
    pair = sign_in(user, password)
    with failing_queries(lambda sql: "bearer_auth_tokensession" in sql and "UPDATE" in sql):
        response = refresh(pair["refresh_token"])
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    retry = refresh(pair["refresh_token"])
    assert retry.status_code == 200
    assert bearer(retry.json()["access_token"]).get(ME_URL).status_code == 200
