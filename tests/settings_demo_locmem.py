"""The demo's settings with a per-process cache and short key deadlines, for multi-process tests.

``LocMemCache`` gives every gunicorn worker its own cache (Django's default);
``KEY_CACHE_SECONDS`` of 1 and 2-second access-token and ID-token lifetimes
let a test see a rotation reach every worker, and a retired key reach its
deadline, in seconds (with OpenID Connect on, a retired key verifies for the
longer of the two).
"""

from __future__ import annotations

from datetime import timedelta

from demo_project.settings import *  # noqa: F403
from demo_project.settings import BEARER_AUTH, OAUTH2_PROVIDER

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
BEARER_AUTH = {
    **BEARER_AUTH,
    "KEY_CACHE_SECONDS": 1,
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=2),
}
OAUTH2_PROVIDER = {**OAUTH2_PROVIDER, "ID_TOKEN_EXPIRE_SECONDS": 2}
