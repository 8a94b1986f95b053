"""Settings of the gunicorn server the mixed load run drives (``tests/load/mixed.py``).

The test settings with PostgreSQL and Redis from the environment, one cache
key prefix for every worker (so throttles and the key set are shared, as in
production), and throttle budgets a load generator on one IP cannot spend.
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import BEARER_AUTH

DEBUG = False

if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "bearer-auth-load",
        }
    }

BEARER_AUTH = {
    **BEARER_AUTH,
    "SIGN_IN_THROTTLE_RATES": {"account": "100000/min", "ip": "1000000/min"},
    "REFRESH_THROTTLE_RATE": "1000000/min",
    # A key rotation mid-run reaches every worker within the run.
    "KEY_CACHE_SECONDS": 5,
}
