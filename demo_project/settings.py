"""Settings of the bearer_auth demo project.

Embedded defaults: a SQLite file and Django's database cache (a table in the
same database, shared by every process). ``DATABASE_URL`` (PostgreSQL) and
``REDIS_URL`` switch to the real services; ``DEBUG``,
``SECRET_KEY``, ``ALLOWED_HOSTS``, ``BEARER_AUTH_ISSUER``, ``PORT`` (the API's
port) and ``SPA_PORT`` (the demo single-page app's, ``demo_project/spa``;
default ``PORT`` + 1) come from the environment. The insecure defaults are
deliberate: ``check --deploy`` flags them until the environment provides real
values.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from corsheaders.defaults import default_headers

from bearer_auth.oidc.claims import OIDC_SCOPES
from bearer_auth.settings import oauth2_provider_settings

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = os.environ.get("DEBUG", "1").lower() in {"1", "true", "yes", "on"}
SECRET_KEY = os.environ.get(
    "SECRET_KEY", "django-insecure-demo-only-set-SECRET_KEY-in-the-environment"
)
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Only for /ninja/docs: Swagger UI's assets from Ninja's static files, no CDN.
    "ninja",
    "bearer_auth",  # before oauth2_provider: its `cleartokens` is the one run
    "oauth2_provider",
    "demo_project",
    "demo_project.notes",
    "demo_project.client",
]

MIDDLEWARE = [
    # First: it answers the SPA's preflights and adds CORS headers to every answer, errors too.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "bearer_auth.middleware.BearerAuthHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demo_project.urls"
WSGI_APPLICATION = "demo_project.wsgi.application"
ASGI_APPLICATION = "demo_project.asgi.application"

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

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'demo.sqlite3'}", conn_max_age=60
    ),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (gunicorn workers) write one SQLite file: each
    # transaction takes the write lock when it begins and waits up to 20 s for
    # it, so racing refreshes queue instead of failing with "database is
    # locked" (503) half-way. docs/deployment.md recommends the same.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}

if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
        }
    }
else:
    # Shared by every process (gunicorn workers, management commands) with no
    # extra service: throttle counters must be. `demo_setup` creates the table.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "demo_cache",
        }
    }

AUTH_USER_MODEL = "bearer_auth.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# oauthlib's DEBUG lines carry authorization codes and refresh tokens
# ("Validating refresh token %s"): kept at INFO whatever the root level is.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"oauthlib": {"level": "INFO"}},
}

# `make demo PORT=9000` serves on that port: the default issuer follows it.
DEMO_PORT = int(os.environ.get("PORT") or 8000)
issuer = os.environ.get("BEARER_AUTH_ISSUER", f"http://127.0.0.1:{DEMO_PORT}")
# The demo's MCP server (demo_project.mcp_server), served at /mcp on the same
# origin: its resource identifier, the `aud` of the tokens it accepts.
MCP_RESOURCE = f"{issuer.rstrip('/')}/mcp" if issuer else ""

# The demo single-page app (demo_project/spa), served by `make demo` on SPA_PORT
# (default: the next port) of the same host: another origin of the same site as the API.
DEMO_SPA_PORT = int(os.environ.get("SPA_PORT") or DEMO_PORT + 1)
DEMO_SPA_ORIGIN = f"http://127.0.0.1:{DEMO_SPA_PORT}"

# django-cors-headers: the SPA, and only it, may call the API's first-party
# endpoints and the notes API with credentials (the refresh cookie) and the
# cookie mode's request header.
CORS_ALLOWED_ORIGINS = [DEMO_SPA_ORIGIN]
CORS_ALLOW_CREDENTIALS = True
CORS_ALLOW_HEADERS = (*default_headers, "refresh-token-delivery")
CORS_URLS_REGEX = r"^/(auth|api)/"

BEARER_AUTH = {
    "ISSUER": issuer,
    # A plain sign-in at /auth/token/ gets what the demo's API needs.
    "DEFAULT_SCOPES": ["read", "write", "notes:read", "notes:write"],
    # "strict" (default) or "stateless": the notes API works in both.
    "VERIFY_MODE": os.environ.get("BEARER_AUTH_VERIFY_MODE", "strict"),
    # The MCP server is a protected resource of its own (RFC 9728 metadata at
    # /.well-known/oauth-protected-resource/mcp): a client asks for tokens for
    # it with RFC 8707's `resource`, and only those are accepted there.
    "RESOURCES": {
        MCP_RESOURCE: {
            "name": "bearer_auth demo notes (MCP)",
            "scopes": ["notes:read", "notes:write"],
        },
    }
    if MCP_RESOURCE
    else {},
    # MCP clients register themselves (RFC 7591) at /o/register/: public
    # clients only, PKCE, loopback or HTTPS redirect URIs, the notes' scopes.
    "CLIENT_REGISTRATION": "open",
    "REGISTRATION_SCOPES": ["notes:read", "notes:write"],
    # The demo SPA signs in in cookie mode from its own origin (docs/demo.md).
    "BROWSER_APP_ORIGINS": [DEMO_SPA_ORIGIN],
}

OAUTH2_PROVIDER = oauth2_provider_settings(
    BEARER_AUTH,
    SCOPES={
        "read": "Read your account",
        "write": "Change your account",
        "notes:read": "Read your notes",
        "notes:write": "Create, change and delete your notes",
        # openid, profile and email: what /client/oidc/ asks for.
        **OIDC_SCOPES,
    },
    DEFAULT_SCOPES=["read"],
    # OpenID Connect: ID tokens signed by the managed keys, discovery at
    # /.well-known/openid-configuration, /o/userinfo/ and /o/logout/.
    OIDC_ENABLED=True,
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["bearer_auth.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# /api/schema/ and /api/docs/; Swagger UI's assets come from drf-spectacular-sidecar
# (served as static files, no CDN). OpenAPI 3.1 lets bearer requirements list scopes.
SPECTACULAR_SETTINGS = {
    "TITLE": "bearer_auth demo API",
    "DESCRIPTION": "Notes API and first-party sign-in, protected by RFC 9068 bearer tokens.",
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
