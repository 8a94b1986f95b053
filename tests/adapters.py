"""Every adapter of the one check, for the rule tests that run over all of them.

The DRF test views live under ``/test-api/``; each adapter serves twins of
them, answering the same JSON (``tests/ninja_views.py``,
``tests/plain_views.py``). A module that imports :func:`adapter_client` (pytest finds
an imported fixture; it is named ``client``) runs each of its tests that use
``client`` once per adapter: the client sends what a test sends to ``/test-api/...`` to that
adapter's twin instead, and the test's expected answers stay the DRF class's,
unchanged.
"""

from __future__ import annotations

import os
from typing import Any, Final

import pytest
from django.test import Client

#: Each adapter's prefix for the DRF test views' paths.
ALL_ADAPTERS: Final = {
    "drf": "/test-api/",
    "ninja": "/test-ninja/",
    "ninja-async": "/test-ninja-async/",
    "plain-async": "/test-plain-async/",
}
DRF_PREFIX: Final = ALL_ADAPTERS["drf"]


def _selected() -> dict[str, str]:
    """``ALL_ADAPTERS``, or those ``BEARER_AUTH_TEST_ADAPTERS`` names (comma-separated).

    tox.ini runs every adapter in the environments that cover each Django
    and database once, and DRF alone in the other Python versions', to keep
    CI's time; an unknown name fails the run.
    """
    names = [name for name in os.environ.get("BEARER_AUTH_TEST_ADAPTERS", "").split(",") if name]
    unknown = set(names) - set(ALL_ADAPTERS)
    if unknown:
        raise ValueError(f"BEARER_AUTH_TEST_ADAPTERS names no adapter: {sorted(unknown)}")
    return {name: ALL_ADAPTERS[name] for name in names} if names else dict(ALL_ADAPTERS)


#: The adapters this run tests.
ADAPTERS: Final = _selected()


class AdapterClient(Client):
    """Django's test client, sending requests for ``/test-api/...`` to an adapter's twin views."""

    def __init__(self, prefix: str, **defaults: Any) -> None:
        super().__init__(**defaults)
        self.prefix = prefix

    def generic(self, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        if path.startswith(DRF_PREFIX):
            path = self.prefix + path.removeprefix(DRF_PREFIX)
        return super().generic(method, path, *args, **kwargs)


@pytest.fixture(name="client", params=list(ADAPTERS))
def adapter_client(request: pytest.FixtureRequest) -> AdapterClient:
    """The test client for one adapter (``drf``, ``ninja``, ``ninja-async``, ``plain-async``)."""
    return AdapterClient(ADAPTERS[request.param])
