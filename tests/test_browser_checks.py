"""System checks of cookie mode (bearer_auth.E021 to E023, W010): ids, messages, hints."""

from __future__ import annotations

from typing import Any

import pytest
from corsheaders.defaults import default_headers
from django.core import checks

from bearer_auth.checks import check_bearer_settings, check_browser_apps

APP = "https://app.example.com"
# What docs/browser-apps.md tells a project with an app on another origin to set.
CORS = {
    "CORS_ALLOWED_ORIGINS": [APP],
    "CORS_ALLOW_CREDENTIALS": True,
    "CORS_ALLOW_HEADERS": (*default_headers, "refresh-token-delivery"),
}


def ids(messages: list[checks.CheckMessage]) -> list[str]:
    return [message.id or "" for message in messages]


@pytest.fixture
def with_bearer(settings: Any) -> Any:
    def update(**values: Any) -> None:
        settings.BEARER_AUTH = {**settings.BEARER_AUTH, **values}

    return update


@pytest.fixture
def cors_installed(settings: Any) -> Any:
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "corsheaders"]
    for name, value in CORS.items():
        setattr(settings, name, value)
    return settings


def test_defaults_pass() -> None:
    assert check_browser_apps(None) == []


def test_an_unknown_delivery_is_e021(with_bearer: Any) -> None:
    with_bearer(REFRESH_TOKEN_DELIVERY="cookies")

    [message] = check_bearer_settings(None)

    assert message.id == "bearer_auth.E021"
    assert "'cookies'" in message.msg
    assert message.hint == (
        "Set BEARER_AUTH['REFRESH_TOKEN_DELIVERY'] to one of: request, cookie, body."
    )


@pytest.mark.parametrize(
    "origins",
    [
        "https://app.example.com",  # a string, not a list
        ["*"],
        ["https://app.example.com/spa"],
        ["app.example.com"],
        ["ftp://app.example.com"],
        ["https://user@app.example.com"],
        ["https://app.example.com/?x=1"],
        [None],
    ],
)
def test_what_is_no_list_of_origins_is_e022(with_bearer: Any, origins: Any) -> None:
    with_bearer(BROWSER_APP_ORIGINS=origins)

    assert ids(check_browser_apps(None)) == ["bearer_auth.E022"]


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("", "/"),
        ("__Host-refresh", "/"),
        ("__secure-refresh", "/"),
        ("bearer refresh", "/"),
        ("bearer;refresh", "/"),
        (None, "/"),
        ("bearer_refresh", "auth/"),
        ("bearer_refresh", "/auth;/"),
        ("bearer_refresh", None),
    ],
)
def test_a_bad_cookie_name_or_path_is_e023(with_bearer: Any, name: Any, path: Any) -> None:
    with_bearer(REFRESH_COOKIE_NAME=name, REFRESH_COOKIE_PATH=path)

    assert ids(check_browser_apps(None)) == ["bearer_auth.E023"]


def test_an_app_on_another_origin_without_django_cors_headers_is_w010(with_bearer: Any) -> None:
    with_bearer(BROWSER_APP_ORIGINS=[APP])

    [message] = check_browser_apps(None)

    assert message.id == "bearer_auth.W010"
    assert "django-cors-headers is not installed" in message.msg
    assert '"refresh-token-delivery"' in message.hint


def test_the_documented_cors_settings_pass(with_bearer: Any, cors_installed: Any) -> None:
    with_bearer(BROWSER_APP_ORIGINS=[APP])

    assert check_browser_apps(None) == []


@pytest.mark.parametrize(
    ("setting", "value", "problem"),
    [
        ("CORS_ALLOWED_ORIGINS", ["https://other.example.com"], "does not allow"),
        ("CORS_ALLOW_CREDENTIALS", False, "CORS_ALLOW_CREDENTIALS is not True"),
        ("CORS_ALLOW_HEADERS", default_headers, "does not list refresh-token-delivery"),
        ("CORS_ALLOW_ALL_ORIGINS", True, "lets every site make credentialed requests"),
    ],
)
def test_cors_settings_that_would_break_or_open_cookie_mode_are_w010(
    with_bearer: Any, cors_installed: Any, setting: str, value: Any, problem: str
) -> None:
    with_bearer(BROWSER_APP_ORIGINS=[APP])
    setattr(cors_installed, setting, value)

    [message] = check_browser_apps(None)

    assert message.id == "bearer_auth.W010"
    assert problem in message.msg


def test_origins_are_compared_as_origins(with_bearer: Any, cors_installed: Any) -> None:
    with_bearer(BROWSER_APP_ORIGINS=["HTTPS://App.Example.com:443"])
    cors_installed.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

    assert check_browser_apps(None) == []


def test_an_origin_matched_by_a_cors_regex_passes(with_bearer: Any, cors_installed: Any) -> None:
    with_bearer(BROWSER_APP_ORIGINS=[APP])
    cors_installed.CORS_ALLOWED_ORIGINS = []
    cors_installed.CORS_ALLOWED_ORIGIN_REGEXES = [r"^https://\w+\.example\.com$"]

    assert check_browser_apps(None) == []


def test_the_apis_own_origin_needs_no_cors(with_bearer: Any) -> None:
    with_bearer(
        ISSUER="https://auth.example.com/tenant", BROWSER_APP_ORIGINS=["https://auth.example.com"]
    )

    assert check_browser_apps(None) == []


def test_body_only_needs_no_cors(with_bearer: Any) -> None:
    with_bearer(BROWSER_APP_ORIGINS=[APP], REFRESH_TOKEN_DELIVERY="body")

    assert check_browser_apps(None) == []
