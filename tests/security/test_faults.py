"""Faults: the token store failing under a request (second round of the attack suite).

Failures are injected with Django's ``connection.execute_wrapper``, so they
surface exactly where a real outage would: as a DB-API ``OperationalError``
from the query. An API request then fails closed (503 JSON, never 200, no
traceback); so do the ``/o/`` endpoints, where the consent page answers a
short 503 page instead. A refresh or a code exchange rolls back completely,
so the same refresh token or code works on retry.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from django.core.cache import caches
from django.db import OperationalError, connection
from django.test import Client
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_refresh_token_model,
)

from bearer_auth.keys import cache as key_cache
from bearer_auth.keys import clear_key_cache, public_jwks
from tests.first_party import ME_URL, bearer, refresh, sign_in
from tests.issuing import issue_access_token, store_live_token
from tests.oauth_client import (
    SECRET,
    authorization_params,
    basic_auth,
    form_fields,
    make_application,
    pkce_pair,
    query_of,
)
from tests.security.flows import authorize, exchange, oauth_tokens
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


def _assert_no_detail(response: Any) -> None:
    body = response.content.decode()
    assert "Traceback" not in body
    assert "OperationalError" not in body
    assert "server closed" not in body


def _assert_fails_closed(response: Any) -> None:
    assert response.status_code == 503, (response.status_code, response.content[:300])
    assert response.json()["error"] == "temporarily_unavailable"
    _assert_no_detail(response)


def _assert_oauth_unavailable(response: Any) -> None:
    """RFC 6749 §5.2 JSON 503, never cached, as the first-party endpoints answer."""
    _assert_fails_closed(response)
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"error", "error_description"}
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def _writing(table: str, statement: str = "INSERT") -> Callable[[str], bool]:
    """Match the ``statement`` (``INSERT``, ``DELETE``, ...) queries that write ``table``."""
    return lambda sql: sql.lstrip().upper().startswith(statement) and table in sql


def _token_rows() -> tuple[int, int]:
    return get_access_token_model().objects.count(), get_refresh_token_model().objects.count()


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
    store_live_token("opaque-token-value-123", user=user)
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


@pytest.mark.parametrize("mode", ["strict", "stateless"])
def test_a_worker_without_loaded_keys_answers_503_json_during_an_outage(
    client: Client, user: Any, settings: Any, mode: str
) -> None:
    token = issue_access_token(user)
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFY_MODE": mode}
    clear_key_cache()  # a worker that has just started
    with failing_queries() as failed:
        response = client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert failed
    _assert_fails_closed(response)
    assert client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_loaded_keys_keep_verifying_when_a_reload_meets_an_outage(
    client: Client, user: Any, settings: Any
) -> None:
    token = issue_access_token(user)
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFY_MODE": "stateless"}
    assert client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    # The periodic check is due: it reads the key set's version from the database.
    later = time.monotonic() + 10 * 3600
    with (
        mock.patch.object(key_cache, "_monotonic", return_value=later),
        failing_queries() as failed,
    ):
        response = client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert failed  # the reload was tried
    assert response.status_code == 200


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
    _assert_oauth_unavailable(response)
    assert b'active": true' not in response.content


def test_introspection_answers_503_when_client_authentication_needs_the_database(
    user: Any,
) -> None:
    application = make_application()
    tokens = oauth_tokens(user, application)
    data = {"token": tokens["access_token"]}
    with failing_queries():
        response = Client().post(
            "/o/introspect/", data, HTTP_AUTHORIZATION=basic_auth(application.client_id)
        )
    _assert_oauth_unavailable(response)
    after = Client().post(
        "/o/introspect/", data, HTTP_AUTHORIZATION=basic_auth(application.client_id)
    )
    assert after.json()["active"] is True


@pytest.mark.parametrize("grant", ["refresh_token", "client_credentials", "authorization_code"])
def test_token_endpoint_answers_503_json_when_the_database_is_down(user: Any, grant: str) -> None:
    application = make_application(
        grant_type="client-credentials" if grant == "client_credentials" else "authorization-code"
    )
    data = {"grant_type": grant}
    if grant == "refresh_token":
        data["refresh_token"] = oauth_tokens(user, application)["refresh_token"]
    elif grant == "authorization_code":
        code, verifier = authorize(user, application)
        data.update(
            code=code, code_verifier=verifier, redirect_uri=application.redirect_uris.split()[0]
        )
    with failing_queries(lambda sql: sql.lstrip().upper().startswith("INSERT")) as failed:
        response = Client(raise_request_exception=False).post(
            "/o/token/", data, HTTP_AUTHORIZATION=basic_auth(application.client_id)
        )
    assert failed
    _assert_oauth_unavailable(response)


def test_token_endpoint_answers_503_json_when_the_database_cannot_be_reached(user: Any) -> None:
    """Every query fails, client authentication's included: still JSON, never a 500 page."""
    application = make_application(grant_type="client-credentials")
    with failing_queries():
        response = Client(raise_request_exception=False).post(
            "/o/token/",
            {"grant_type": "client_credentials"},
            HTTP_AUTHORIZATION=basic_auth(application.client_id),
        )
    _assert_oauth_unavailable(response)


