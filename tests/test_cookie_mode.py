"""Cookie mode (``bearer_auth.browser``): the refresh token in an HttpOnly cookie; its CSRF rule.

Every request here is what a browser app sends with ``fetch()``: the
``Refresh-Token-Delivery: cookie`` header and an ``Origin``. The browser
proofs (CORS, SameSite, an XSS in the app's page, several tabs) are in
``tests/browser/test_spa.py``.
"""

from __future__ import annotations

from datetime import timedelta
from http.cookies import Morsel
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from bearer_auth.models import TokenSession
from tests.first_party import (
    REFRESH_URL,
    REVOKE_URL,
    SESSIONS_URL,
    TOKEN_URL,
    bearer,
    live_refresh_tokens,
    me_status,
    refresh_row,
    session_of,
)
from tests.refresh_entries import past_reuse_interval

pytestmark = pytest.mark.django_db

COOKIE = "__Host-bearer_refresh"
OWN_ORIGIN = "https://testserver"
APP_ORIGIN = "https://app.example.com"
# What fetch() from the app sends: the header, and the Origin the browser adds.
COOKIE_MODE = {"HTTP_REFRESH_TOKEN_DELIVERY": "cookie", "HTTP_ORIGIN": OWN_ORIGIN}


@pytest.fixture(autouse=True)
def app_origin(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "BROWSER_APP_ORIGINS": [APP_ORIGIN]}


def cookie_sign_in(
    user: Any, password: str, client: APIClient | None = None, **headers: str
) -> tuple[APIClient, Any]:
    """Sign in over https in cookie mode: the client (its jar holds the cookie) and the answer."""
    client = client or APIClient()
    response = client.post(
        TOKEN_URL,
        {"email": user.get_username(), "password": password},
        format="json",
        secure=True,
        **{**COOKIE_MODE, **headers},
    )
    return client, response


def cookie_refresh(client: APIClient, body: dict[str, Any] | None = None, **headers: str) -> Any:
    return client.post(
        REFRESH_URL, body or {}, format="json", secure=True, **{**COOKIE_MODE, **headers}
    )


def refresh_cookie(response: Any, name: str = COOKIE) -> Morsel[str]:
    assert name in response.cookies, (response.status_code, response.cookies)
    return response.cookies[name]


def assert_error(response: Any, error: str) -> None:
    assert response.status_code == 400, response.content
    assert response.json()["error"] == error, response.json()
    assert "error_description" in response.json()


# Sign-in


def test_sign_in_puts_the_refresh_token_in_a_host_only_httponly_cookie(
    user: Any, password: str
) -> None:
    _client, response = cookie_sign_in(user, password)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    cookie = refresh_cookie(response)
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/"
    assert cookie["domain"] == ""  # host-only, as the __Host- prefix requires
    lifetime = timedelta(days=14).total_seconds()
    assert lifetime - 5 <= int(cookie["max-age"]) <= lifetime
    assert refresh_row(cookie.value).revoked is None
    assert me_status(body["access_token"]) == 200
    assert response["Cache-Control"] == "no-store"


def test_the_cookie_lives_as_long_as_the_session(user: Any, password: str) -> None:
    client, signed_in = cookie_sign_in(user, password)
    session = session_of(refresh_cookie(signed_in).value)

    with time_machine.travel(timezone.now() + timedelta(days=3)):
        response = cookie_refresh(client)

    assert response.status_code == 200, response.content
    remaining = (session.expires - (timezone.now() + timedelta(days=3))).total_seconds()
    assert abs(int(refresh_cookie(response)["max-age"]) - remaining) <= 5


def test_body_mode_is_unchanged_without_the_header(user: Any, password: str) -> None:
    response = APIClient().post(
        TOKEN_URL, {"email": user.email, "password": password}, format="json", secure=True
    )

    assert response.status_code == 200
    assert "refresh_token" in response.json()
    assert not response.cookies


# Refresh


def test_refresh_reads_and_rotates_the_cookie(user: Any, password: str) -> None:
    client, signed_in = cookie_sign_in(user, password)
    first = refresh_cookie(signed_in).value

    response = cookie_refresh(client)

    assert response.status_code == 200, response.content
    assert "refresh_token" not in response.json()
    second = refresh_cookie(response).value
    assert second != first
    assert refresh_row(first).revoked is not None
    assert refresh_row(second).revoked is None
    assert me_status(response.json()["access_token"]) == 200
    # The client's jar now holds the successor: the next refresh works too.
    assert cookie_refresh(client).status_code == 200


