"""System checks: exact messages, ids and hints."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import checks

from bearer_auth.admin import AccessTokenAdmin, ApplicationAdmin
from bearer_auth.checks import (
    check_admin_classes,
    check_bearer_settings,
    check_claims_hook,
    check_installed_apps_order,
    check_issuer,
    check_issuer_endpoint,
    check_oauth2_provider,
    check_openid_connect,
    check_refresh_token_expiry,
    check_rest_framework,
)
from bearer_auth.settings import OAUTH2_PROVIDER_REQUIRED, oauth2_provider_settings
from tests.oidc_support import enable_oidc

BUILD_IT = (
    "or build the dict with OAUTH2_PROVIDER = "
    "bearer_auth.settings.oauth2_provider_settings(BEARER_AUTH, ...)."
)


def ids(messages: list[checks.CheckMessage]) -> list[str]:
    return [message.id or "" for message in messages]


def with_bearer(settings: Any, **values: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, **values}


def test_shipped_test_settings_pass_every_check() -> None:
    assert check_bearer_settings(None) == []
    assert check_issuer(None) == []
    assert check_issuer_endpoint(None) == []
    assert check_oauth2_provider(None) == []
    assert check_refresh_token_expiry(None) == []
    assert check_rest_framework(None) == []
    assert check_installed_apps_order(None) == []
    assert check_admin_classes(None) == []
    assert check_openid_connect(None) == []


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


@pytest.mark.parametrize("value", ["notes:read", ["read", 1], {"read": "Read"}])
def test_first_party_scopes_not_a_list_of_names_is_e014(settings: Any, value: Any) -> None:
    with_bearer(settings, FIRST_PARTY_SCOPES=value)
    assert check_bearer_settings(None) == [
        checks.Error(
            "BEARER_AUTH['FIRST_PARTY_SCOPES'] must be None or a list of scope names.",
            hint='Set BEARER_AUTH["FIRST_PARTY_SCOPES"] = None (every scope '
            'OAUTH2_PROVIDER["SCOPES"] defines) or a list such as ["read", "write"].',
            id="bearer_auth.E014",
        )
    ]
    for valid in (None, ["read"], []):
        with_bearer(settings, FIRST_PARTY_SCOPES=valid)
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
    assert check_oauth2_provider(None) == [
        checks.Error(
            f"OAUTH2_PROVIDER[{name!r}] is not bearer_auth's value.",
            hint=f"Set OAUTH2_PROVIDER[{name!r}] = {OAUTH2_PROVIDER_REQUIRED[name]!r}, {BUILD_IT}",
            id="bearer_auth.E010",
        )
    ]


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


# oauth2_provider_settings(): DOT's settings that follow from BEARER_AUTH


def test_oauth2_provider_settings_derives_dots_issuer_and_refresh_expiry_from_bearer_auth() -> None:
    bearer_auth = {
        "ISSUER": "https://auth.example.org/tenant",
        "ACCESS_TOKEN_LIFETIME": timedelta(minutes=2),
        "REFRESH_TOKEN_LIFETIME": timedelta(days=30),
    }
    assert oauth2_provider_settings(bearer_auth, SCOPES={"read": "Read"}) == {
        **OAUTH2_PROVIDER_REQUIRED,
        "OIDC_ISS_ENDPOINT": "https://auth.example.org/tenant",
        # ID tokens live as long as access tokens: retired keys retire as fast.
        "ID_TOKEN_EXPIRE_SECONDS": 120,
        "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 3600,
        "SCOPES": {"read": "Read"},
    }


def test_oauth2_provider_settings_without_bearer_auth_uses_the_defaults() -> None:
    """The old call form: what an empty BEARER_AUTH gives (the DEBUG issuer, 14 days)."""
    assert oauth2_provider_settings(SCOPES={"read": "Read"}) == {
        **OAUTH2_PROVIDER_REQUIRED,
        "OIDC_ISS_ENDPOINT": "http://localhost:8000",
        "ID_TOKEN_EXPIRE_SECONDS": 300,
        "REFRESH_TOKEN_EXPIRE_SECONDS": 14 * 24 * 3600,
        "SCOPES": {"read": "Read"},
    }
    assert oauth2_provider_settings() == oauth2_provider_settings({})


def test_oauth2_provider_settings_overrides_win() -> None:
    configured = oauth2_provider_settings(
        {"ISSUER": "https://a.test"}, OIDC_ISS_ENDPOINT="https://b.test"
    )
    assert configured["OIDC_ISS_ENDPOINT"] == "https://b.test"


def test_a_refresh_lifetime_that_is_no_timedelta_is_left_to_e006(settings: Any) -> None:
    with_bearer(settings, REFRESH_TOKEN_LIFETIME=3600)
    settings.OAUTH2_PROVIDER = oauth2_provider_settings(settings.BEARER_AUTH)
    assert "REFRESH_TOKEN_EXPIRE_SECONDS" not in settings.OAUTH2_PROVIDER
    assert check_refresh_token_expiry(None) == []
    assert ids(check_bearer_settings(None)) == ["bearer_auth.E006"]


# bearer_auth.E012: DOT's OIDC_ISS_ENDPOINT is the issuer


def _issuer_endpoint_error(stated: str, expected: str) -> checks.Error:
    return checks.Error(
        f"OAUTH2_PROVIDER['OIDC_ISS_ENDPOINT'] {stated}, but tokens are issued by "
        f"{expected!r}: authorization responses (RFC 9207 iss) and the RFC 8414 metadata "
        "must name the issuer of the tokens.",
        hint=f'Set OAUTH2_PROVIDER["OIDC_ISS_ENDPOINT"] = {expected!r}, {BUILD_IT}',
        id="bearer_auth.E012",
    )


@pytest.mark.parametrize("value", ["https://issuer.test/", "https://other.test"])
def test_an_issuer_endpoint_other_than_the_issuer_is_an_error(settings: Any, value: str) -> None:
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": value}
    assert check_issuer_endpoint(None) == [
        _issuer_endpoint_error(f"is {value!r}", "https://issuer.test")
    ]
    assert "bearer_auth.E012" in ids(checks.run_checks(tags=[checks.Tags.security]))


def test_an_unset_issuer_endpoint_is_an_error(settings: Any) -> None:
    """A hand-written OAUTH2_PROVIDER: DOT would take the issuer from each request's Host."""
    settings.OAUTH2_PROVIDER = {**OAUTH2_PROVIDER_REQUIRED}
    assert check_issuer_endpoint(None) == [
        _issuer_endpoint_error("is not set (DOT follows the Host header)", "https://issuer.test")
    ]