def test_revocation_answers_503_json_and_revokes_on_retry(user: Any) -> None:
    application = make_application()
    tokens = oauth_tokens(user, application)
    data = {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}
    with failing_queries(lambda sql: "oauth2_provider_refreshtoken" in sql) as failed:
        response = Client().post(
            "/o/revoke_token/", data, HTTP_AUTHORIZATION=basic_auth(application.client_id)
        )
    assert failed
    _assert_oauth_unavailable(response)
    assert bearer(tokens["access_token"]).get(WHOAMI).status_code == 200
    retry = Client().post(
        "/o/revoke_token/", data, HTTP_AUTHORIZATION=basic_auth(application.client_id)
    )
    assert retry.status_code == 200
    assert bearer(tokens["access_token"]).get(WHOAMI).status_code == 401


def _signed_in_browser(user: Any) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def _assert_consent_page_unavailable(response: Any) -> None:
    """A short 503 page: no redirect (the redirect URI is unverified), nothing cached or framed."""
    assert response.status_code == 503, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("text/html")
    assert not response.has_header("Location")
    assert "temporarily_unavailable" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert response["X-Frame-Options"] == "DENY"
    _assert_no_detail(response)


@pytest.mark.parametrize(
    "failing",
    [
        pytest.param(lambda sql: True, id="every query"),
        pytest.param(lambda sql: "oauth2_provider_application" in sql, id="client lookup"),
    ],
)
def test_consent_page_answers_a_short_503_page_when_the_database_is_down(
    user: Any, failing: Callable[[str], bool]
) -> None:
    application = make_application()
    browser = _signed_in_browser(user)
    params = authorization_params(application, pkce_pair()[1])
    with failing_queries(failing) as failed:
        response = browser.get("/o/authorize/", params)
    assert failed
    _assert_consent_page_unavailable(response)
    assert browser.get("/o/authorize/", params).status_code == 200


def test_consent_interrupted_by_the_database_stores_no_code_and_succeeds_on_retry(
    user: Any,
) -> None:
    application = make_application()
    browser = _signed_in_browser(user)
    verifier, challenge = pkce_pair()
    page = browser.get("/o/authorize/", authorization_params(application, challenge))
    fields = {**form_fields(page.content.decode()), "allow": "on"}
    with failing_queries(_writing("oauth2_provider_grant")) as failed:
        response = browser.post("/o/authorize/", fields)
    assert failed
    _assert_consent_page_unavailable(response)
    assert not get_grant_model().objects.exists()
    retry = browser.post("/o/authorize/", fields)
    assert retry.status_code == 302
    code = query_of(retry["Location"])["code"]
    assert exchange(application, code, verifier).status_code == 200


def _interrupt_code_exchange(user: Any, failing: Callable[[str], bool]) -> tuple[Any, str, str]:
    """Exchange a fresh code while ``failing`` queries fail; check that nothing of it survives.

    Returns (application, code, verifier) for the retry.
    """
    application = make_application()
    code, verifier = authorize(user, application)
    rows_before = _token_rows()
    with failing_queries(failing) as failed:
        response = Client(raise_request_exception=False).post(
            "/o/token/",
            {
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": verifier,
                "redirect_uri": application.redirect_uris.split()[0],
            },
            HTTP_AUTHORIZATION=basic_auth(application.client_id),
        )
    assert failed
    _assert_oauth_unavailable(response)
    assert _token_rows() == rows_before
    assert get_grant_model().objects.count() == 1
    return application, code, verifier