def test_refresh_without_a_cookie_is_invalid_grant(user: Any) -> None:
    response = cookie_refresh(APIClient())

    assert_error(response, "invalid_grant")
    assert COOKIE not in response.cookies


def test_a_refresh_token_in_the_body_is_refused_in_cookie_mode(user: Any, password: str) -> None:
    """A script cannot mix the modes: the cookie is cookie mode's only source."""
    client, signed_in = cookie_sign_in(user, password)
    token = refresh_cookie(signed_in).value

    response = cookie_refresh(client, {"refresh_token": token})

    assert_error(response, "invalid_request")
    assert refresh_row(token).revoked is None


def test_a_cookie_refresh_can_never_answer_the_refresh_token_in_the_body(
    user: Any, password: str
) -> None:
    """A script asking for body mode with the cookie alone gets nothing: the cookie is not read."""
    client, signed_in = cookie_sign_in(user, password)
    token = refresh_cookie(signed_in).value

    response = client.post(REFRESH_URL, {}, format="json", secure=True, HTTP_ORIGIN=OWN_ORIGIN)

    assert_error(response, "invalid_request")  # refresh_token: this field is required
    assert token not in response.content.decode()
    assert refresh_row(token).revoked is None


def test_a_narrower_scope_can_be_asked_in_cookie_mode(user: Any, password: str) -> None:
    client, _signed_in = cookie_sign_in(user, password)

    response = cookie_refresh(client, {"scope": "read"})

    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "read"


def test_a_refused_refresh_leaves_the_cookie_alone(user: Any, password: str) -> None:
    """A second tab losing a race must not delete the cookie the winner just set."""
    client, signed_in = cookie_sign_in(user, password)
    spent = refresh_cookie(signed_in).value
    assert cookie_refresh(client).status_code == 200
    client.cookies[COOKIE] = spent  # the losing tab's request still carried this one

    response = cookie_refresh(client)

    assert_error(response, "invalid_grant")
    assert COOKIE not in response.cookies


# Several tabs


def test_two_tabs_refreshing_together_both_stay_signed_in(user: Any, password: str) -> None:
    """Tab B's request carried the cookie tab A just rotated: refused, family kept, retry works."""
    tab_a, signed_in = cookie_sign_in(user, password)
    spent = refresh_cookie(signed_in).value
    tab_b = APIClient()
    tab_b.cookies[COOKIE] = spent

    won = cookie_refresh(tab_a)
    lost = cookie_refresh(tab_b)

    assert won.status_code == 200
    assert_error(lost, "invalid_grant")
    family = refresh_row(spent).token_family
    assert live_refresh_tokens(family) == 1
    # The browser's one jar holds the winner's successor, which tab B's retry sends.
    tab_b.cookies[COOKIE] = refresh_cookie(won).value
    retried = cookie_refresh(tab_b)
    assert retried.status_code == 200, retried.content
    assert me_status(retried.json()["access_token"]) == 200
    assert session_of(refresh_cookie(retried).value).revoked is None


def test_a_cookie_replayed_after_the_reuse_interval_revokes_the_family(
    user: Any, password: str
) -> None:
    client, signed_in = cookie_sign_in(user, password)
    stolen = refresh_cookie(signed_in).value
    rotated = cookie_refresh(client)
    successor = refresh_cookie(rotated).value
    thief = APIClient()
    thief.cookies[COOKIE] = stolen

    with past_reuse_interval():
        replayed = cookie_refresh(thief)

    assert_error(replayed, "invalid_grant")
    assert refresh_row(successor).revoked is not None
    assert session_of(successor).revoked is not None
    assert me_status(rotated.json()["access_token"]) == 401


# Where a cookie-mode request may come from (CSRF)


@pytest.mark.parametrize(
    "origin",
    [
        None,
        "null",
        "https://evil.example",
        "http://testserver",  # the API's host, but not its scheme
        "https://testserver.evil.example",
        "https://app.example.com.evil.example",
    ],
)
def test_cookie_mode_from_an_origin_not_allowed_is_refused(
    user: Any, password: str, origin: str | None
) -> None:
    client, signed_in = cookie_sign_in(user, password)
    token = refresh_cookie(signed_in).value
    headers = {"HTTP_REFRESH_TOKEN_DELIVERY": "cookie"}
    if origin is not None:
        headers["HTTP_ORIGIN"] = origin

    refreshed = client.post(REFRESH_URL, {}, format="json", secure=True, **headers)
    revoked = client.post(REVOKE_URL, {}, format="json", secure=True, **headers)

    assert_error(refreshed, "invalid_request")
    assert_error(revoked, "invalid_request")
    assert not refreshed.cookies
    assert not revoked.cookies
    assert refresh_row(token).revoked is None


