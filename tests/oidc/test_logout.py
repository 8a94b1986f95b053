"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) at ``/o/logout/``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import jwt as pyjwt
import pytest
import time_machine
from django.db import DatabaseError
from django.test import Client
from django.utils import timezone

from bearer_auth.models import TokenSession
from tests.factories import UserFactory
from tests.oauth_client import SECRET, form_fields, query_of, signed_in_browser, token_request
from tests.oidc_support import make_oidc_application, oidc_tokens

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("oidc")]

URL = "/o/logout/"
LOGGED_OUT = "https://client.example/logged-out"


@pytest.fixture
def application() -> Any:
    return make_oidc_application(post_logout_redirect_uris=f"{LOGGED_OUT} https://other.example/")


@pytest.fixture
def tokens(browser: Client, application: Any) -> dict[str, Any]:
    return oidc_tokens(browser, application)


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _session_of(id_token: str) -> TokenSession:
    sid = pyjwt.decode(id_token, options={"verify_signature": False})["sid"]
    return TokenSession.objects.get(pk=sid)


def _refreshes(application: Any, refresh_token: str) -> bool:
    response = token_request(
        application.client_id,
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        secret=SECRET,
    )
    return bool(response.status_code == 200)


def _assert_nothing_happened(browser: Client, tokens: dict[str, Any]) -> None:
    assert _signed_in(browser)
    assert _session_of(tokens["id_token"]).revoked is None


