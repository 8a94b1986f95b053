"""Shared fixtures, and the rule that a missing service fails under CI=true."""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection

CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = "/usr/bin/chromium"


def _missing(reason: str) -> None:
    """Fail under CI (the service must be there), skip on a developer's laptop."""
    if CI:
        pytest.fail(f"{reason} (CI=true: a missing service is a failure, not a skip)")
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    if CI and importlib.util.find_spec("mcp") is None:
        # The MCP tests skip without the mcp extra on a laptop; under CI the
        # test extra installs it, and its absence fails the run.
        raise pytest.UsageError("CI=true: the mcp package (the test extra) is missing")
    config.addinivalue_line(
        "markers", "custom_user_model: needs AUTH_USER_MODEL = bearer_auth.User"
    )


@pytest.fixture(autouse=True)
def _service_requirements(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing("needs PostgreSQL: set DATABASE_URL=postgres://…")
    if request.node.get_closest_marker("redis") and not os.environ.get("REDIS_URL"):
        _missing("needs Redis: set REDIS_URL=redis://…")
    if request.node.get_closest_marker("browser"):
        if not shutil.which(CHROMIUM):
            _missing(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            _missing("needs the playwright Python package")
    if request.node.get_closest_marker("valgrind") and not shutil.which("callgrind_control"):
        _missing("needs Debian's valgrind (apt-get install valgrind)")


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    """Throttle counters and key caches never leak from one test into another."""
    from bearer_auth.keys import clear_key_cache

    cache.clear()
    clear_key_cache()
    yield
    cache.clear()
    clear_key_cache()


@pytest.fixture
def password() -> str:
    return "correct horse battery staple"


@pytest.fixture
def user(db: Any, password: str) -> Any:
    from tests.factories import UserFactory

    return UserFactory(password=password)


@pytest.fixture
def admin_user_(db: Any, password: str) -> Any:
    from tests.factories import UserFactory

    return UserFactory(password=password, is_staff=True, is_superuser=True)


@pytest.fixture
def browser(user: Any) -> Any:
    """``user``'s browser: Django's test client, signed in (a session cookie)."""
    from tests.oauth_client import signed_in_browser

    return signed_in_browser(user)


@pytest.fixture
def admin_browser(admin_user_: Any) -> Any:
    """A superuser's browser on the admin: Django's test client, signed in."""
    from tests.oauth_client import signed_in_browser

    return signed_in_browser(admin_user_)


@pytest.fixture
def oidc(settings: Any) -> None:
    """OpenID Connect on for this test (DOT's ``OIDC_ENABLED``, the ``openid`` scopes)."""
    from tests.oidc_support import enable_oidc

    enable_oidc(settings)


# The benchmark's phases, run as tests (tests/test_bench_*.py).


@pytest.fixture
def relaxed_sign_in_budgets(settings: Any) -> None:
    """The phases' cases sign the one user in more often than the default budget allows."""
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "SIGN_IN_THROTTLE_RATES": {"account": "1000/min", "ip": "1000/min"},
    }


@pytest.fixture
def bench_fixtures() -> Any:
    """The one member of ``bench.fixtures.Fixtures`` the phases' cases read: the user.

    The factory works with any ``AUTH_USER_MODEL`` (tox's ``auth.User`` pass runs these too).
    """
    from types import SimpleNamespace

    from bench.fixtures import PASSWORD
    from tests.factories import UserFactory

    return SimpleNamespace(user=UserFactory(password=PASSWORD))
