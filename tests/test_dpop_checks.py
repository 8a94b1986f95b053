"""System checks of the DPoP settings (bearer_auth.E024 to E027, W011)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import checks

from bearer_auth.checks import check_bearer_settings, check_dpop, check_dpop_replay_cache

MIDDLEWARE = "bearer_auth.middleware.BearerAuthHeadersMiddleware"


def ids(messages: list[checks.CheckMessage]) -> list[str]:
    return [message.id for message in messages if message.id]


def with_bearer(settings: Any, **values: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, **values}


def test_the_defaults_pass(settings: Any) -> None:
    assert check_dpop(None) == []


@pytest.mark.parametrize("value", [["HS256"], ["none"], "ES256", ["ES256", "RSA-OAEP"], None])
def test_an_algorithm_that_is_no_asymmetric_signature_is_e024(settings: Any, value: Any) -> None:
    with_bearer(settings, DPOP_SIGNING_ALGORITHMS=value)
    (message,) = check_dpop(None)
    assert message.id == "bearer_auth.E024"
    assert "ES256, ES384, ES512, EdDSA, RS256" in (message.hint or "")


def test_no_algorithm_turns_dpop_off_and_is_fine(settings: Any) -> None:
    with_bearer(settings, DPOP_SIGNING_ALGORITHMS=[])
    assert check_dpop(None) == []


@pytest.mark.parametrize("value", [["tokens"], "token", ["token", "authorize"], None])
def test_a_nonce_place_that_is_unknown_is_e025(settings: Any, value: Any) -> None:
    with_bearer(settings, DPOP_NONCE_REQUIRED=value)
    assert ids(check_dpop(None)) == ["bearer_auth.E025"]


def test_every_nonce_place_is_accepted(settings: Any) -> None:
    with_bearer(settings, DPOP_NONCE_REQUIRED=["token", "resource"])
    assert check_dpop(None) == []


def test_a_replay_cache_alias_not_in_caches_is_e026(settings: Any) -> None:
    with_bearer(settings, DPOP_REPLAY_CACHE="replays")
    (message,) = check_dpop(None)
    assert message.id == "bearer_auth.E026"
    assert "'replays'" in message.msg


def test_resource_nonces_without_the_headers_middleware_are_e027(settings: Any) -> None:
    with_bearer(settings, DPOP_NONCE_REQUIRED=["resource"])
    settings.MIDDLEWARE = [item for item in settings.MIDDLEWARE if item != MIDDLEWARE]
    assert ids(check_dpop(None)) == ["bearer_auth.E027"]
    with_bearer(settings, DPOP_NONCE_REQUIRED=["token"])
    assert check_dpop(None) == []


@pytest.mark.parametrize("name", ["DPOP_PROOF_LIFETIME", "DPOP_NONCE_LIFETIME"])
def test_the_dpop_lifetimes_are_non_negative_timedeltas(settings: Any, name: str) -> None:
    with_bearer(settings, **{name: 60})
    assert "bearer_auth.E006" in ids(check_bearer_settings(None))
    with_bearer(settings, **{name: timedelta(seconds=-1)})
    assert "bearer_auth.E006" in ids(check_bearer_settings(None))


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
    ],
)
def test_a_per_process_replay_cache_is_a_deploy_warning(settings: Any, backend: str) -> None:
    settings.CACHES = {**settings.CACHES, "replays": {"BACKEND": backend}}
    with_bearer(settings, DPOP_REPLAY_CACHE="replays")
    (message,) = check_dpop_replay_cache(None)
    assert message.id == "bearer_auth.W011"
    registered = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.caches])
    assert "bearer_auth.W011" in ids(registered)
    assert "bearer_auth.W011" not in ids(checks.run_checks(tags=[checks.Tags.caches]))
    with_bearer(settings, DPOP_SIGNING_ALGORITHMS=[])
    assert check_dpop_replay_cache(None) == []


def test_a_shared_replay_cache_passes(settings: Any) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "replays": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "x"},
    }
    with_bearer(settings, DPOP_REPLAY_CACHE="replays")
    assert check_dpop_replay_cache(None) == []