@pytest.mark.parametrize(
    "failing",
    [
        # The access-token row was written when the refresh-token row failed.
        pytest.param(_writing("oauth2_provider_refreshtoken"), id="second token row"),
        # Both token rows were written, and what they are recorded for reuse detection.
        pytest.param(_writing("oauth2_provider_grant", "DELETE"), id="spending the code"),
    ],
)
def test_code_exchange_interrupted_by_the_database_rolls_back_and_redeems_on_retry(
    user: Any, failing: Callable[[str], bool]
) -> None:
    application, code, verifier = _interrupt_code_exchange(user, failing)
    retry = exchange(application, code, verifier)
    assert retry.status_code == 200, retry.content
    assert bearer(retry.json()["access_token"]).get(WHOAMI).status_code == 200


def test_jwks_is_served_from_the_process_copy_through_an_outage(client: Client) -> None:
    expected = public_jwks()  # builds this process's copy of the key set
    with failing_queries() as failed:
        response = client.get("/.well-known/jwks.json")
    assert failed == []
    assert response.status_code == 200
    assert response.json() == expected


def test_jwks_answers_503_json_when_it_must_reload_the_keys_during_an_outage(
    client: Client,
) -> None:
    public_jwks()
    clear_key_cache()  # as when KEY_CACHE_SECONDS ran out or a kid changed
    with failing_queries() as failed:
        response = client.get("/.well-known/jwks.json")
    assert failed
    _assert_oauth_unavailable(response)
    assert client.get("/.well-known/jwks.json").status_code == 200


def test_metadata_needs_no_database(client: Client) -> None:
    with failing_queries() as failed:
        response = client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    assert failed == []


@pytest.mark.parametrize(
    ("statement", "table"),
    [
        # The rotation's writes, in order: spend the presented token, rewrite
        # the family's access-token row, insert the successor, touch the session.
        ("UPDATE", "oauth2_provider_refreshtoken"),
        ("UPDATE", "oauth2_provider_accesstoken"),
        ("INSERT", "oauth2_provider_refreshtoken"),
        ("UPDATE", "bearer_auth_tokensession"),
    ],
)
def test_oauth_refresh_interrupted_by_the_database_rolls_back_and_retries(
    user: Any, statement: str, table: str
) -> None:
    """A failure at any write of a rotation leaves the old refresh token usable."""
    application = make_application()
    tokens = oauth_tokens(user, application)
    live_before = get_refresh_token_model().objects.filter(revoked__isnull=True).count()
    rows_before = _token_rows()
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    failing_client = Client(raise_request_exception=False)
    with failing_queries(_writing(table, statement)) as failed:
        response = failing_client.post(
            "/o/token/", data, HTTP_AUTHORIZATION=basic_auth(application.client_id)
        )
    assert failed
    _assert_oauth_unavailable(response)
    assert b"access_token" not in response.content
    assert get_refresh_token_model().objects.filter(revoked__isnull=True).count() == live_before
    assert _token_rows() == rows_before
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


# The cache (Redis) unreachable. Sign-in fails closed without its counters
# (tests/test_throttling.py); the OAuth endpoints, whose secrets are random
# and long, stay up unthrottled, and a code exchange goes unrecorded.

DEAD_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        # Nothing listens on port 1: every cache call fails to connect.
        "LOCATION": "redis://127.0.0.1:1/0",
    }
}


@pytest.fixture
def dead_cache(settings: Any) -> Iterator[None]:
    settings.CACHES = DEAD_CACHE
    yield
    caches["default"].close()


def test_oauth_endpoints_stay_up_without_the_cache(user: Any, dead_cache: None) -> None:
    application = make_application()
    tokens = oauth_tokens(user, application)
    assert bearer(tokens["access_token"]).get(WHOAMI).status_code == 200
    refreshed = Client().post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )
    assert refreshed.status_code == 200, refreshed.content
    introspected = Client().post(
        "/o/introspect/",
        {"token": refreshed.json()["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )
    assert introspected.status_code == 200, introspected.content
    assert introspected.json()["active"] is True
    revoked = Client().post(
        "/o/revoke_token/",
        {"token": refreshed.json()["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )
    assert revoked.status_code == 200
    wrong_secret = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(application.client_id, "not-the-secret"),
    )
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"] == "invalid_client"


def test_a_code_reused_while_the_cache_is_down_is_still_refused(
    user: Any, dead_cache: None
) -> None:
    application = make_application()
    code, verifier = authorize(user, application)
    assert exchange(application, code, verifier).status_code == 200
    reused = exchange(application, code, verifier)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
