"""The two doors to the one refresh implementation, driven the same way by the tests.

``/auth/token/refresh/`` (a first-party sign-in's refresh token) and
``/o/token/`` with ``grant_type=refresh_token`` (an OAuth client's refresh
token from an authorization-code exchange) must apply the same rules and
write the same rows; tests parametrized over :data:`ENTRY_POINTS` hold both
to that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import time_machine
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from bearer_auth.settings import bearer_settings
from tests.first_party import REFRESH_URL, sign_in
from tests.oauth_client import (
    authorization_code,
    basic_auth,
    exchange,
    make_application,
    signed_in_browser,
)


class EntryPoint(Protocol):
    """Start a token family for a user, and refresh its tokens."""

    name: str

    def start(self, user: Any, password: str, *, scope: str = "read write") -> dict[str, Any]:
        """Return a fresh token response (a new family) for ``user``."""
        ...

    def refresh(
        self, refresh_token: str, *, scope: str | None = None, user_agent: str | None = None
    ) -> Any:
        """POST a refresh; return the HTTP response."""
        ...


@dataclass
class FirstParty:
    """A first-party sign-in, refreshed at ``/auth/token/refresh/``."""

    name: str = "first-party"

    def start(self, user: Any, password: str, *, scope: str = "read write") -> dict[str, Any]:
        return sign_in(user, password, scope=scope)

    def refresh(
        self, refresh_token: str, *, scope: str | None = None, user_agent: str | None = None
    ) -> Any:
        data = {"refresh_token": refresh_token}
        if scope is not None:
            data["scope"] = scope
        extra = {"HTTP_USER_AGENT": user_agent} if user_agent is not None else {}
        return APIClient().post(REFRESH_URL, data, format="json", **extra)


@dataclass
class OAuthClient:
    """An OAuth client's authorization-code exchange, refreshed at ``/o/token/``."""

    name: str = "oauth"
    application: Any = None

    def start(self, user: Any, password: str, *, scope: str = "read write") -> dict[str, Any]:
        if self.application is None:
            self.application = make_application(allowed_scopes="read write")
        code, verifier = authorization_code(signed_in_browser(user), self.application, scope=scope)
        response = exchange(self.application, code, verifier)
        assert response.status_code == 200, response.content
        body: dict[str, Any] = response.json()
        return body

    def refresh(
        self, refresh_token: str, *, scope: str | None = None, user_agent: str | None = None
    ) -> Any:
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if scope is not None:
            data["scope"] = scope
        extra = {"HTTP_USER_AGENT": user_agent} if user_agent is not None else {}
        return Client().post(
            "/o/token/",
            data,
            HTTP_AUTHORIZATION=basic_auth(self.application.client_id),
            **extra,
        )


ENTRY_POINTS = ("first-party", "oauth")


def entry_point(name: str) -> EntryPoint:
    """A new entry point of that name (each test gets its own OAuth client)."""
    return FirstParty() if name == "first-party" else OAuthClient()


def past_reuse_interval() -> time_machine.travel:
    """Travel to one second past ``REFRESH_REUSE_INTERVAL`` from now.

    A spent refresh token presented there is a replay (its family is
    revoked); sooner, it may be a second tab or a retry.
    """
    return time_machine.travel(
        timezone.now() + bearer_settings.REFRESH_REUSE_INTERVAL + timedelta(seconds=1)
    )
