"""docs/settings.md, run: its three settings blocks, and its tables against the real defaults."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.core import checks

from bearer_auth.jwt import mint_access_token
from bearer_auth.settings import (
    DEFAULTS,
    OAUTH2_PROVIDER_REQUIRED,
    bearer_settings,
    oauth2_provider_settings,
)
from tests.docs.markdown import sample, snippets
from tests.processes import ROOT

PAGE = "docs/settings.md"
BEARER_AUTH = sample(PAGE, "bearer-auth")
OAUTH2_PROVIDER = sample(PAGE, "oauth2-provider")
REST_FRAMEWORK = sample(PAGE, "rest-framework")


def settings_of(claim: Any) -> dict[str, Any]:
    """Run a block as the page's settings module runs it: after the blocks above it."""
    [part] = snippets(claim.block)
    if claim is OAUTH2_PROVIDER:
        return part.settings(BEARER_AUTH=settings_of(BEARER_AUTH)["BEARER_AUTH"])
    return part.settings()


def bearer_auth_messages() -> list[str]:
    return [message.id for message in checks.run_checks() if message.id.startswith("bearer_auth")]


def table(heading: str) -> list[list[str]]:
    """The rows of the first table under ``heading``, cells stripped (header row dropped)."""
    text = (ROOT / PAGE).read_text(encoding="utf-8")
    section = text.split(f"\n{heading}\n", 1)[1].lstrip("\n")
    first_table = section.split("\n\n", 1)[0]
    rows = re.findall(r"^\|(.*)\|\s*$", first_table, flags=re.MULTILINE)
    return [[cell.strip() for cell in row.split(" | ")] for row in rows[2:]]


@pytest.mark.django_db
def test_the_bearer_auth_block_sets_issuer_and_lifetime(settings: Any) -> None:
    settings.BEARER_AUTH = settings_of(BEARER_AUTH)["BEARER_AUTH"]
    settings.OAUTH2_PROVIDER = settings_of(OAUTH2_PROVIDER)["OAUTH2_PROVIDER"]
    assert bearer_auth_messages() == []
    assert bearer_settings.ISSUER == "https://auth.example.com"
    minted = mint_access_token(user=None, client_id="a-client", scope="read")
    claims = jwt.decode(minted.token, options={"verify_signature": False})
    assert claims["iss"] == "https://auth.example.com"
    assert claims["exp"] - claims["iat"] == 300


def test_the_table_lists_every_setting_with_its_default() -> None:
    rows = table("## `BEARER_AUTH`")
    documented = {
        row[0].strip("`"): eval(row[1].strip("`"), {"timedelta": timedelta})  # noqa: S307
        for row in rows
    }
    assert documented == DEFAULTS


def test_the_oauth2_provider_block_keeps_bearer_auth_wiring(settings: Any) -> None:
    configured = settings_of(OAUTH2_PROVIDER)["OAUTH2_PROVIDER"]
    assert configured == {
        **OAUTH2_PROVIDER_REQUIRED,
        "OIDC_ISS_ENDPOINT": "https://auth.example.com",
        "ID_TOKEN_EXPIRE_SECONDS": 300,
        "REFRESH_TOKEN_EXPIRE_SECONDS": 14 * 24 * 3600,
        "SCOPES": configured["SCOPES"],
    }
    settings.BEARER_AUTH = settings_of(BEARER_AUTH)["BEARER_AUTH"]
    settings.OAUTH2_PROVIDER = configured
    assert bearer_auth_messages() == []
    deploy = checks.run_checks(include_deployment_checks=True)
    assert [message.id for message in deploy if message.id.startswith("oauth2_provider")] == []


def _e010_keys(settings: Any) -> list[str]:
    """The OAUTH2_PROVIDER keys whose wrong value bearer_auth.E010 reports, in the table's order."""
    configured = settings_of(OAUTH2_PROVIDER)["OAUTH2_PROVIDER"]
    reported = []
    for key in configured:
        settings.OAUTH2_PROVIDER = {**configured, key: "another value"}
        errors = [message for message in checks.run_checks() if message.id == "bearer_auth.E010"]
        if errors:
            [error] = errors
            assert repr(key) in error.msg
            reported.append(key)
    return reported


def test_the_oauth2_provider_table_names_bearer_auths_keys(settings: Any) -> None:
    named = [
        key
        for row in table("It sets (see `bearer_auth.settings.OAUTH2_PROVIDER_REQUIRED`):")
        for key in re.findall(r"`([A-Z0-9_]+)`", row[0])
    ]
    assert set(named) <= set(OAUTH2_PROVIDER_REQUIRED)
    # "bearer_auth.E010 reports any of the first seven that differs"
    assert sorted(named[:7]) == sorted(_e010_keys(settings))


def test_the_second_oauth2_provider_table_names_what_follows_from_bearer_auth() -> None:
    named = [row[0].strip("`") for row in table("And from the `BEARER_AUTH` you pass:")]
    assert set(named) == set(oauth2_provider_settings()) - set(OAUTH2_PROVIDER_REQUIRED)


def test_the_rest_framework_block_silences_w002(settings: Any) -> None:
    settings.REST_FRAMEWORK = {}
    assert bearer_auth_messages() == ["bearer_auth.W002"]
    settings.REST_FRAMEWORK = settings_of(REST_FRAMEWORK)["REST_FRAMEWORK"]
    assert bearer_auth_messages() == []