@pytest.mark.parametrize("origin", [APP_ORIGIN, "HTTPS://App.Example.com:443", OWN_ORIGIN])
def test_cookie_mode_from_the_apis_origin_or_an_allowed_app(
    user: Any, password: str, origin: str
) -> None:
    client, _signed_in = cookie_sign_in(user, password, HTTP_ORIGIN=origin)

    assert cookie_refresh(client, HTTP_ORIGIN=origin).status_code == 200


def test_sign_in_from_an_origin_not_allowed_is_refused_before_the_password_is_checked(
    user: Any, password: str
) -> None:
    """No login CSRF: a page elsewhere cannot sign the browser into an account."""
    _client, response = cookie_sign_in(user, "wrong", HTTP_ORIGIN="https://evil.example")

    assert_error(response, "invalid_request")  # not invalid_grant: no password was checked
    assert not response.cookies
    assert not TokenSession.objects.exists()


def test_a_cross_site_form_post_never_reads_the_cookie(user: Any, password: str) -> None:
    """An HTML form cannot send the header: the endpoint is in body mode and ignores the cookie."""
    client, signed_in = cookie_sign_in(user, password)
    token = refresh_cookie(signed_in).value

    response = client.post(REFRESH_URL, {}, secure=True, HTTP_ORIGIN="https://evil.example")

    assert_error(response, "invalid_request")
    assert not response.cookies
    assert refresh_row(token).revoked is None


def test_only_the_value_cookie_turns_cookie_mode_on(user: Any, password: str) -> None:
    _client, response = cookie_sign_in(user, password, HTTP_REFRESH_TOKEN_DELIVERY="body")

    assert_error(response, "invalid_request")


# Project settings


def test_cookie_only_refuses_requests_without_the_header(
    user: Any, password: str, settings: Any
) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "REFRESH_TOKEN_DELIVERY": "cookie"}

    signed_in = APIClient().post(
        TOKEN_URL, {"email": user.email, "password": password}, format="json", secure=True
    )
    client, cookie_signed_in = cookie_sign_in(user, password)

    assert_error(signed_in, "invalid_request")
    assert cookie_signed_in.status_code == 200
    assert cookie_refresh(client).status_code == 200


def test_body_only_refuses_cookie_mode(user: Any, password: str, settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "REFRESH_TOKEN_DELIVERY": "body"}

    _client, response = cookie_sign_in(user, password)

    assert_error(response, "invalid_request")
    assert not response.cookies


def test_another_cookie_path_takes_the_secure_prefix(
    user: Any, password: str, settings: Any
) -> None:
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "REFRESH_COOKIE_NAME": "app_refresh",
        "REFRESH_COOKIE_PATH": "/auth/token/",
    }

    client, response = cookie_sign_in(user, password)

    cookie = refresh_cookie(response, "__Secure-app_refresh")
    assert cookie["path"] == "/auth/token/"
    assert cookie["secure"] is True
    assert cookie_refresh(client).status_code == 200


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_debug_relaxes_secure_for_plain_http_on_loopback_only(
    user: Any, password: str, settings: Any, host: str
) -> None:
    settings.DEBUG = True
    client = APIClient()

    response = client.post(
        TOKEN_URL,
        {"email": user.email, "password": password},
        format="json",
        HTTP_HOST=f"{host}:8000",
        HTTP_REFRESH_TOKEN_DELIVERY="cookie",
        HTTP_ORIGIN=f"http://{host}:8000",
    )

    cookie = refresh_cookie(response, "bearer_refresh")
    assert cookie["secure"] == ""
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    refreshed = client.post(
        REFRESH_URL,
        {},
        format="json",
        HTTP_HOST=f"{host}:8000",
        HTTP_REFRESH_TOKEN_DELIVERY="cookie",
        HTTP_ORIGIN=f"http://{host}:8000",
    )
    assert refreshed.status_code == 200, refreshed.content


@pytest.mark.parametrize(
    ("debug", "host", "secure"),
    [(False, "127.0.0.1", False), (True, "testserver", False), (True, "127.0.0.1", True)],
)
def test_secure_stays_everywhere_else(
    user: Any, password: str, settings: Any, debug: bool, host: str, secure: bool
) -> None:
    settings.DEBUG = debug
    scheme = "https" if secure else "http"

    response = APIClient().post(
        TOKEN_URL,
        {"email": user.email, "password": password},
        format="json",
        secure=secure,
        HTTP_HOST=host,
        HTTP_REFRESH_TOKEN_DELIVERY="cookie",
        HTTP_ORIGIN=f"{scheme}://{host}",
    )

    assert refresh_cookie(response)["secure"] is True


