"""No code, token, password or client secret in any log line of our code paths, at any level.

Every logger runs at DEBUG (bearer_auth, Django, DOT, the demo) except
``oauthlib``, which the deployment docs and the demo's ``LOGGING`` keep at
INFO: oauthlib's own DEBUG lines print authorization codes and refresh tokens
(``Validating refresh token %s``, ``Created authorization code grant %r``).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from bearer_auth.checks import check_oauthlib_logging
from tests.first_party import REVOKE_URL, bearer, refresh, sign_in
from tests.oauth_client import (
    SECRET,
    authorization_code,
    basic_auth,
    exchange,
    make_application,
    signed_in_browser,
    token_request,
)

pytestmark = pytest.mark.django_db

DEBUG_LOGGERS = ("", "bearer_auth", "django", "oauth2_provider", "demo_project", "rest_framework")


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    for name in DEBUG_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    caplog.set_level(logging.INFO, logger="oauthlib")
    return caplog


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured line as written: message with its arguments, and any traceback."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


def test_no_secret_in_the_logs_of_sign_in_refresh_code_flow_revoke_and_introspection(
    logs: pytest.LogCaptureFixture, user: Any, password: str
) -> None:
    secrets: list[str] = [password, SECRET, "wrong-password-for-the-logs"]
    # First party: a failed and a good sign-in, a refresh, a replay, a revocation.
    assert (
        Client()
        .post("/auth/token/", {"email": user.get_username(), "password": secrets[2]})
        .status_code
        == 400
    )
    first = sign_in(user, password)
    second = refresh(first["refresh_token"]).json()
    assert refresh(first["refresh_token"]).status_code == 400
    assert bearer(second["access_token"]).get("/auth/me/").status_code in {200, 401}
    revoked = APIClient().post(REVOKE_URL, {"token": second["refresh_token"]}, format="json")
    assert revoked.status_code == 200
    secrets += [first[key] for key in ("access_token", "refresh_token")]
    secrets += [second[key] for key in ("access_token", "refresh_token")]
    # OAuth: the code flow, a code replay, a refresh, introspection, revocation.
    application = make_application()
    code, verifier = authorization_code(signed_in_browser(user), application)
    tokens = exchange(application, code, verifier).json()
    renewed = token_request(
        application.client_id,
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    ).json()
    introspection = Client().post(
        "/o/introspect/",
        {"token": renewed["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )
    assert introspection.status_code == 200
    wrong_secret = Client().post(
        "/o/introspect/",
        {"token": renewed["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(application.client_id, "not-the-secret-xyz"),
    )
    assert wrong_secret.status_code == 401
    revoked = Client().post(
        "/o/revoke_token/",
        {"token": renewed["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )
    assert revoked.status_code == 200
    assert exchange(application, code, verifier).status_code == 400  # a replayed code
    secrets += [code, verifier, "not-the-secret-xyz"]
    secrets += [tokens[key] for key in ("access_token", "refresh_token")]
    secrets += [renewed[key] for key in ("access_token", "refresh_token")]
    secrets.append(basic_auth(application.client_id).split()[1])

    logged = _logged(logs)
    assert logs.records, "nothing was captured: the loggers are not at DEBUG"
    leaked = [secret for secret in secrets if secret in logged]
    assert leaked == []


def test_the_demo_keeps_oauthlib_at_info() -> None:
    demo_settings = importlib.import_module("demo_project.settings")
    assert demo_settings.LOGGING["loggers"]["oauthlib"]["level"] == "INFO"


def test_deploy_check_warns_while_oauthlib_logs_at_debug() -> None:
    oauthlib_logger = logging.getLogger("oauthlib")
    level = oauthlib_logger.level
    try:
        oauthlib_logger.setLevel(logging.INFO)
        assert check_oauthlib_logging(None) == []
        oauthlib_logger.setLevel(logging.DEBUG)
        (warning,) = check_oauthlib_logging(None)
        assert warning.id == "bearer_auth.W008"
    finally:
        oauthlib_logger.setLevel(level)
