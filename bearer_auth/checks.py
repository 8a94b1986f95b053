"""System checks for ``BEARER_AUTH``, ``OAUTH2_PROVIDER`` and ``REST_FRAMEWORK``.

Ids are stable: ``bearer_auth.E0xx`` (errors) and ``bearer_auth.W0xx``
(warnings). Every hint is the exact fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Final

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from bearer_auth.claims import HOOK_ARGUMENTS, claims_hook, hook_signature_error
from bearer_auth.keys.material import ALGORITHMS, MIN_HMAC_KEY_BYTES
from bearer_auth.settings import DEFAULTS, OAUTH2_PROVIDER_REQUIRED, bearer_settings, user_settings

VERIFY_MODES: Final = ("strict", "stateless")
TOKEN_FORMATS: Final = ("jwt", "opaque")
MAX_RECOMMENDED_LIFETIME: Final = timedelta(minutes=15)
# OAUTH2_PROVIDER entries without which bearer_auth is not in charge of the
# tokens (errors); the RFC 9700 gates are DOT's own deploy checks.
_WIRING: Final = (
    "ACCESS_TOKEN_GENERATOR",
    "REFRESH_TOKEN_GENERATOR",
    "OAUTH2_SERVER_CLASS",
    "OAUTH2_VALIDATOR_CLASS",
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE",
    "ROTATE_REFRESH_TOKEN",
    "REFRESH_TOKEN_REUSE_PROTECTION",
)
_BASIC_AUTHENTICATION: Final = "rest_framework.authentication.BasicAuthentication"


@register(Tags.security)
def check_bearer_settings(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    """Validate the values in ``BEARER_AUTH``."""
    messages: list[CheckMessage] = [
        Error(
            f"Unknown BEARER_AUTH setting {name!r}.",
            hint=f"Remove {name!r} from BEARER_AUTH; valid keys: {', '.join(sorted(DEFAULTS))}.",
            id="bearer_auth.E001",
        )
        for name in sorted(set(user_settings()) - set(DEFAULTS))
    ]
    messages += _check_choices()
    messages += _check_lifetimes()
    messages += _check_hmac_keys()
    messages += _check_cache_size()
    return messages


def _check_choices() -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for name, choices, check_id in (
        ("SIGNING_ALGORITHM", ALGORITHMS, "bearer_auth.E002"),
        ("VERIFY_MODE", VERIFY_MODES, "bearer_auth.E003"),
        ("ACCESS_TOKEN_FORMAT", TOKEN_FORMATS, "bearer_auth.E004"),
    ):
        value = getattr(bearer_settings, name)
        if value not in choices:
            messages.append(
                Error(
                    f"BEARER_AUTH[{name!r}] is {value!r}, which is not supported.",
                    hint=f"Set BEARER_AUTH[{name!r}] to one of: {', '.join(choices)}.",
                    id=check_id,
                )
            )
    if bearer_settings.VERIFY_MODE == "stateless" and bearer_settings.ACCESS_TOKEN_FORMAT != "jwt":
        messages.append(
            Error(
                "Stateless verification needs JWT access tokens.",
                hint='Set BEARER_AUTH["ACCESS_TOKEN_FORMAT"] = "jwt" or '
                'BEARER_AUTH["VERIFY_MODE"] = "strict".',
                id="bearer_auth.E005",
            )
        )
    return messages


def _check_lifetimes() -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for name in ("ACCESS_TOKEN_LIFETIME", "REFRESH_TOKEN_LIFETIME", "LEEWAY"):
        value = getattr(bearer_settings, name)
        if not isinstance(value, timedelta) or value < timedelta(0):
            messages.append(
                Error(
                    f"BEARER_AUTH[{name!r}] must be a non-negative datetime.timedelta.",
                    hint=f"Set BEARER_AUTH[{name!r}] = {DEFAULTS[name]!r}.",
                    id="bearer_auth.E006",
                )
            )
    lifetime = bearer_settings.ACCESS_TOKEN_LIFETIME
    if isinstance(lifetime, timedelta) and lifetime > MAX_RECOMMENDED_LIFETIME:
        messages.append(
            Warning(
                f"BEARER_AUTH['ACCESS_TOKEN_LIFETIME'] is {lifetime}: a stolen access token "
                "stays usable that long in stateless resource servers.",
                hint='Set BEARER_AUTH["ACCESS_TOKEN_LIFETIME"] = timedelta(minutes=15) or less.',
                id="bearer_auth.W001",
            )
        )
    return messages


def _check_hmac_keys() -> list[CheckMessage]:
    if bearer_settings.SIGNING_ALGORITHM != "HS256":
        return []
    secrets = bearer_settings.SIGNING_KEYS or []
    if not secrets:
        return [
            Error(
                "HS256 signing needs a shared secret in BEARER_AUTH['SIGNING_KEYS'].",
                hint='Set BEARER_AUTH["SIGNING_KEYS"] = [<a random secret of 32 bytes or more>] '
                'or use an asymmetric BEARER_AUTH["SIGNING_ALGORITHM"] such as "RS256".',
                id="bearer_auth.E007",
            )
        ]
    return [
        Error(
            f"HS256 secret number {index + 1} in BEARER_AUTH['SIGNING_KEYS'] is shorter than "
            f"{MIN_HMAC_KEY_BYTES} bytes.",
            hint="Replace it with a random secret of 32 bytes or more, "
            'e.g. python -c "import secrets; print(secrets.token_urlsafe(48))".',
            id="bearer_auth.E008",
        )
        for index, secret in enumerate(secrets)
        if len(secret.encode() if isinstance(secret, str) else bytes(secret)) < MIN_HMAC_KEY_BYTES
    ]


def _check_cache_size() -> list[CheckMessage]:
    value = bearer_settings.VERIFIED_TOKEN_CACHE_SIZE
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return []
    return [
        Error(
            "BEARER_AUTH['VERIFIED_TOKEN_CACHE_SIZE'] must be a non-negative integer.",
            hint=f'Set BEARER_AUTH["VERIFIED_TOKEN_CACHE_SIZE"] = '
            f"{DEFAULTS['VERIFIED_TOKEN_CACHE_SIZE']} (0 turns the cache off).",
            id="bearer_auth.E011",
        )
    ]


@register(Tags.security, deploy=True)
def check_issuer(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    """A deployment must name its issuer: every token's ``iss`` and the metadata use it."""
    if user_settings().get("ISSUER"):
        return []
    return [
        Error(
            "BEARER_AUTH['ISSUER'] is not set.",
            hint='Set BEARER_AUTH["ISSUER"] to the public https URL of this server, '
            'e.g. "https://auth.example.com".',
            id="bearer_auth.E009",
        )
    ]


