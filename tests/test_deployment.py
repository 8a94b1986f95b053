"""docs/deployment.md, run: production settings pass check --deploy; a stateless resource server."""

from __future__ import annotations

import re
import shlex
from typing import Any
from unittest import mock

import jwt
import pytest
from django.core import checks
from django.core.management import call_command
from rest_framework.test import APIClient

from bearer_auth.keys import public_jwks
from tests.issuing import issue_access_token
from tests.processes import ROOT

pytestmark = pytest.mark.django_db

GUIDE = ROOT / "docs" / "deployment.md"


def fenced_blocks(language: str) -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    return [
        re.sub(r"^ {2}", "", block, flags=re.MULTILINE)
        for block in re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)
    ]


def settings_block(first_line: str) -> dict[str, Any]:
    [block] = [block for block in fenced_blocks("python") if block.startswith(first_line + "\n")]
    namespace: dict[str, Any] = {}
    exec(compile(block, str(GUIDE), "exec"), namespace)  # noqa: S102
    return {name: value for name, value in namespace.items() if name.isupper()}


def test_authorization_server_settings_pass_check_deploy(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY", "b8Jm2!qZ0x@Lr5Tv9#Wc4Ns7^Hd1Kp6%Yf3Ug8&Ea2Ri5*Oj0Xl4")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    production = settings_block("# settings.py (authorization server)")
    assert production["CACHES"]["default"]["BACKEND"].endswith("RedisCache")
    assert production["CACHES"]["default"]["LOCATION"] == "redis://127.0.0.1:6379/0"
    for name, value in production.items():
        if name != "CACHES":  # the suite keeps its own cache; no Redis needed here
            setattr(settings, name, value)
    settings.ALLOWED_HOSTS = [*production["ALLOWED_HOSTS"], "testserver"]
    messages = checks.run_checks(include_deployment_checks=True)
    assert [f"{message.id}: {message.msg}" for message in messages] == []


def test_stateless_resource_server_needs_only_the_jwks_url(
    settings: Any, user: Any, django_assert_num_queries: Any
) -> None:
    resource_server = settings_block("# settings.py (stateless resource server)")
    settings.BEARER_AUTH = {"ISSUER": resource_server["BEARER_AUTH"]["ISSUER"]}
    token = issue_access_token(user)  # on the authorization server
    published = public_jwks()
    settings.BEARER_AUTH = resource_server["BEARER_AUTH"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, **resource_server["REST_FRAMEWORK"]}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    with (
        mock.patch.object(jwt.PyJWKClient, "fetch_data", return_value=published) as fetch,
        django_assert_num_queries(0),
    ):
        response = client.get("/test-api/whoami/")
    assert response.status_code == 200
    assert response.json()["user"] == jwt.decode(token, options={"verify_signature": False})["sub"]
    assert fetch.call_count == 1


def test_cron_commands_run() -> None:
    [crontab] = [block for block in fenced_blocks("console") if "cleartokens" in block]
    commands = [
        shlex.split(line.split("manage.py", 1)[1])
        for line in crontab.splitlines()
        if not line.startswith("#")
    ]
    assert commands == [["cleartokens"], ["bearer_keys", "prune"]]
    for command in commands:
        call_command(*command, verbosity=0)