# Signing out


def test_sign_out_revokes_the_cookies_session_and_clears_it(user: Any, password: str) -> None:
    client, signed_in = cookie_sign_in(user, password)
    token = refresh_cookie(signed_in).value
    access_token = signed_in.json()["access_token"]

    response = client.post(REVOKE_URL, {}, format="json", secure=True, **COOKIE_MODE)

    assert response.status_code == 200
    assert_cleared(response)
    assert session_of(token).revoked is not None
    assert me_status(access_token) == 401


def test_sign_out_with_a_cookie_a_parallel_tab_already_rotated_still_ends_the_session(
    user: Any, password: str
) -> None:
    client, signed_in = cookie_sign_in(user, password)
    spent = refresh_cookie(signed_in).value
    rotated = refresh_cookie(cookie_refresh(client)).value
    client.cookies[COOKIE] = spent

    response = client.post(REVOKE_URL, {}, format="json", secure=True, **COOKIE_MODE)

    assert response.status_code == 200
    assert session_of(rotated).revoked is not None


def test_sign_out_without_a_cookie_answers_200_and_clears_it(user: Any) -> None:
    response = APIClient().post(REVOKE_URL, {}, format="json", secure=True, **COOKIE_MODE)

    assert response.status_code == 200
    assert_cleared(response)


def test_sign_out_in_cookie_mode_refuses_a_token_in_the_body(user: Any, password: str) -> None:
    client, signed_in = cookie_sign_in(user, password)

    response = client.post(
        REVOKE_URL,
        {"token": signed_in.json()["access_token"]},
        format="json",
        secure=True,
        **COOKIE_MODE,
    )

    assert_error(response, "invalid_request")
    assert session_of(refresh_cookie(signed_in).value).revoked is None


def test_sign_out_everywhere_clears_the_cookie(user: Any, password: str) -> None:
    client, signed_in = cookie_sign_in(user, password)
    token = refresh_cookie(signed_in).value
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {signed_in.json()['access_token']}")

    response = client.delete(SESSIONS_URL, secure=True)

    assert response.status_code == 204
    assert_cleared(response)
    assert session_of(token).revoked is not None


def test_sign_out_everywhere_without_the_cookie_sets_no_cookie(user: Any, password: str) -> None:
    _client, signed_in = cookie_sign_in(user, password)

    response = bearer(signed_in.json()["access_token"]).delete(SESSIONS_URL, secure=True)

    assert response.status_code == 204
    assert not response.cookies


def assert_cleared(response: Any) -> None:
    cookie = refresh_cookie(response)
    assert cookie.value == ""
    assert cookie["max-age"] == 0
    assert cookie["path"] == "/"
    assert cookie["secure"] is True  # a __Host- cookie is only replaced by a Secure one


# Sessions


def test_the_sessions_api_lists_cookie_mode_sessions_like_any_other(
    user: Any, password: str
) -> None:
    _client, signed_in = cookie_sign_in(user, password)

    sessions = bearer(signed_in.json()["access_token"]).get(SESSIONS_URL).json()

    assert len(sessions) == 1
    assert sessions[0]["current"] is True
    assert str(session_of(refresh_cookie(signed_in).value).id) == sessions[0]["id"]


# Cost


def test_cookie_mode_adds_no_statement_to_sign_in_or_refresh(user: Any, password: str) -> None:
    def statements(cookie: bool) -> tuple[int, int]:
        client = APIClient()
        headers = COOKIE_MODE if cookie else {}
        with CaptureQueriesContext(connection) as signing_in:
            signed_in = client.post(
                TOKEN_URL,
                {"email": user.email, "password": password},
                format="json",
                secure=True,
                **headers,
            )
        assert signed_in.status_code == 200
        body = {} if cookie else {"refresh_token": signed_in.json()["refresh_token"]}
        with CaptureQueriesContext(connection) as refreshing:
            refreshed = client.post(REFRESH_URL, body, format="json", secure=True, **headers)
        assert refreshed.status_code == 200
        return len(signing_in), len(refreshing)

    statements(cookie=False)  # the first sign-in creates the first-party application and keys
    body_mode = statements(cookie=False)
    cookie_mode = statements(cookie=True)

    assert cookie_mode == body_mode
