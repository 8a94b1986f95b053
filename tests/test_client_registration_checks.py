"""System checks of the dynamic client registration settings (bearer_auth.E017 to E020)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks

from bearer_auth.checks import check_client_registration


def with_bearer(settings: Any, **values: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, **values}


def test_the_defaults_pass() -> None:
    assert check_client_registration(None) == []


@pytest.mark.parametrize("policy", ["closed", "initial_access_token", "open"])
def test_every_policy_passes(settings: Any, policy: str) -> None:
    with_bearer(settings, CLIENT_REGISTRATION=policy, REGISTRATION_SCOPES=["notes:read"])
    assert check_client_registration(None) == []


def test_an_unknown_policy_is_e017(settings: Any) -> None:
    with_bearer(settings, CLIENT_REGISTRATION="anyone")
    assert check_client_registration(None) == [
        checks.Error(
            "BEARER_AUTH['CLIENT_REGISTRATION'] is 'anyone', which is not supported.",
            hint="Set BEARER_AUTH['CLIENT_REGISTRATION'] to one of: closed, "
            "initial_access_token, open.",
            id="bearer_auth.E017",
        )
    ]


@pytest.mark.parametrize("value", ["notes:read", ["read", 1], {"read": "Read"}])
def test_registration_scopes_not_a_list_of_names_is_e018(settings: Any, value: Any) -> None:
    with_bearer(settings, REGISTRATION_SCOPES=value)
    assert check_client_registration(None) == [
        checks.Error(
            "BEARER_AUTH['REGISTRATION_SCOPES'] must be None or a list of scope names.",
            hint='Set BEARER_AUTH["REGISTRATION_SCOPES"] = None (OAUTH2_PROVIDER'
            '["DEFAULT_SCOPES"]) or a list such as ["notes:read", "notes:write"].',
            id="bearer_auth.E018",
        )
    ]


def test_registration_scopes_the_server_does_not_define_are_e018(settings: Any) -> None:
    with_bearer(settings, REGISTRATION_SCOPES=["read", "mcp:everything"])
    assert check_client_registration(None) == [
        checks.Error(
            "BEARER_AUTH['REGISTRATION_SCOPES'] names scopes the server does not define: "
            "mcp:everything.",
            hint='Define them in OAUTH2_PROVIDER["SCOPES"] or remove them from '
            'BEARER_AUTH["REGISTRATION_SCOPES"].',
            id="bearer_auth.E018",
        )
    ]


def test_registration_on_with_no_registrable_scope_is_e018(settings: Any) -> None:
    with_bearer(settings, REGISTRATION_SCOPES=[])
    assert check_client_registration(None) == []  # closed: nothing to register
    with_bearer(settings, CLIENT_REGISTRATION="open")
    assert check_client_registration(None) == [
        checks.Error(
            "Client registration is on but no scope can be registered.",
            hint='List scopes in BEARER_AUTH["REGISTRATION_SCOPES"].',
            id="bearer_auth.E018",
        )
    ]


@pytest.mark.parametrize("rate", [None, "ten/hour", "10/fortnight", "10", 10, ""])
def test_a_throttle_rate_that_is_no_rate_is_e019(settings: Any, rate: Any) -> None:
    with_bearer(settings, REGISTRATION_THROTTLE_RATE=rate)
    assert check_client_registration(None) == [
        checks.Error(
            f"BEARER_AUTH['REGISTRATION_THROTTLE_RATE'] is {rate!r}, not a rate.",
            hint='Set BEARER_AUTH["REGISTRATION_THROTTLE_RATE"] to a rate such as '
            '"10/hour" (DRF\'s "<count>/<second|minute|hour|day>").',
            id="bearer_auth.E019",
        )
    ]


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_requires_approval_not_a_bool_is_e020(settings: Any, value: Any) -> None:
    with_bearer(settings, REGISTRATION_REQUIRES_APPROVAL=value)
    assert check_client_registration(None) == [
        checks.Error(
            "BEARER_AUTH['REGISTRATION_REQUIRES_APPROVAL'] must be True or False.",
            hint='Set BEARER_AUTH["REGISTRATION_REQUIRES_APPROVAL"] = False (or True).',
            id="bearer_auth.E020",
        )
    ]
