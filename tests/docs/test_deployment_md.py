"""docs/deployment.md, run: production settings pass check --deploy; a stateless resource
server needs only the JWKS URL; the cron lines run."""

from __future__ import annotations

from io import StringIO
from typing import Any
from unittest import mock

import jwt
import pytest
from django.core import checks
from django.core.management import call_command, get_commands
from rest_framework.test import APIClient

from bearer_auth.keys import public_jwks
from tests.docs.markdown import sample, snippets
from tests.docs.replay import cron_commands
from tests.issuing import issue_access_token

pytestmark = pytest.mark.django_db

PAGE = "docs/deployment.md"
CRON = sample(PAGE, "cron")
AUTHORIZATION_SERVER = sample(PAGE, "authorization-server-settings")
STATELESS_RESOURCE_SERVER = sample(PAGE, "stateless-resource-server")


def test_authorization_server_settings_pass_check_deploy(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY", "b8Jm2!qZ0x@Lr5Tv9#Wc4Ns7^Hd1Kp6%Yf3Ug8&Ea2Ri5*Oj0Xl4")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    [part] = snippets(AUTHORIZATION_SERVER.block)
    production = part.settings()
    assert production["CACHES"]["default"]["BACKEND"].endswith("RedisCache")
    assert production["CACHES"]["default"]["LOCATION"] == "redis://127.0.0.1:6379/0"
    for name, value in production.items():  # the checks only read CACHES: no Redis needed
        setattr(settings, name, value)
    settings.ALLOWED_HOSTS = [*production["ALLOWED_HOSTS"], "testserver"]
    messages = checks.run_checks(include_deployment_checks=True)
    assert [f"{message.id}: {message.msg}" for message in messages] == []


def test_stateless_resource_server_needs_only_the_jwks_url(
    settings: Any, user: Any, django_assert_num_queries: Any
) -> None:
    [part] = snippets(STATELESS_RESOURCE_SERVER.block)
    resource_server = part.settings()
    settings.BEARER_AUTH = {"ISSUER": resource_server["BEARER_AUTH"]["ISSUER"]}
    token = issue_access_token(user)  # on the authorization server
    published = public_jwks()
    settings.BEARER_AUTH = resource_server["BEARER_AUTH"]
    settings.OAUTH2_PROVIDER = resource_server["OAUTH2_PROVIDER"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, **resource_server["REST_FRAMEWORK"]}
    bearer_checks = [m for m in checks.run_checks() if (m.id or "").startswith("bearer_auth.")]
    assert [f"{message.id}: {message.msg}" for message in bearer_checks] == []
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    with (
        mock.patch.object(
            jwt.PyJWKClient, "fetch_data", autospec=True, return_value=published
        ) as fetch,
        django_assert_num_queries(0),
    ):
        response = client.get("/test-api/whoami/")
    assert response.status_code == 200
    assert response.json()["user"] == jwt.decode(token, options={"verify_signature": False})["sub"]
    [(jwks_client,)] = [call.args for call in fetch.call_args_list]
    assert jwks_client.uri == "https://auth.example.com/.well-known/jwks.json"


def test_the_cron_lines_run() -> None:
    commands = cron_commands(CRON.block)
    assert "cleartokens" in {command[0] for command in commands}
    for command in commands:
        assert command[0] in get_commands(), command
        call_command(*command, stdout=StringIO(), stderr=StringIO())
