"""Settings of the ASGI server ``tests/test_async_server.py`` starts (uvicorn, one process).

The test project's settings on the database ``DATABASE_URL`` names (the
test's SQLite file, :func:`tests.processes.child_env`), with the URLconf of
:mod:`tests.asgi_server` and the signing key the test generated
(``ASGI_TEST_SIGNING_KEY``: a PEM file), so that the set-up process that
mints the tokens and the server that checks them share it, and the
verified-token cache off. A JSON API's
middleware only, as the benchmark's.
"""

from __future__ import annotations

import os
from typing import Any

from tests.settings import *  # noqa: F403
from tests.settings import BEARER_AUTH as _TEST_BEARER_AUTH

ROOT_URLCONF = "tests.asgi_server"
ASGI_APPLICATION = "tests.asgi_server.application"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

BEARER_AUTH: dict[str, Any] = {  # type: ignore[no-redef]  # tests.settings' value, typed wider
    **_TEST_BEARER_AUTH,
    "SIGNING_KEYS": [os.environ["ASGI_TEST_SIGNING_KEY"]],
    # Every request checks its token's signature (no verified-token cache):
    # the most work a stateless check does on the event loop.
    "VERIFIED_TOKEN_CACHE_SIZE": 0,
}