@register(Tags.security)
def check_oauth2_provider(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    """``OAUTH2_PROVIDER`` must hand token issuing to bearer_auth."""
    configured = getattr(settings, "OAUTH2_PROVIDER", None) or {}
    messages: list[CheckMessage] = []
    for name in _WIRING:
        expected = OAUTH2_PROVIDER_REQUIRED[name]
        if _dotted(configured.get(name)) != expected:
            messages.append(
                Error(
                    f"OAUTH2_PROVIDER[{name!r}] is not bearer_auth's value.",
                    hint=f"Set OAUTH2_PROVIDER[{name!r}] = {expected!r}, or build the whole "
                    "dict with bearer_auth.settings.oauth2_provider_settings().",
                    id="bearer_auth.E010",
                )
            )
    return messages


@register(Tags.database)
def check_refresh_token_expiry(
    app_configs: Sequence[Any] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Without DOT's refresh-token expiry, rotated refresh tokens are kept forever."""
    configured = getattr(settings, "OAUTH2_PROVIDER", None) or {}
    if configured.get("REFRESH_TOKEN_EXPIRE_SECONDS"):
        return []
    lifetime = bearer_settings.REFRESH_TOKEN_LIFETIME
    seconds = int(lifetime.total_seconds()) if isinstance(lifetime, timedelta) else None
    return [
        Warning(
            'OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"] is not set: every rotation leaves '
            "a revoked refresh token that `cleartokens` never deletes (DOT keeps it for "
            "reuse detection).",
            hint=f'Set OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"] = {seconds} '
            '(BEARER_AUTH["REFRESH_TOKEN_LIFETIME"] in seconds), or build the dict with '
            "bearer_auth.settings.oauth2_provider_settings().",
            id="bearer_auth.W003",
        )
    ]


def _dotted(value: Any) -> Any:
    """Turn an imported callable or class into the dotted path DOT would import."""
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{value.__module__}.{value.__qualname__}"
    return value


@register(Tags.security)
def check_rest_framework(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    """Basic authentication would let password guessing bypass sign-in throttling."""
    configured = getattr(settings, "REST_FRAMEWORK", None) or {}
    classes = [_dotted(item) for item in configured.get("DEFAULT_AUTHENTICATION_CLASSES", ())]
    if "DEFAULT_AUTHENTICATION_CLASSES" not in configured or _BASIC_AUTHENTICATION in classes:
        return [
            Warning(
                "DRF's default authentication classes include BasicAuthentication, which "
                "checks passwords on every request without bearer_auth's sign-in throttling.",
                hint='Set REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = '
                '["bearer_auth.authentication.BearerTokenAuthentication"] '
                "(add SessionAuthentication if the browsable API needs it).",
                id="bearer_auth.W002",
            )
        ]
    return []


@register(Tags.security)
def check_claims_hook(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    """``EXTRA_CLAIMS_HOOK`` must name a function taking the hook's keyword arguments."""
    problem = _claims_hook_problem()
    if problem is None:
        return []
    return [
        Error(
            f"BEARER_AUTH['EXTRA_CLAIMS_HOOK'] {problem}.",
            hint='Set BEARER_AUTH["EXTRA_CLAIMS_HOOK"] to the dotted path of a function defined '
            "as def extra_claims(*, user, client_id, scopes, request, **kwargs): return {...}, "
            "or remove it.",
            id="bearer_auth.E012",
        )
    ]


def _claims_hook_problem() -> str | None:
    """What is wrong with ``EXTRA_CLAIMS_HOOK``: ``None`` when unset or a usable function."""
    value = bearer_settings.EXTRA_CLAIMS_HOOK
    if value is not None and not isinstance(value, str) and not callable(value):
        return f"is {type(value).__name__}, not the dotted path of a function"
    try:
        hook = claims_hook()
    except ImportError as exc:
        return f"cannot be imported: {exc}"
    except ImproperlyConfigured:
        return "names something that is not a function"
    if hook is None:
        return None
    error = hook_signature_error(hook)
    if error is None:
        return None
    return f"cannot be called with keyword arguments {', '.join(HOOK_ARGUMENTS)}: {error}"
