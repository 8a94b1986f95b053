"""Brute-force throttles on the token endpoints, counted in Django's cache."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.core.cache import caches
from django.utils import timezone
from rest_framework.test import APIClient

from tests.first_party import REFRESH_URL, TOKEN_URL, refresh, sign_in

pytestmark = pytest.mark.django_db

DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        # Nothing listens on port 1: every cache call fails to connect.
        "LOCATION": "redis://127.0.0.1:1/0",
    }
}


@pytest.fixture
def rates(settings: Any) -> Any:
    def configure(**values: Any) -> None:
        settings.BEARER_AUTH = {**settings.BEARER_AUTH, **values}

    return configure


def attempt(email: str, password: str, *, client: APIClient | None = None, **extra: Any) -> Any:
    return (client or APIClient()).post(
        TOKEN_URL, {"email": email, "password": password}, format="json", **extra
    )


def assert_throttled(response: Any) -> None:
    assert response.status_code == 429, response.content
    assert response.json() == {
        "error": "slow_down",
        "error_description": "Too many attempts. Try again later.",
    }
    assert int(response["Retry-After"]) >= 1
    assert response["Cache-Control"] == "no-store"


def test_account_budget_throttles_before_any_password_hashing(rates, user, password):
    rates(SIGN_IN_THROTTLE_RATES={"account": "3/min", "ip": "100/min"})
    for _ in range(3):
        assert attempt(user.get_username(), "wrong").status_code == 400

    with mock.patch("django.contrib.auth.backends.ModelBackend.authenticate") as authenticate:
        response = attempt(user.get_username(), password)

    assert_throttled(response)
    assert int(response["Retry-After"]) <= 60
    authenticate.assert_not_called()


def test_account_budget_counts_unknown_accounts_and_ignores_case(rates):
    rates(SIGN_IN_THROTTLE_RATES={"account": "2/min", "ip": "100/min"})
    assert attempt("Ghost@Example.com", "x").status_code == 400
    assert attempt(" ghost@example.COM", "x").status_code == 400
    assert_throttled(attempt("ghost@example.com", "x"))
    # Another account still has its own budget.
    assert attempt("someone@example.com", "x").status_code == 400


def test_account_budget_is_shared_across_ips(rates, user):
    rates(SIGN_IN_THROTTLE_RATES={"account": "2/min", "ip": "100/min"})
    assert attempt(user.get_username(), "x", REMOTE_ADDR="192.0.2.1").status_code == 400
    assert attempt(user.get_username(), "x", REMOTE_ADDR="192.0.2.2").status_code == 400
    assert_throttled(attempt(user.get_username(), "x", REMOTE_ADDR="192.0.2.3"))


def test_ip_budget_spans_accounts(rates):
    rates(SIGN_IN_THROTTLE_RATES={"account": "100/min", "ip": "3/min"})
    for number in range(3):
        assert attempt(f"user{number}@example.com", "x").status_code == 400
    assert_throttled(attempt("fresh@example.com", "x"))
    assert attempt("fresh@example.com", "x", REMOTE_ADDR="192.0.2.50").status_code == 400


def test_successful_sign_in_does_not_reset_the_ip_counter(rates, user, password):
    rates(SIGN_IN_THROTTLE_RATES={"account": "100/min", "ip": "3/min"})
    assert attempt("victim@example.com", "guess-1").status_code == 400
    assert attempt(user.get_username(), password).status_code == 200
    assert attempt("victim@example.com", "guess-2").status_code == 400
    assert_throttled(attempt("victim@example.com", "guess-3"))
    assert_throttled(attempt(user.get_username(), password))


def test_budget_comes_back_after_the_window(rates):
    rates(SIGN_IN_THROTTLE_RATES={"account": "1/min", "ip": "100/min"})
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert attempt("a@example.com", "x").status_code == 400
        assert_throttled(attempt("a@example.com", "x"))
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert attempt("a@example.com", "x").status_code == 400


def test_forwarded_for_is_ignored_by_default(rates):
    rates(SIGN_IN_THROTTLE_RATES={"account": "100/min", "ip": "2/min"})
    for number in range(2):
        response = attempt(f"u{number}@example.com", "x", HTTP_X_FORWARDED_FOR=f"10.0.0.{number}")
        assert response.status_code == 400
    assert_throttled(attempt("u9@example.com", "x", HTTP_X_FORWARDED_FOR="10.0.0.9"))


def test_trusted_proxy_header_uses_the_address_the_proxy_added(rates):
    rates(
        SIGN_IN_THROTTLE_RATES={"account": "100/min", "ip": "1/min"},
        CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR",
    )
    # The client may send any X-Forwarded-For; the proxy appends the real address.
    first = attempt("a@example.com", "x", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.1")
    assert first.status_code == 400
    assert_throttled(attempt("b@example.com", "x", HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.1"))
    assert attempt("c@example.com", "x", HTTP_X_FORWARDED_FOR="203.0.113.2").status_code == 400


def test_refresh_has_its_own_rate(rates, user, password):
    rates(
        SIGN_IN_THROTTLE_RATES={"account": "100/min", "ip": "100/min"},
        REFRESH_THROTTLE_RATE="2/min",
    )
    tokens = sign_in(user, password)
    first = refresh(tokens["refresh_token"])
    assert first.status_code == 200
    assert refresh(first.json()["refresh_token"]).status_code == 200
    assert_throttled(APIClient().post(REFRESH_URL, {"refresh_token": "x"}, format="json"))


def test_default_rates(settings, user, password):
    for _ in range(5):
        assert attempt(user.get_username(), "wrong").status_code == 400
    assert_throttled(attempt(user.get_username(), password))


def test_dead_cache_fails_sign_in_closed(settings, user, password):
    settings.CACHES = DEAD_REDIS
    with mock.patch("django.contrib.auth.backends.ModelBackend.authenticate") as authenticate:
        response = attempt(user.get_username(), password)
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert set(response.json()) == {"error", "error_description"}
    authenticate.assert_not_called()


def test_dead_cache_lets_refresh_through(settings, user, password):
    tokens = sign_in(user, password)
    settings.CACHES = DEAD_REDIS
    response = refresh(tokens["refresh_token"])
    assert response.status_code == 200
    caches["default"].close()
