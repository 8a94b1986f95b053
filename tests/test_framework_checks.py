"""``bearer_auth.E028``: ``BearerTokenMiddleware`` after ``AuthenticationMiddleware``."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks

from bearer_auth.checks import check_token_middleware
from bearer_auth.plain import BearerTokenMiddleware

SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
AUTHENTICATION = "django.contrib.auth.middleware.AuthenticationMiddleware"
TOKEN = "bearer_auth.plain.BearerTokenMiddleware"


class ProjectTokenMiddleware(BearerTokenMiddleware):
    """A project's subclass (another authentication_class, say)."""


class ProjectAuthenticationMiddleware:
    """Not Django's: no session user at all."""


def ids(messages: list[checks.CheckMessage]) -> list[str]:
    return [message.id or "" for message in messages]


def test_after_authentication_middleware_passes(settings: Any) -> None:
    settings.MIDDLEWARE = [SESSION, AUTHENTICATION, TOKEN]
    assert check_token_middleware(None) == []


def test_without_the_token_middleware_there_is_nothing_to_check(settings: Any) -> None:
    settings.MIDDLEWARE = [SESSION, AUTHENTICATION]
    assert check_token_middleware(None) == []


@pytest.mark.parametrize(
    "middleware",
    [
        [SESSION, TOKEN, AUTHENTICATION],
        [TOKEN],
        [SESSION, f"{__name__}.ProjectTokenMiddleware", AUTHENTICATION],
        [f"{__name__}.ProjectAuthenticationMiddleware", TOKEN],
    ],
)
def test_before_or_without_authentication_middleware_is_e028(
    settings: Any, middleware: list[str]
) -> None:
    settings.MIDDLEWARE = middleware
    messages = check_token_middleware(None)
    assert ids(messages) == ["bearer_auth.E028"]
    assert AUTHENTICATION in (messages[0].hint or "")


def test_a_subclass_after_authentication_middleware_passes(settings: Any) -> None:
    settings.MIDDLEWARE = [SESSION, AUTHENTICATION, f"{__name__}.ProjectTokenMiddleware"]
    assert check_token_middleware(None) == []


def test_the_check_is_registered(settings: Any) -> None:
    settings.MIDDLEWARE = [TOKEN, SESSION, AUTHENTICATION]
    assert "bearer_auth.E028" in ids(checks.run_checks())