def test_the_old_call_form_with_an_issuer_is_an_error(settings: Any) -> None:
    settings.OAUTH2_PROVIDER = oauth2_provider_settings(SCOPES={"read": "Read"})
    assert check_issuer_endpoint(None) == [
        _issuer_endpoint_error("is 'http://localhost:8000'", "https://issuer.test")
    ]


def test_without_issuer_the_issuer_endpoint_is_the_debug_issuer(settings: Any) -> None:
    settings.BEARER_AUTH = {}
    settings.DEBUG = True
    settings.OAUTH2_PROVIDER = {**OAUTH2_PROVIDER_REQUIRED}
    assert check_issuer_endpoint(None) == [
        _issuer_endpoint_error("is not set (DOT follows the Host header)", "http://localhost:8000")
    ]
    settings.OAUTH2_PROVIDER = oauth2_provider_settings(settings.BEARER_AUTH)
    assert check_issuer_endpoint(None) == []


def test_without_issuer_and_debug_only_e009_speaks(settings: Any) -> None:
    """Nothing is issued then (no ``iss`` to compare with): check --deploy reports E009."""
    settings.BEARER_AUTH = {}
    settings.DEBUG = False
    settings.OAUTH2_PROVIDER = {**OAUTH2_PROVIDER_REQUIRED}
    assert check_issuer_endpoint(None) == []
    assert ids(check_issuer(None)) == ["bearer_auth.E009"]


# bearer_auth.W003: DOT's REFRESH_TOKEN_EXPIRE_SECONDS is REFRESH_TOKEN_LIFETIME


@pytest.mark.parametrize("value", [30 * 24 * 3600, timedelta(days=30)])
def test_refresh_token_expiry_equal_to_the_lifetime_passes(settings: Any, value: Any) -> None:
    with_bearer(settings, REFRESH_TOKEN_LIFETIME=timedelta(days=30))
    settings.OAUTH2_PROVIDER = oauth2_provider_settings(settings.BEARER_AUTH)
    assert check_refresh_token_expiry(None) == []
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "REFRESH_TOKEN_EXPIRE_SECONDS": value}
    assert check_refresh_token_expiry(None) == []


