"""Django settings of the benchmark: bearer_auth, simplejwt and DOT side by side.

One project serves every case, so each request crosses the same middleware
and DRF machinery whichever class authenticates it. The environment chooses
the database (``BENCH_DATABASE_URL``, else a SQLite file in ``BENCH_DIR``),
the signing keys (PEM files the runner writes to ``BENCH_DIR``) and the
bearer_auth verification mode (``BENCH_VERIFY_MODE``) and verified-token
cache size (``BENCH_VERIFIED_TOKEN_CACHE_SIZE``) of each gunicorn server.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url

from bearer_auth.oidc.claims import OIDC_SCOPES
from bearer_auth.settings import oauth2_provider_settings

BENCH_DIR = Path(os.environ.get("BENCH_DIR", Path(tempfile.gettempdir()) / "bearer-auth-bench"))
#: The PEM private keys the runner generated, by algorithm.
BENCH_KEY_FILES = {alg: BENCH_DIR / f"{alg.lower()}.pem" for alg in ("RS256", "ES256", "EdDSA")}
#: simplejwt's HS256 secret (and the PyJWT HS256 floor's).
BENCH_HS256_SECRET = "bench-hs256-secret-0123456789abcdef-0123456789abcdef"

SECRET_KEY = "bench-only-secret-key-not-for-production-0123456789abcdefghij"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "bearer_auth",  # above oauth2_provider: its cleartokens (bearer_auth.W004)
    "oauth2_provider",
]

# What a JSON API needs; the same stack for every case.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "bench.urls"
WSGI_APPLICATION = "bench.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

if os.environ.get("BENCH_DATABASE_URL"):
    _default = dj_database_url.parse(os.environ["BENCH_DATABASE_URL"])
    # PostgreSQL OPTIONS to measure, as JSON, e.g. '{"server_side_binding": true,
    # "prepare_threshold": 5}' (docs/deployment.md); none by default.
    _default["OPTIONS"] = json.loads(os.environ.get("BENCH_POSTGRES_OPTIONS") or "{}")
else:
    _default = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(BENCH_DIR / "bench.sqlite3")}
# Persistent connections, as any production deployment configures them: a
# new PostgreSQL connection per request would swamp every difference measured.
_default["CONN_MAX_AGE"] = None
#: The scale cases' databases: the same schema, few or many stored sessions.
SCALE_DATABASES = ("scale_small", "scale_large")
DATABASES = {
    "default": _default,
    **{
        alias: {
            **_default,
            "NAME": (
                str(BENCH_DIR / f"bench-{alias}.sqlite3")
                if _default["ENGINE"].endswith("sqlite3")
                else f"{_default['NAME']}_{alias}"
            ),
        }
        for alias in SCALE_DATABASES
    },
}
DATABASE_ROUTERS = ["bench.routers.ActiveDatabaseRouter"]

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "bearer_auth.User"
# PASSWORD_HASHERS is Django's default (PBKDF2): sign-in is measured against it.

USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING = {"version": 1, "disable_existing_loggers": False}

BEARER_AUTH = {
    "ISSUER": "https://bench.example",
    "VERIFY_MODE": os.environ.get("BENCH_VERIFY_MODE", "strict"),
    # Every algorithm verifies; the first key signs (the runner reorders for minting).
    "SIGNING_KEYS": [str(path) for path in BENCH_KEY_FILES.values()],
    "ACCESS_TOKEN_LIFETIME": timedelta(hours=6),
    "ACCEPT_OPAQUE_TOKENS": True,
    # Throttles count in the cache on every call, so they stay on, just high.
    # The refresh window is one second: DRF keeps every request of the window
    # in the cache entry, and a minute of back-to-back refreshes (thousands)
    # would make each call unpickle a history no real rate allows (the
    # default 60/min keeps at most 60).
    "SIGN_IN_THROTTLE_RATES": {"account": "1000000/min", "ip": "1000000/min"},
    "REFRESH_THROTTLE_RATE": "1000000/s",
    "DEFAULT_SCOPES": ["read", "write"],
    # The MCP server of the ``mcp`` phase (bench.mcp.RESOURCE): its tokens' aud.
    "RESOURCES": {"https://bench.example/mcp": {"name": "Benchmark MCP server"}},
}

if os.environ.get("BENCH_VERIFIED_TOKEN_CACHE_SIZE"):  # unset or empty: the default
    BEARER_AUTH["VERIFIED_TOKEN_CACHE_SIZE"] = int(os.environ["BENCH_VERIFIED_TOKEN_CACHE_SIZE"])

# OpenID Connect on (DOT's OIDC_ENABLED) with its scopes: the code exchange
# with ``openid`` issues an ID token and UserInfo answers (the ``oidc`` phase).
OAUTH2_PROVIDER = oauth2_provider_settings(
    BEARER_AUTH,
    SCOPES={"read": "Read", "write": "Write", **OIDC_SCOPES},
    DEFAULT_SCOPES=["read", "write"],
    ACCESS_TOKEN_EXPIRE_SECONDS=6 * 3600,
    OIDC_ENABLED=True,
)

SIMPLE_JWT = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": BENCH_HS256_SECRET,
    "ACCESS_TOKEN_LIFETIME": timedelta(hours=6),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}
