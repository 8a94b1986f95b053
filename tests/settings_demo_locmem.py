"""The demo's settings with a per-process cache and short key deadlines, for multi-process tests.

``LocMemCache`` gives every gunicorn worker its own cache (Django's default);
``KEY_CACHE_SECONDS`` of 1 and a 2-second access-token lifetime let a test
see a rotation reach every worker, and a retired key reach its deadline, in
seconds.
"""

from __future__ import annotations

from datetime import timedelta

from demo_project.settings import *  # noqa: F403
from demo_project.settings import BEARER_AUTH

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
BEARER_AUTH = {
    **BEARER_AUTH,
    "KEY_CACHE_SECONDS": 1,
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=2),
}
