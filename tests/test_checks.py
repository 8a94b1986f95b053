"""System checks: exact messages, ids and hints."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import checks

from bearer_auth.checks import (
    check_bearer_settings,
    check_claims_hook,
    check_issuer,
    check_oauth2_provider,
    check_refresh_token_expiry,
    check_rest_framework,
)
from bearer_auth.settings import oauth2_provider_settings


def ids(messages: list[checks.CheckMessage]) -> list[str]:
    return [message.id or "" for message in messages]


def with_bearer(settings: Any, **values: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, **values}


def test_shipped_test_settings_pass_every_check() -> None:
    assert check_bearer_settings(None) == []
    assert check_issuer(None) == []
    assert check_oauth2_provider(None) == []
    assert check_rest_framework(None) == []


def test_unknown_key_is_an_error_with_exact_hint(settings: Any) -> None:
    with_bearer(settings, ACESS_TOKEN_LIFETIME=timedelta(minutes=1))
    (message,) = check_bearer_settings(None)
    assert message.id == "bearer_auth.E001"
    assert message.msg == "Unknown BEARER_AUTH setting 'ACESS_TOKEN_LIFETIME'."
    assert message.hint.startswith("Remove 'ACESS_TOKEN_LIFETIME' from BEARER_AUTH; valid keys:")
    assert "ACCESS_TOKEN_LIFETIME" in message.hint


@pytest.mark.parametrize(
    ("name", "value", "check_id"),
    [
        ("SIGNING_ALGORITHM", "none", "bearer_auth.E002"),
        ("SIGNING_ALGORITHM", "RS512", "bearer_auth.E002"),
        ("VERIFY_MODE", "lenient", "bearer_auth.E003"),
        ("ACCESS_TOKEN_FORMAT", "jwe", "bearer_auth.E004"),
    ],
)
def test_values_outside_the_allow_list(settings: Any, name: str, value: str, check_id: str) -> None:
    with_bearer(settings, **{name: value})
    messages = check_bearer_settings(None)
    assert check_id in ids(messages)
    message = messages[ids(messages).index(check_id)]
    assert isinstance(message, checks.Error)
    assert message.hint.startswith(f"Set BEARER_AUTH[{name!r}] to one of:")


def test_stateless_with_opaque_tokens_is_an_error(settings: Any) -> None:
    with_bearer(settings, VERIFY_MODE="stateless", ACCESS_TOKEN_FORMAT="opaque")
    assert ids(check_bearer_settings(None)) == ["bearer_auth.E005"]


def test_lifetime_must_be_a_timedelta(settings: Any) -> None:
    with_bearer(settings, ACCESS_TOKEN_LIFETIME=300)
    (message,) = check_bearer_settings(None)
    assert message.id == "bearer_auth.E006"
    assert (
        message.hint
        == "Set BEARER_AUTH['ACCESS_TOKEN_LIFETIME'] = datetime.timedelta(seconds=300)."
    )


def test_long_access_token_lifetime_is_a_warning(settings: Any) -> None:
    with_bearer(settings, ACCESS_TOKEN_LIFETIME=timedelta(minutes=16))
    (message,) = check_bearer_settings(None)
    assert isinstance(message, checks.Warning)
    assert message.id == "bearer_auth.W001"
    with_bearer(settings, ACCESS_TOKEN_LIFETIME=timedelta(minutes=15))
    assert check_bearer_settings(None) == []


def test_hs256_without_secret_and_with_short_secret(settings: Any) -> None:
    with_bearer(settings, SIGNING_ALGORITHM="HS256")
    assert ids(check_bearer_settings(None)) == ["bearer_auth.E007"]
    with_bearer(settings, SIGNING_KEYS=["x" * 31, "y" * 32])
    (message,) = check_bearer_settings(None)
    assert message.id == "bearer_auth.E008"
    assert message.msg.startswith("HS256 secret number 1 ")


@pytest.mark.parametrize("value", [-1, "4096", 1.5, True, None])
def test_verified_token_cache_size_must_be_a_non_negative_integer(
    settings: Any, value: Any
) -> None:
    with_bearer(settings, VERIFIED_TOKEN_CACHE_SIZE=value)
    assert check_bearer_settings(None) == [
        checks.Error(
            "BEARER_AUTH['VERIFIED_TOKEN_CACHE_SIZE'] must be a non-negative integer.",
            hint='Set BEARER_AUTH["VERIFIED_TOKEN_CACHE_SIZE"] = 4096 (0 turns the cache off).',
            id="bearer_auth.E011",
        )
    ]
    with_bearer(settings, VERIFIED_TOKEN_CACHE_SIZE=0)
    assert check_bearer_settings(None) == []


def test_missing_issuer_is_a_deploy_error(settings: Any) -> None:
    settings.BEARER_AUTH = {}
    (message,) = check_issuer(None)
    assert message == checks.Error(
        "BEARER_AUTH['ISSUER'] is not set.",
        hint='Set BEARER_AUTH["ISSUER"] to the public https URL of this server, '
        'e.g. "https://auth.example.com".',
        id="bearer_auth.E009",
    )
    registered = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])
    assert "bearer_auth.E009" in ids(registered)


@pytest.mark.parametrize(
    "name",
    ["ACCESS_TOKEN_GENERATOR", "REFRESH_TOKEN_GENERATOR", "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE"],
)
def test_oauth2_provider_not_wired(settings: Any, name: str) -> None:
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, name: None}
    (message,) = check_oauth2_provider(None)
    assert message.id == "bearer_auth.E010"
    assert message.msg == f"OAUTH2_PROVIDER[{name!r}] is not bearer_auth's value."


def test_oauth2_provider_accepts_imported_callables(settings: Any) -> None:
    from bearer_auth.oauth import generate_access_token

    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "ACCESS_TOKEN_GENERATOR": generate_access_token,
    }
    assert check_oauth2_provider(None) == []


@pytest.mark.parametrize(
    "rest_framework",
    [
        {},
        {
            "DEFAULT_AUTHENTICATION_CLASSES": [
                "bearer_auth.authentication.BearerTokenAuthentication",
                "rest_framework.authentication.BasicAuthentication",
            ]
        },
    ],
)
def test_basic_authentication_is_a_warning(settings: Any, rest_framework: dict[str, Any]) -> None:
    settings.REST_FRAMEWORK = rest_framework
    (message,) = check_rest_framework(None)
    assert message.id == "bearer_auth.W002"


def test_refresh_token_expiry_is_set_by_oauth2_provider_settings(settings: Any) -> None:
    settings.OAUTH2_PROVIDER = oauth2_provider_settings()
    assert settings.OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"] == 14 * 24 * 3600
    assert check_refresh_token_expiry(None) == []


@pytest.mark.parametrize("value", [None, 0])
def test_missing_refresh_token_expiry_is_a_warning(settings: Any, value: int | None) -> None:
    configured = oauth2_provider_settings()
    configured.pop("REFRESH_TOKEN_EXPIRE_SECONDS")
    if value is not None:
        configured["REFRESH_TOKEN_EXPIRE_SECONDS"] = value
    settings.OAUTH2_PROVIDER = configured
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "REFRESH_TOKEN_LIFETIME": timedelta(days=30)}
    (message,) = check_refresh_token_expiry(None)
    assert message.id == "bearer_auth.W003"
    assert "= 2592000 " in message.hint


# EXTRA_CLAIMS_HOOK (bearer_auth.E012).

E012_HINT = (
    'Set BEARER_AUTH["EXTRA_CLAIMS_HOOK"] to the dotted path of a function defined as '
    "def extra_claims(*, user, client_id, scopes, request, **kwargs): return {...}, "
    "or remove it."
)


def roles_hook(*, user: Any, client_id: str, scopes: Any, request: Any, **kwargs: Any) -> Any:
    return {"roles": []}


def positional_hook(user: Any, scopes: Any) -> Any:
    return {}


NOT_A_FUNCTION = {"roles": []}


@pytest.mark.parametrize("hook", [None, f"{__name__}.roles_hook", roles_hook, lambda **kwargs: {}])
def test_a_claims_hook_taking_its_keyword_arguments_passes(settings: Any, hook: Any) -> None:
    with_bearer(settings, EXTRA_CLAIMS_HOOK=hook)
    assert check_claims_hook(None) == []


@pytest.mark.parametrize(
    ("hook", "problem"),
    [
        (
            "myproject.nowhere.extra_claims",
            "cannot be imported: No module named 'myproject'",
        ),
        (
            f"{__name__}.missing_hook",
            f'cannot be imported: Module "{__name__}" does not define a "missing_hook" '
            "attribute/class",
        ),
        (f"{__name__}.NOT_A_FUNCTION", "names something that is not a function"),
        (42, "is int, not the dotted path of a function"),
        (
            positional_hook,
            "cannot be called with keyword arguments user, client_id, scopes, request: "
            "got an unexpected keyword argument 'client_id'",
        ),
    ],
)
def test_a_claims_hook_that_cannot_be_called_is_e012(
    settings: Any, hook: Any, problem: str
) -> None:
    with_bearer(settings, EXTRA_CLAIMS_HOOK=hook)
    assert check_claims_hook(None) == [
        checks.Error(
            f"BEARER_AUTH['EXTRA_CLAIMS_HOOK'] {problem}.",
            hint=E012_HINT,
            id="bearer_auth.E012",
        )
    ]