@pytest.mark.parametrize(
    ("value", "shown"),
    [(14 * 24 * 3600, "1209600"), (timedelta(days=60), "datetime.timedelta(days=60)")],
)
def test_refresh_token_expiry_other_than_the_lifetime_is_a_warning(
    settings: Any, value: Any, shown: str
) -> None:
    with_bearer(settings, REFRESH_TOKEN_LIFETIME=timedelta(days=30))
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "REFRESH_TOKEN_EXPIRE_SECONDS": value}
    assert check_refresh_token_expiry(None) == [
        checks.Warning(
            f'OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"] is {shown}, not '
            'BEARER_AUTH["REFRESH_TOKEN_LIFETIME"] (2592000 seconds): DOT ends a sign-in '
            "idle that long, and `cleartokens` deletes rotated refresh tokens that old.",
            hint='Set OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"] = 2592000 '
            f'(BEARER_AUTH["REFRESH_TOKEN_LIFETIME"] in seconds), {BUILD_IT}',
            id="bearer_auth.W003",
        )
    ]


@pytest.mark.parametrize("value", [None, 0])
def test_missing_refresh_token_expiry_is_a_warning(settings: Any, value: int | None) -> None:
    configured = oauth2_provider_settings(settings.BEARER_AUTH)
    configured.pop("REFRESH_TOKEN_EXPIRE_SECONDS")
    if value is not None:
        configured["REFRESH_TOKEN_EXPIRE_SECONDS"] = value
    settings.OAUTH2_PROVIDER = configured
    with_bearer(settings, REFRESH_TOKEN_LIFETIME=timedelta(days=30))
    assert check_refresh_token_expiry(None) == [
        checks.Warning(
            'OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"] is not set: every rotation leaves '
            "a revoked refresh token that `cleartokens` never deletes (DOT keeps it for "
            "reuse detection).",
            hint='Set OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"] = 2592000 '
            f'(BEARER_AUTH["REFRESH_TOKEN_LIFETIME"] in seconds), {BUILD_IT}',
            id="bearer_auth.W003",
        )
    ]


def test_oauth2_provider_listed_before_bearer_auth_is_a_warning(settings: Any) -> None:
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "bearer_auth"] + [
        "bearer_auth"
    ]
    assert check_installed_apps_order(None) == [
        checks.Warning(
            "INSTALLED_APPS lists oauth2_provider before bearer_auth, so `manage.py cleartokens` "
            "is DOT's command: the sessions of ended sign-ins and expired signing keys are "
            "never deleted.",
            hint='Move "bearer_auth" above "oauth2_provider" in INSTALLED_APPS.',
            id="bearer_auth.W004",
        )
    ]


class ProjectApplicationAdmin(ApplicationAdmin):
    """A project's own page for applications, built on bearer_auth's."""


def _admin_class_warning(name: str, expected: str) -> checks.Warning:
    return checks.Warning(
        f"OAUTH2_PROVIDER[{name!r}] names neither bearer_auth's admin class nor a subclass of "
        "it, so the admin lacks what bearer_auth's adds (client secrets shown once, tokens "
        "revoked with their whole sign-in and session).",
        hint=f"Set OAUTH2_PROVIDER[{name!r}] = {expected!r} (or a subclass of it), or build the "
        "whole dict with bearer_auth.settings.oauth2_provider_settings().",
        id="bearer_auth.W005",
    )


def test_dots_own_admin_classes_are_a_warning(settings: Any) -> None:
    configured = oauth2_provider_settings()
    del configured["APPLICATION_ADMIN_CLASS"]  # DOT's default
    configured["REFRESH_TOKEN_ADMIN_CLASS"] = "oauth2_provider.admin.RefreshTokenAdmin"
    configured["ACCESS_TOKEN_ADMIN_CLASS"] = "no.such.AdminClass"
    settings.OAUTH2_PROVIDER = configured
    assert check_admin_classes(None) == [
        _admin_class_warning("APPLICATION_ADMIN_CLASS", "bearer_auth.admin.ApplicationAdmin"),
        _admin_class_warning("ACCESS_TOKEN_ADMIN_CLASS", "bearer_auth.admin.AccessTokenAdmin"),
        _admin_class_warning("REFRESH_TOKEN_ADMIN_CLASS", "bearer_auth.admin.RefreshTokenAdmin"),
    ]


def test_subclasses_of_bearer_auths_admin_classes_pass(settings: Any) -> None:
    settings.OAUTH2_PROVIDER = oauth2_provider_settings(
        APPLICATION_ADMIN_CLASS="tests.test_checks.ProjectApplicationAdmin",
        ACCESS_TOKEN_ADMIN_CLASS=AccessTokenAdmin,
    )
    assert check_admin_classes(None) == []


def test_admin_classes_are_not_checked_without_the_admin(settings: Any) -> None:
    settings.INSTALLED_APPS = [
        app for app in settings.INSTALLED_APPS if app != "django.contrib.admin"
    ]
    settings.OAUTH2_PROVIDER = {}
    assert check_admin_classes(None) == []


