"""Test settings: in-memory SQLite, MD5 hasher, local-memory cache.

``DATABASE_URL`` switches the database (the PostgreSQL runs of ``make test``),
``DATABASE_OPTIONS`` (JSON) sets PostgreSQL's ``OPTIONS``;
``REDIS_URL`` switches the cache to Redis, so throttles and the key cache are
exercised on the shared backend production uses.
"""

from __future__ import annotations

import json
import os

import dj_database_url

from bearer_auth.settings import oauth2_provider_settings

SECRET_KEY = "tests-only-secret-key-with-enough-entropy-0123456789abcdef"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "bearer_auth",  # before oauth2_provider: its `cleartokens` is the one run
    "oauth2_provider",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "bearer_auth.middleware.BearerAuthHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"])}
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # PostgreSQL's OPTIONS, as JSON: make test's second PostgreSQL pass sets
        # server-side binding with psycopg's prepared statements
        # (docs/deployment.md recommends them). Child processes on SQLite
        # inherit the variable and must not get them.
        DATABASES["default"]["OPTIONS"] = json.loads(os.environ.get("DATABASE_OPTIONS") or "{}")
    elif DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        # A SQLite file other processes may share: racing transactions wait
        # for the write lock, as in the demo (docs/deployment.md).
        DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": f"bearer-auth-tests-{os.getpid()}",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "bearer_auth.User"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

BEARER_AUTH = {
    "ISSUER": "https://issuer.test",
}

OAUTH2_PROVIDER = oauth2_provider_settings(
    BEARER_AUTH,
    SCOPES={
        "read": "Read your account",
        "write": "Change your account",
        "notes:read": "Read your notes",
        "notes:write": "Create, change and delete your notes",
    },
    DEFAULT_SCOPES=["read"],
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["bearer_auth.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