def test_logout_with_hint_ends_both_sessions_and_redirects_with_state(
    browser: Client, application: Any, tokens: dict[str, Any]
) -> None:
    response = browser.get(
        URL,
        {
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": LOGGED_OUT,
            "state": "af0ifjsldkj",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"{LOGGED_OUT}?state=af0ifjsldkj"
    assert not _signed_in(browser)
    assert _session_of(tokens["id_token"]).revoked is not None
    assert not _refreshes(application, tokens["refresh_token"])
    userinfo = Client().get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert userinfo.status_code == 401


def test_without_a_redirect_uri_the_signed_out_page_is_shown(
    browser: Client, tokens: dict[str, Any]
) -> None:
    response = browser.get(URL, {"id_token_hint": tokens["id_token"]})
    assert response.status_code == 200
    assert b"You are signed out" in response.content
    assert not _signed_in(browser)
    assert _session_of(tokens["id_token"]).revoked is not None


def test_post_from_the_client_is_turned_into_the_same_get(
    browser: Client, tokens: dict[str, Any]
) -> None:
    params = {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": LOGGED_OUT}
    response = browser.post(URL, params)
    assert response.status_code == 303
    assert response["Location"] == f"{URL}?{urlencode(params)}"
    _assert_nothing_happened(browser, tokens)
    assert browser.get(response["Location"])["Location"] == LOGGED_OUT
    assert not _signed_in(browser)


def test_an_expired_hint_is_accepted(browser: Client, tokens: dict[str, Any]) -> None:
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        response = browser.get(
            URL, {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": LOGGED_OUT}
        )
    assert response.status_code == 302
    assert not _signed_in(browser)


def test_nobody_signed_in_and_a_valid_hint_revokes_the_family(
    application: Any, tokens: dict[str, Any]
) -> None:
    response = Client().get(
        URL, {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": LOGGED_OUT}
    )
    assert response.status_code == 302
    assert _session_of(tokens["id_token"]).revoked is not None
    assert not _refreshes(application, tokens["refresh_token"])


def test_without_a_hint_the_signed_in_user_confirms_first(user: Any, application: Any) -> None:
    browser = signed_in_browser(user, enforce_csrf_checks=True)
    tokens = oidc_tokens(browser, application)
    params = {
        "client_id": application.client_id,
        "post_logout_redirect_uri": LOGGED_OUT,
        "state": "s1",
    }
    page = browser.get(URL, params)
    assert page.status_code == 200
    assert b'id="logoutForm"' in page.content
    assert page["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    _assert_nothing_happened(browser, tokens)

    fields = form_fields(page.content.decode())
    assert {name: fields[name] for name in params} == params
    forged = {name: value for name, value in fields.items() if name != "csrfmiddlewaretoken"}
    assert browser.post(URL, {**forged, "confirm": "on"}).status_code == 403
    _assert_nothing_happened(browser, tokens)

    response = browser.post(URL, {**fields, "confirm": "on"})
    assert response.status_code == 302
    assert response["Location"] == f"{LOGGED_OUT}?state=s1"
    assert not _signed_in(browser)
    # No hint, so no token family was named: the RP's tokens stay until it revokes them.
    assert _session_of(tokens["id_token"]).revoked is None


def test_a_hint_for_another_user_asks_for_confirmation(
    browser: Client, application: Any, tokens: dict[str, Any]
) -> None:
    other = signed_in_browser(UserFactory())
    page = other.get(URL, {"id_token_hint": tokens["id_token"]})
    assert page.status_code == 200
    assert b'id="logoutForm"' in page.content
    assert _signed_in(other)
    _assert_nothing_happened(browser, tokens)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/",
        f"{LOGGED_OUT}/",
        f"{LOGGED_OUT}?next=https://evil.example/",
        LOGGED_OUT.upper(),
        "https://client.example/callback",  # a redirect URI, not a post-logout one
    ],
)
def test_an_unregistered_redirect_uri_is_an_error_page_never_a_redirect(
    browser: Client, tokens: dict[str, Any], redirect_uri: str
) -> None:
    response = browser.get(
        URL, {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": redirect_uri}
    )
    assert response.status_code == 400
    assert "Location" not in response
    assert b"not registered" in response.content
    _assert_nothing_happened(browser, tokens)


def test_a_redirect_uri_needs_a_client(browser: Client, tokens: dict[str, Any]) -> None:
    response = browser.get(URL, {"post_logout_redirect_uri": LOGGED_OUT})
    assert response.status_code == 400
    assert "Location" not in response
    _assert_nothing_happened(browser, tokens)


def test_client_id_must_be_the_hints_audience(browser: Client, tokens: dict[str, Any]) -> None:
    other = make_oidc_application(post_logout_redirect_uris=LOGGED_OUT)
    response = browser.get(
        URL,
        {
            "id_token_hint": tokens["id_token"],
            "client_id": other.client_id,
            "post_logout_redirect_uri": LOGGED_OUT,
        },
    )
    assert response.status_code == 400
    _assert_nothing_happened(browser, tokens)


def test_an_unknown_client_id_is_an_error(browser: Client, tokens: dict[str, Any]) -> None:
    response = browser.get(URL, {"client_id": "nobody", "post_logout_redirect_uri": LOGGED_OUT})
    assert response.status_code == 400
    _assert_nothing_happened(browser, tokens)


def test_a_hint_of_a_deleted_client_is_an_error(
    browser: Client, application: Any, tokens: dict[str, Any]
) -> None:
    id_token = tokens["id_token"]
    application.delete()
    assert browser.get(URL, {"id_token_hint": id_token}).status_code == 400
    assert _signed_in(browser)


def test_altered_hints_and_access_tokens_are_refused(
    browser: Client, tokens: dict[str, Any]
) -> None:
    header, payload, signature = tokens["id_token"].split(".")
    altered = f"{header}.{payload}.{signature[:-4]}AAAA"
    for hint in (altered, tokens["access_token"], "not-a-jwt"):
        response = browser.get(URL, {"id_token_hint": hint, "post_logout_redirect_uri": LOGGED_OUT})
        assert response.status_code == 400, hint
        assert "Location" not in response
        _assert_nothing_happened(browser, tokens)


def test_a_repeated_parameter_is_an_error(browser: Client, tokens: dict[str, Any]) -> None:
    query = urlencode(
        [
            ("id_token_hint", tokens["id_token"]),
            ("post_logout_redirect_uri", LOGGED_OUT),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ]
    )
    response = browser.get(f"{URL}?{query}")
    assert response.status_code == 400
    _assert_nothing_happened(browser, tokens)


def test_logout_is_not_served_while_oidc_is_off(
    browser: Client, tokens: dict[str, Any], settings: Any
) -> None:
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ENABLED": False}
    assert browser.get(URL, {"id_token_hint": tokens["id_token"]}).status_code == 404
    _assert_nothing_happened(browser, tokens)


def test_logout_is_public_under_login_required_middleware(settings: Any) -> None:
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "django.contrib.auth.middleware.LoginRequiredMiddleware",
    ]
    response = Client().get(URL)
    assert response.status_code == 200
    assert b"You are signed out" in response.content


def test_the_redirect_carries_only_the_registered_uri_and_state(
    browser: Client, tokens: dict[str, Any]
) -> None:
    response = browser.get(
        URL,
        {
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://other.example/",
            "state": "x y&z",
        },
    )
    assert response.status_code == 302
    assert query_of(response["Location"]) == {"state": "x y&z"}


def test_a_database_outage_is_a_503_page_and_nothing_changes(
    browser: Client, tokens: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(family: Any) -> None:
        raise DatabaseError("down")

    monkeypatch.setattr("bearer_auth.views.oidc.sign_out_family", unavailable)
    response = browser.get(
        URL, {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": LOGGED_OUT}
    )
    assert response.status_code == 503
    assert b"temporarily_unavailable" in response.content
    assert "Location" not in response
    _assert_nothing_happened(browser, tokens)


def test_ui_locales_picks_the_pages_language() -> None:
    response = Client().get(URL, {"ui_locales": "xx-YY fr-CA en"})
    assert response.status_code == 200
    assert b'<html lang="fr' in response.content