# EXTRA_CLAIMS_HOOK (bearer_auth.E013).

E013_HINT = (
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
            hint=E013_HINT,
            id="bearer_auth.E013",
        )
    ]


# bearer_auth.W006: a default cache not shared between processes (issue 19 item 11).

PER_PROCESS_CACHE_MESSAGE = (
    "Django's default cache ({name}) is not shared between processes: the sign-in and "
    "OAuth throttles count per process (N workers allow N times the budget; with DummyCache "
    "nothing is throttled at all), and a reused authorization code revokes nothing when "
    "another process spent it."
)


@pytest.mark.parametrize(
    ("backend", "name"),
    [
        ("django.core.cache.backends.locmem.LocMemCache", "LocMemCache"),
        ("django.core.cache.backends.dummy.DummyCache", "DummyCache"),
    ],
)
def test_per_process_default_cache_is_a_deploy_warning(
    settings: Any, backend: str, name: str
) -> None:
    settings.CACHES = {"default": {"BACKEND": backend}}
    registered = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.caches])
    (message,) = [message for message in registered if message.id == "bearer_auth.W006"]
    assert message == checks.Warning(
        PER_PROCESS_CACHE_MESSAGE.format(name=name),
        hint="Set CACHES['default'] to a cache every process shares: Redis "
        "(django.core.cache.backends.redis.RedisCache), Memcached, or Django's "
        "database cache (django.core.cache.backends.db.DatabaseCache, then run "
        "manage.py createcachetable).",
        id="bearer_auth.W006",
    )
    # Not without --deploy: tests and development run on LocMemCache.
    assert "bearer_auth.W006" not in ids(checks.run_checks(tags=[checks.Tags.caches]))


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.redis.RedisCache",
        "django.core.cache.backends.db.DatabaseCache",
        "django.core.cache.backends.filebased.FileBasedCache",  # shared on one host
    ],
)
def test_shared_default_cache_passes_the_deploy_check(settings: Any, backend: str) -> None:
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": "unused"}}
    registered = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.caches])
    assert "bearer_auth.W006" not in ids(registered)


OPENID_SCOPE_ERROR = checks.Error(
    "OAUTH2_PROVIDER['OIDC_ENABLED'] is on, but OAUTH2_PROVIDER['SCOPES'] has no 'openid' "
    "scope: no client can ask for an ID token.",
    hint='Add the OpenID Connect scopes: OAUTH2_PROVIDER["SCOPES"] = '
    "{**<your scopes>, **bearer_auth.oidc.claims.OIDC_SCOPES} (openid, profile, email), "
    "or turn OAUTH2_PROVIDER['OIDC_ENABLED'] off.",
    id="bearer_auth.E015",
)
HS256_ID_TOKEN_ERROR = checks.Error(
    "OAUTH2_PROVIDER['OIDC_ENABLED'] is on, but BEARER_AUTH['SIGNING_ALGORITHM'] is 'HS256': "
    "relying parties verify ID tokens from the JWKS, which holds no shared secret.",
    hint='Set BEARER_AUTH["SIGNING_ALGORITHM"] to one of RS256, ES256, EdDSA (and '
    "SIGNING_KEYS, if set, to PEM private keys of that type), or turn "
    "OAUTH2_PROVIDER['OIDC_ENABLED'] off.",
    id="bearer_auth.E015",
)


def test_openid_connect_with_its_scopes_and_an_asymmetric_key_passes(settings: Any) -> None:
    enable_oidc(settings)
    assert check_openid_connect(None) == []


def test_openid_connect_without_the_openid_scope_is_an_error(settings: Any) -> None:
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ENABLED": True}
    assert check_openid_connect(None) == [OPENID_SCOPE_ERROR]
    assert OPENID_SCOPE_ERROR in checks.run_checks(tags=[checks.Tags.security])


def test_openid_connect_with_hs256_is_an_error(settings: Any) -> None:
    enable_oidc(settings)
    with_bearer(settings, SIGNING_ALGORITHM="HS256", SIGNING_KEYS=["s" * 48])
    assert check_openid_connect(None) == [HS256_ID_TOKEN_ERROR]
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "SCOPES": {"read": "Read"}}
    assert check_openid_connect(None) == [OPENID_SCOPE_ERROR, HS256_ID_TOKEN_ERROR]


def test_without_openid_connect_neither_is_checked(settings: Any) -> None:
    with_bearer(settings, SIGNING_ALGORITHM="HS256", SIGNING_KEYS=["s" * 48])
    assert "openid" not in settings.OAUTH2_PROVIDER["SCOPES"]
    assert check_openid_connect(None) == []
