"""The relying party's settings: mozilla-django-oidc pointed at the provider in ``OIDC_OP_URL``.

The test sets, in the environment: ``OIDC_OP_URL`` (the provider's origin,
e.g. ``http://localhost:8081``), ``OIDC_RP_CLIENT_ID``,
``OIDC_RP_CLIENT_SECRET``, ``OIDC_RP_SIGN_ALGO`` (the algorithm of the
provider's active key) and ``DATABASE_URL`` (a SQLite file of its own).
"""

from __future__ import annotations

import os

import dj_database_url

OP = os.environ["OIDC_OP_URL"].rstrip("/")

SECRET_KEY = "oidc-rp-tests-only-secret-key-with-enough-entropy-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "mozilla_django_oidc",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tests.oidc_rp.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": False,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ],
        },
    },
]

DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"])}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

# Both servers run on the loopback interface: cookies of their own names, so
# neither ever reads the other's even when they share a host name.
SESSION_COOKIE_NAME = "rp_sessionid"
CSRF_COOKIE_NAME = "rp_csrftoken"

AUTHENTICATION_BACKENDS = ["mozilla_django_oidc.auth.OIDCAuthenticationBackend"]
LOGIN_URL = "oidc_authentication_init"
LOGIN_REDIRECT_URL = "/"
LOGIN_REDIRECT_URL_FAILURE = "/?failed=1"
LOGOUT_REDIRECT_URL = "/"

# mozilla-django-oidc: the provider's endpoints (what its discovery document
# lists; the library reads no discovery document).
OIDC_RP_CLIENT_ID = os.environ["OIDC_RP_CLIENT_ID"]
OIDC_RP_CLIENT_SECRET = os.environ["OIDC_RP_CLIENT_SECRET"]
OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_OP_AUTHORIZATION_ENDPOINT = f"{OP}/o/authorize/"
OIDC_OP_TOKEN_ENDPOINT = f"{OP}/o/token/"
OIDC_OP_USER_ENDPOINT = f"{OP}/o/userinfo/"
OIDC_OP_JWKS_ENDPOINT = f"{OP}/.well-known/jwks.json"
OIDC_OP_LOGOUT_ENDPOINT = f"{OP}/o/logout/"
OIDC_OP_LOGOUT_URL_METHOD = "tests.oidc_rp.views.provider_logout_url"
OIDC_RP_SCOPES = "openid email profile"
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_STORE_ID_TOKEN = True
OIDC_TIMEOUT = 10
