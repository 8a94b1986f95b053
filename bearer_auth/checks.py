"""System checks for ``BEARER_AUTH``, ``OAUTH2_PROVIDER`` and ``REST_FRAMEWORK``.

Ids are stable: ``bearer_auth.E0xx`` (errors) and ``bearer_auth.W0xx``
(warnings). Every hint is the exact fix.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Final
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.shortcuts import resolve_url
from django.urls import NoReverseMatch, Resolver404, get_resolver, resolve
from django.utils.module_loading import import_string
from oauth2_provider.settings import oauth2_settings

from bearer_auth.browser import DELIVERIES, normalized_origin
from bearer_auth.claims import HOOK_ARGUMENTS, claims_hook, hook_signature_error
from bearer_auth.jwt import issuer
from bearer_auth.keys.material import ALGORITHMS, GENERATED_ALGORITHMS, MIN_HMAC_KEY_BYTES
from bearer_auth.plain import BearerTokenMiddleware
from bearer_auth.settings import (
    DEFAULTS,
    OAUTH2_PROVIDER_REQUIRED,
    bearer_settings,
    oauth2_provider_settings,
    user_settings,
)

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
# How every hint about OAUTH2_PROVIDER ends: the dict that needs no fixing.
_BUILD_IT: Final = (
    "or build the dict with OAUTH2_PROVIDER = "
    "bearer_auth.settings.oauth2_provider_settings(BEARER_AUTH, ...)."
)


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
    messages += _check_first_party_scopes()
    return messages


def _check_choices() -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for name, choices, check_id in (
        ("SIGNING_ALGORITHM", ALGORITHMS, "bearer_auth.E002"),
        ("VERIFY_MODE", VERIFY_MODES, "bearer_auth.E003"),
        ("ACCESS_TOKEN_FORMAT", TOKEN_FORMATS, "bearer_auth.E004"),
        ("REFRESH_TOKEN_DELIVERY", DELIVERIES, "bearer_auth.E021"),
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
    for name in (
        "ACCESS_TOKEN_LIFETIME",
        "REFRESH_TOKEN_LIFETIME",
        "REFRESH_REUSE_INTERVAL",
        "LEEWAY",
        "DPOP_PROOF_LIFETIME",
        "DPOP_NONCE_LIFETIME",
    ):
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


def _check_first_party_scopes() -> list[CheckMessage]:
    value = bearer_settings.FIRST_PARTY_SCOPES
    if value is None or (
        isinstance(value, (list, tuple)) and all(isinstance(scope, str) for scope in value)
    ):
        return []
    return [
        Error(
            "BEARER_AUTH['FIRST_PARTY_SCOPES'] must be None or a list of scope names.",
            hint='Set BEARER_AUTH["FIRST_PARTY_SCOPES"] = None (every scope '
            'OAUTH2_PROVIDER["SCOPES"] defines) or a list such as ["read", "write"].',
            id="bearer_auth.E014",
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


#: Cache backends that no two processes share: LocMemCache keeps one cache per
#: process, DummyCache keeps nothing. FileBasedCache is shared by the processes
#: of one host and is not listed (docs/deployment.md).
_PER_PROCESS_CACHES: Final = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@register(Tags.security, Tags.caches, deploy=True)
def check_shared_cache(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    """Throttle counters and spent-code records live in the default cache: all processes need it.

    Signing keys do not depend on the cache (their version is read from the
    database), so only throttling and code-reuse revocation are at stake.
    """
    if not _per_process_cache("default"):
        return []
    backend_class = import_string(settings.CACHES["default"]["BACKEND"])
    return [
        Warning(
            f"Django's default cache ({backend_class.__name__}) is not shared between "
            "processes: the sign-in and OAuth throttles count per process (N workers allow "
            "N times the budget; with DummyCache nothing is throttled at all), and a reused "
            "authorization code revokes nothing when another process spent it.",
            hint="Set CACHES['default'] to a cache every process shares: Redis "
            "(django.core.cache.backends.redis.RedisCache), Memcached, or Django's "
            "database cache (django.core.cache.backends.db.DatabaseCache, then run "
            "manage.py createcachetable).",
            id="bearer_auth.W006",
        )
    ]


@register(Tags.security)
def check_issuer_endpoint(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    """DOT states ``OIDC_ISS_ENDPOINT`` as the issuer: it must be the ``iss`` of the tokens.

    DOT writes it as the RFC 9207 ``iss`` of authorization responses and the
    RFC 8414 ``issuer``; unset, DOT derives both from each request's Host.
    """
    try:
        expected = issuer()
    except ImproperlyConfigured:
        return []  # no issuer, so no tokens: bearer_auth.E009 under check --deploy
    configured = (getattr(settings, "OAUTH2_PROVIDER", None) or {}).get("OIDC_ISS_ENDPOINT")
    if configured == expected:
        return []
    stated = f"is {configured!r}" if configured else "is not set (DOT follows the Host header)"
    return [
        Error(
            f"OAUTH2_PROVIDER['OIDC_ISS_ENDPOINT'] {stated}, but tokens are issued by "
            f"{expected!r}: authorization responses (RFC 9207 iss) and the RFC 8414 metadata "
            "must name the issuer of the tokens.",
            hint=f'Set OAUTH2_PROVIDER["OIDC_ISS_ENDPOINT"] = {expected!r}, {_BUILD_IT}',
            id="bearer_auth.E012",
        )
    ]


@register(Tags.security)
def check_oauth2_provider(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    """``OAUTH2_PROVIDER`` must hand token issuing to bearer_auth."""
    configured = getattr(settings, "OAUTH2_PROVIDER", None) or {}
    messages: list[CheckMessage] = []
    for name in _WIRING:
        expected = OAUTH2_PROVIDER_REQUIRED[name]
        if not _names(configured.get(name), expected):
            messages.append(
                Error(
                    f"OAUTH2_PROVIDER[{name!r}] is not bearer_auth's value.",
                    hint=f"Set OAUTH2_PROVIDER[{name!r}] = {expected!r}, {_BUILD_IT}",
                    id="bearer_auth.E010",
                )
            )
    return messages


@register(Tags.database)
def check_refresh_token_expiry(
    app_configs: Sequence[Any] | None, **kwargs: Any
) -> list[CheckMessage]:
    """DOT's refresh-token expiry must be ``REFRESH_TOKEN_LIFETIME``.

    Unset, rotated refresh tokens are kept forever; shorter, DOT ends idle
    sign-ins before their lifetime; longer, ``cleartokens`` keeps dead rows.
    """
    expected = oauth2_provider_settings(user_settings()).get("REFRESH_TOKEN_EXPIRE_SECONDS")
    if expected is None:
        return []  # REFRESH_TOKEN_LIFETIME is no timedelta: bearer_auth.E006
    configured = (getattr(settings, "OAUTH2_PROVIDER", None) or {}).get(
        "REFRESH_TOKEN_EXPIRE_SECONDS"
    )
    seconds = configured.total_seconds() if isinstance(configured, timedelta) else configured
    if seconds == expected:
        return []
    if configured:
        msg = (
            f'OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"] is {configured!r}, not '
            f'BEARER_AUTH["REFRESH_TOKEN_LIFETIME"] ({expected} seconds): DOT ends a sign-in '
            "idle that long, and `cleartokens` deletes rotated refresh tokens that old."
        )
    else:
        msg = (
            'OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"] is not set: every rotation leaves '
            "a revoked refresh token that `cleartokens` never deletes (DOT keeps it for "
            "reuse detection)."
        )
    return [
        Warning(
            msg,
            hint=f'Set OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"] = {expected} '
            f'(BEARER_AUTH["REFRESH_TOKEN_LIFETIME"] in seconds), {_BUILD_IT}',
            id="bearer_auth.W003",
        )
    ]


def _names(value: Any, expected: Any) -> bool:
    """Whether a configured value is ``expected``: equal, or the object its dotted path names."""
    if value == expected:
        return True
    if not isinstance(expected, str) or "." not in expected:
        return False
    try:
        target = import_string(expected)
        return bool(target is (import_string(value) if isinstance(value, str) else value))
    except ImportError:
        return False


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


@register(Tags.database)
def check_installed_apps_order(
    app_configs: Sequence[Any] | None, **kwargs: Any
) -> list[CheckMessage]:
    """``manage.py cleartokens`` must be bearer_auth's: Django runs the first listed app's."""
    names = [config.name for config in apps.get_app_configs()]
    if "oauth2_provider" in names and names.index("oauth2_provider") < names.index("bearer_auth"):
        return [
            Warning(
                "INSTALLED_APPS lists oauth2_provider before bearer_auth, so `manage.py "
                "cleartokens` is DOT's command: the sessions of ended sign-ins and expired "
                "signing keys are never deleted.",
                hint='Move "bearer_auth" above "oauth2_provider" in INSTALLED_APPS.',
                id="bearer_auth.W004",
            )
        ]
    return []


_HEADERS_MIDDLEWARE: Final = "bearer_auth.middleware.BearerAuthHeadersMiddleware"


@register(Tags.security)
def check_headers_middleware(
    app_configs: Sequence[Any] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Bearer answers need ``Vary: Authorization`` and no-store; admin pages, no framing."""
    installed = [_dotted(item) for item in getattr(settings, "MIDDLEWARE", None) or ()]
    if _HEADERS_MIDDLEWARE in installed:
        return []
    return [
        Warning(
            f"MIDDLEWARE lacks {_HEADERS_MIDDLEWARE}: answers to bearer-authenticated "
            "requests carry neither Vary: Authorization nor Cache-Control: no-store, so a "
            "shared cache may store one user's data and serve it to another, and admin pages "
            "send no CSP frame-ancestors.",
            hint=f'Add "{_HEADERS_MIDDLEWARE}" to MIDDLEWARE, right after '
            '"django.middleware.security.SecurityMiddleware".',
            id="bearer_auth.W007",
        )
    ]


@register(Tags.security, deploy=True)
def check_oauthlib_logging(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    """oauthlib's DEBUG lines carry authorization codes, refresh and access tokens."""
    if not logging.getLogger("oauthlib").isEnabledFor(logging.DEBUG):
        return []
    return [
        Warning(
            "The oauthlib logger writes DEBUG lines, which carry authorization codes, refresh "
            "tokens and newly issued access tokens (every refresh and code exchange goes "
            "through oauthlib).",
            hint='Set LOGGING["loggers"]["oauthlib"] = {"level": "INFO"} (or higher).',
            id="bearer_auth.W008",
        )
    ]


@register(Tags.security, deploy=True)
def check_sign_in_pages(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    """Django's stock sign-in pages check passwords outside the sign-in budgets."""
    # The URLconf first: importing it may set admin.site.login_form.
    get_resolver().url_patterns  # noqa: B018
    forms = {"LOGIN_URL's page": _login_url_form(), "the admin login": _admin_form()}
    pages = [page for page, form in forms.items() if form is not None and not _throttled_form(form)]
    return [
        Warning(
            f"{page} checks passwords outside bearer_auth's sign-in budgets: anyone can "
            "guess passwords there without limit.",
            hint="Mount bearer_auth.views.login.LoginView at LOGIN_URL and set "
            "admin.site.login_form = bearer_auth.views.login.ThrottledAdminAuthenticationForm "
            "(docs/deployment.md, Sign-in pages).",
            id="bearer_auth.W009",
        )
        for page in pages
    ]


def _login_url_form() -> Any:
    """The form class of the view at ``LOGIN_URL`` when it is a page of this project, else None."""
    try:
        match = resolve(resolve_url(settings.LOGIN_URL))
    except (Resolver404, NoReverseMatch):
        return None  # another site's page, or none at all
    # Only a form view tells its form; a function view is the project's own business.
    return getattr(getattr(match.func, "view_class", None), "form_class", None)


def _admin_form() -> Any:
    if not apps.is_installed("django.contrib.admin"):
        return None
    from django.contrib import admin
    from django.contrib.admin.forms import AdminAuthenticationForm

    # AdminSite.login's own default.
    return admin.site.login_form or AdminAuthenticationForm


def _throttled_form(form: Any) -> bool:
    from bearer_auth.views.login import ThrottledLoginFormMixin

    return isinstance(form, type) and issubclass(form, ThrottledLoginFormMixin)


#: DOT's admin pages that bearer_auth's replace, through DOT's own settings.
_ADMIN_CLASSES: Final = (
    "APPLICATION_ADMIN_CLASS",
    "ACCESS_TOKEN_ADMIN_CLASS",
    "REFRESH_TOKEN_ADMIN_CLASS",
)


@register(Tags.admin)
def check_admin_classes(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    """DOT's admin must register bearer_auth's pages (or subclasses) for its rows."""
    if not apps.is_installed("django.contrib.admin"):
        return []
    configured = getattr(settings, "OAUTH2_PROVIDER", None) or {}
    return [
        Warning(
            f"OAUTH2_PROVIDER[{name!r}] names neither bearer_auth's admin class nor a "
            "subclass of it, so the admin lacks what bearer_auth's adds (client secrets "
            "shown once, tokens revoked with their whole sign-in and session).",
            hint=f"Set OAUTH2_PROVIDER[{name!r}] = {OAUTH2_PROVIDER_REQUIRED[name]!r} (or a "
            "subclass of it), or build the whole dict with "
            "bearer_auth.settings.oauth2_provider_settings().",
            id="bearer_auth.W005",
        )
        for name in _ADMIN_CLASSES
        if not _extends(configured.get(name), OAUTH2_PROVIDER_REQUIRED[name])
    ]


def _extends(value: Any, base_path: str) -> bool:
    """Return whether ``value`` (a class or a dotted path) is ``base_path`` or extends it."""
    try:
        cls = import_string(value) if isinstance(value, str) else value
    except ImportError:  # DOT's admin module fails on it too, with its own message
        return False
    return isinstance(cls, type) and issubclass(cls, import_string(base_path))


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
            id="bearer_auth.E013",
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


@register(Tags.security)
def check_openid_connect(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    """While ``OIDC_ENABLED`` is on: the ``openid`` scope exists and ID tokens verify from the JWKS.

    DOT refuses an authorization request for a scope ``SCOPES`` lacks, so no
    client could ask for ``openid``; and an HS256 key signs nothing a relying
    party can check against the published keys (:func:`bearer_auth.jwt.sign_id_token`
    refuses it).
    """
    if not oauth2_settings.OIDC_ENABLED:
        return []
    messages: list[CheckMessage] = []
    if "openid" not in (oauth2_settings.SCOPES or {}):
        messages.append(
            Error(
                "OAUTH2_PROVIDER['OIDC_ENABLED'] is on, but OAUTH2_PROVIDER['SCOPES'] has no "
                "'openid' scope: no client can ask for an ID token.",
                hint='Add the OpenID Connect scopes: OAUTH2_PROVIDER["SCOPES"] = '
                "{**<your scopes>, **bearer_auth.oidc.claims.OIDC_SCOPES} "
                "(openid, profile, email), or turn OAUTH2_PROVIDER['OIDC_ENABLED'] off.",
                id="bearer_auth.E015",
            )
        )
    if bearer_settings.SIGNING_ALGORITHM == "HS256":
        messages.append(
            Error(
                "OAUTH2_PROVIDER['OIDC_ENABLED'] is on, but BEARER_AUTH['SIGNING_ALGORITHM'] "
                "is 'HS256': relying parties verify ID tokens from the JWKS, which holds no "
                "shared secret.",
                hint=f'Set BEARER_AUTH["SIGNING_ALGORITHM"] to one of '
                f"{', '.join(GENERATED_ALGORITHMS)} (and SIGNING_KEYS, if set, to PEM private "
                "keys of that type), or turn OAUTH2_PROVIDER['OIDC_ENABLED'] off.",
                id="bearer_auth.E015",
            )
        )
    return messages


#: The keys a ``RESOURCES`` entry may have (``bearer_auth.resources.ProtectedResource``).
_RESOURCE_OPTIONS: Final = frozenset({"name", "scopes", "documentation"})


@register(Tags.security)
def check_resources(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    """``RESOURCES``: absolute ``http(s)`` identifiers without fragment, each with known options.

    An identifier is compared exactly with the ``resource`` a client sends and
    the ``aud`` of its tokens, and its RFC 9728 metadata URL is derived from it
    (``bearer_auth.resources.metadata_url``).
    """
    resources = bearer_settings.RESOURCES
    hint = (
        'Set BEARER_AUTH["RESOURCES"] to {"https://api.example.com/mcp": {"name": "...", '
        '"scopes": ["..."], "documentation": "https://..."}}: absolute https (or http) URIs '
        "without fragment, each mapped to a dict of those optional keys."
    )
    if not isinstance(resources, dict):
        return [Error("BEARER_AUTH['RESOURCES'] is not a dict.", hint=hint, id="bearer_auth.E016")]
    messages: list[CheckMessage] = []
    for uri, options in resources.items():
        problem = _resource_problem(uri, options)
        if problem is not None:
            messages.append(
                Error(
                    f"BEARER_AUTH['RESOURCES'][{uri!r}] {problem}.",
                    hint=hint,
                    id="bearer_auth.E016",
                )
            )
    return messages


def _resource_problem(uri: Any, options: Any) -> str | None:
    if not isinstance(uri, str):
        return "is not a string"
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an absolute http(s) URI"
    if "#" in uri or parts.username is not None or parts.password is not None:
        return "has a fragment or user information (RFC 8707 §2)"
    if not isinstance(options, dict):
        return "is not mapped to a dict"
    unknown = set(options) - _RESOURCE_OPTIONS
    if unknown:
        return f"has unknown keys {sorted(unknown)}"
    scopes = options.get("scopes")
    if scopes is not None and (
        isinstance(scopes, str)
        or not isinstance(scopes, (list, tuple))
        or not all(isinstance(scope, str) for scope in scopes)
    ):
        return "has 'scopes' that is not a list of strings"
    return None


@register(Tags.security)
def check_client_registration(
    app_configs: Sequence[Any] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Validate the four dynamic client registration settings (RFC 7591)."""
    from bearer_auth.oauth.client_registration import POLICIES, RegistrationThrottle

    messages: list[CheckMessage] = []
    policy = bearer_settings.CLIENT_REGISTRATION
    if policy not in POLICIES:
        messages.append(
            Error(
                f"BEARER_AUTH['CLIENT_REGISTRATION'] is {policy!r}, which is not supported.",
                hint=f"Set BEARER_AUTH['CLIENT_REGISTRATION'] to one of: {', '.join(POLICIES)}.",
                id="bearer_auth.E017",
            )
        )
    messages += _check_registration_scopes(policy)
    rate = bearer_settings.REGISTRATION_THROTTLE_RATE
    try:
        # DRF parses the rate when the throttle is made (None: unthrottled).
        throttle = RegistrationThrottle("check") if isinstance(rate, str) else None
        valid_rate = throttle is not None and throttle.parse_rate(rate)[1] is not None
    except (ValueError, KeyError, IndexError):
        valid_rate = False
    if not valid_rate:
        messages.append(
            Error(
                f"BEARER_AUTH['REGISTRATION_THROTTLE_RATE'] is {rate!r}, not a rate.",
                hint='Set BEARER_AUTH["REGISTRATION_THROTTLE_RATE"] to a rate such as '
                '"10/hour" (DRF\'s "<count>/<second|minute|hour|day>").',
                id="bearer_auth.E019",
            )
        )
    if not isinstance(bearer_settings.REGISTRATION_REQUIRES_APPROVAL, bool):
        messages.append(
            Error(
                "BEARER_AUTH['REGISTRATION_REQUIRES_APPROVAL'] must be True or False.",
                hint='Set BEARER_AUTH["REGISTRATION_REQUIRES_APPROVAL"] = False (or True).',
                id="bearer_auth.E020",
            )
        )
    return messages


def _check_registration_scopes(policy: Any) -> list[CheckMessage]:
    value = bearer_settings.REGISTRATION_SCOPES
    if value is not None and not (
        isinstance(value, (list, tuple)) and all(isinstance(scope, str) for scope in value)
    ):
        return [
            Error(
                "BEARER_AUTH['REGISTRATION_SCOPES'] must be None or a list of scope names.",
                hint='Set BEARER_AUTH["REGISTRATION_SCOPES"] = None (OAUTH2_PROVIDER'
                '["DEFAULT_SCOPES"]) or a list such as ["notes:read", "notes:write"].',
                id="bearer_auth.E018",
            )
        ]
    from bearer_auth.oauth.client_registration import CLOSED, registrable_scopes

    defined = set(oauth2_settings.SCOPES)
    unknown = sorted(set(value or ()) - defined)
    if unknown:
        return [
            Error(
                f"BEARER_AUTH['REGISTRATION_SCOPES'] names scopes the server does not define: "
                f"{', '.join(unknown)}.",
                hint='Define them in OAUTH2_PROVIDER["SCOPES"] or remove them from '
                'BEARER_AUTH["REGISTRATION_SCOPES"].',
                id="bearer_auth.E018",
            )
        ]
    if policy != CLOSED and not registrable_scopes():
        return [
            Error(
                "Client registration is on but no scope can be registered.",
                hint='List scopes in BEARER_AUTH["REGISTRATION_SCOPES"].',
                id="bearer_auth.E018",
            )
        ]
    return []


@register(Tags.security)
def check_browser_apps(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    """Cookie mode's origins and cookie, and django-cors-headers' settings for apps elsewhere."""
    messages: list[CheckMessage] = []
    # REFRESH_TOKEN_DELIVERY itself is one of the choices (bearer_auth.E021).
    delivery = bearer_settings.REFRESH_TOKEN_DELIVERY
    origins = bearer_settings.BROWSER_APP_ORIGINS
    if isinstance(origins, str) or not isinstance(origins, (list, tuple)):
        origins_problem = "is not a list"
    else:
        wrong = [origin for origin in origins if normalized_origin(origin) is None]
        origins_problem = f"has entries that are not origins: {wrong!r}" if wrong else ""
    if origins_problem:
        messages.append(
            Error(
                f"BEARER_AUTH['BROWSER_APP_ORIGINS'] {origins_problem}.",
                hint='Set BEARER_AUTH["BROWSER_APP_ORIGINS"] to a list of origins such as '
                '["https://app.example.com"]: scheme, host and port only, no path or "*".',
                id="bearer_auth.E022",
            )
        )
    messages += _check_refresh_cookie()
    if delivery != "body" and not origins_problem:
        # An app on the API's own origin needs no CORS.
        issuer_url = urlsplit(str(bearer_settings.ISSUER or ""))
        own = normalized_origin(f"{issuer_url.scheme}://{issuer_url.netloc}")
        others = [origin for origin in origins if normalized_origin(origin) != own]
        if others:
            messages += _check_cors(others)
    return messages


def _check_refresh_cookie() -> list[CheckMessage]:
    name = bearer_settings.REFRESH_COOKIE_NAME
    path = bearer_settings.REFRESH_COOKIE_PATH
    messages: list[CheckMessage] = []
    if (
        not isinstance(name, str)
        or not name
        or not set(name) <= _COOKIE_NAME_CHARACTERS
        or name.lower().startswith(("__host-", "__secure-"))
    ):
        messages.append(
            Error(
                f"BEARER_AUTH['REFRESH_COOKIE_NAME'] is {name!r}, not a cookie name.",
                hint='Set BEARER_AUTH["REFRESH_COOKIE_NAME"] to letters, digits, "-" and "_" '
                'only, such as "bearer_refresh"; bearer_auth adds the __Host- or __Secure- '
                "prefix itself.",
                id="bearer_auth.E023",
            )
        )
    if not isinstance(path, str) or not path.startswith("/") or not set(path) <= _PATH_CHARACTERS:
        messages.append(
            Error(
                f"BEARER_AUTH['REFRESH_COOKIE_PATH'] is {path!r}, not a cookie path.",
                hint='Set BEARER_AUTH["REFRESH_COOKIE_PATH"] = "/" (the __Host- prefix) or a '
                'path covering the refresh and revocation endpoints, such as "/auth/token/".',
                id="bearer_auth.E023",
            )
        )
    return messages


def _check_cors(origins: Sequence[str]) -> list[CheckMessage]:
    """django-cors-headers must let each browser app on another origin send cookie-mode requests.

    Reads django-cors-headers' documented settings; same-origin apps need none of it.
    """
    hint = (
        'Install django-cors-headers ("corsheaders" in INSTALLED_APPS, its CorsMiddleware '
        "high in MIDDLEWARE) and set CORS_ALLOWED_ORIGINS to these origins, "
        "CORS_ALLOW_CREDENTIALS = True and CORS_ALLOW_HEADERS = "
        '(*corsheaders.defaults.default_headers, "refresh-token-delivery") '
        "(docs/browser-apps.md)."
    )
    if not apps.is_installed("corsheaders"):
        return [
            Warning(
                "BEARER_AUTH['BROWSER_APP_ORIGINS'] names other origins, but "
                "django-cors-headers is not installed: browsers will refuse their requests.",
                hint=hint,
                id="bearer_auth.W010",
            )
        ]
    from corsheaders.defaults import default_headers

    problems: list[str] = []
    if getattr(settings, "CORS_ALLOW_ALL_ORIGINS", False) and getattr(
        settings, "CORS_ALLOW_CREDENTIALS", False
    ):
        problems.append(
            "CORS_ALLOW_ALL_ORIGINS with CORS_ALLOW_CREDENTIALS lets every site make "
            "credentialed requests"
        )
    allowed = {
        normalized_origin(origin) for origin in getattr(settings, "CORS_ALLOWED_ORIGINS", ())
    }
    patterns = getattr(settings, "CORS_ALLOWED_ORIGIN_REGEXES", ())
    missing = [
        origin
        for origin in origins
        if normalized_origin(origin) not in allowed
        and not any(re.match(pattern, str(normalized_origin(origin))) for pattern in patterns)
    ]
    if missing:
        problems.append(f"CORS_ALLOWED_ORIGINS does not allow {missing!r}")
    if not getattr(settings, "CORS_ALLOW_CREDENTIALS", False):
        problems.append("CORS_ALLOW_CREDENTIALS is not True")
    allowed_headers = getattr(settings, "CORS_ALLOW_HEADERS", default_headers)
    headers = {header.lower() for header in allowed_headers}
    if "refresh-token-delivery" not in headers:
        problems.append("CORS_ALLOW_HEADERS does not list refresh-token-delivery")
    return [
        Warning(
            f"Cookie mode across origins: {problem}.",
            hint=hint,
            id="bearer_auth.W010",
        )
        for problem in problems
    ]


# RFC 6265 §4.1.1: a cookie name is an RFC 2616 token; bearer_auth takes a safe subset.
_COOKIE_NAME_CHARACTERS: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."
)
_PATH_CHARACTERS: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~/%"
)


@register(Tags.security, Tags.caches)
def check_dpop(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    """DPoP's algorithms, nonce places, replay cache and the middleware that sends nonces."""
    from bearer_auth import dpop

    messages: list[CheckMessage] = []
    algorithms = bearer_settings.DPOP_SIGNING_ALGORITHMS
    if not isinstance(algorithms, (list, tuple)) or not all(
        name in dpop.KEY_TYPES for name in algorithms
    ):
        messages.append(
            Error(
                f"BEARER_AUTH['DPOP_SIGNING_ALGORITHMS'] is {algorithms!r}: it must be a list of "
                "asymmetric JWS algorithms.",
                hint='Set BEARER_AUTH["DPOP_SIGNING_ALGORITHMS"] to a list of: '
                f"{', '.join(dpop.KEY_TYPES)} (or [] to turn DPoP off).",
                id="bearer_auth.E024",
            )
        )
    places = bearer_settings.DPOP_NONCE_REQUIRED
    if not isinstance(places, (list, tuple)) or not set(places) <= dpop.NONCE_PLACES:
        messages.append(
            Error(
                f"BEARER_AUTH['DPOP_NONCE_REQUIRED'] is {places!r}.",
                hint='Set BEARER_AUTH["DPOP_NONCE_REQUIRED"] to a list of "token" and/or '
                '"resource", or [].',
                id="bearer_auth.E025",
            )
        )
    alias = bearer_settings.DPOP_REPLAY_CACHE
    if alias not in getattr(settings, "CACHES", {}):
        messages.append(
            Error(
                f"BEARER_AUTH['DPOP_REPLAY_CACHE'] is {alias!r}, which is not in CACHES.",
                hint='Set BEARER_AUTH["DPOP_REPLAY_CACHE"] to an alias of CACHES (e.g. "default").',
                id="bearer_auth.E026",
            )
        )
    installed = [_dotted(item) for item in getattr(settings, "MIDDLEWARE", None) or ()]
    if (
        dpop.enabled()
        and isinstance(places, (list, tuple))
        and "resource" in places
        and _HEADERS_MIDDLEWARE not in installed
    ):
        messages.append(
            Error(
                "DPoP nonces are required at the resource server, but MIDDLEWARE lacks "
                f"{_HEADERS_MIDDLEWARE}, which sends them (DPoP-Nonce): every DPoP request "
                "would be refused.",
                hint=f'Add "{_HEADERS_MIDDLEWARE}" to MIDDLEWARE, or remove "resource" from '
                'BEARER_AUTH["DPOP_NONCE_REQUIRED"].',
                id="bearer_auth.E027",
            )
        )
    return messages


@register(Tags.security, Tags.caches, deploy=True)
def check_dpop_replay_cache(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    """A proof's ``jti`` must be remembered where every process sees it."""
    from bearer_auth import dpop

    alias = bearer_settings.DPOP_REPLAY_CACHE
    if not dpop.enabled() or alias not in settings.CACHES or not _per_process_cache(alias):
        return []
    return [
        Warning(
            f"DPoP proofs are remembered in the cache {alias!r}, which is not shared "
            "between processes: a proof replayed to another worker is accepted (with "
            "DummyCache, every replay is).",
            hint='Point BEARER_AUTH["DPOP_REPLAY_CACHE"] at a cache every process shares '
            "(Redis, Memcached or Django's database cache).",
            id="bearer_auth.W011",
        )
    ]


def _per_process_cache(alias: str) -> bool:
    """Whether the cache ``alias`` lives in each process (locmem) or nowhere (dummy)."""
    backend = settings.CACHES.get(alias, {}).get("BACKEND", "")
    try:
        backend_class = import_string(backend)
        per_process = tuple(import_string(path) for path in _PER_PROCESS_CACHES)
    except ImportError:  # Django's own cache check reports a wrong BACKEND
        return False
    return isinstance(backend_class, type) and issubclass(backend_class, per_process)


_AUTHENTICATION_MIDDLEWARE: Final = "django.contrib.auth.middleware.AuthenticationMiddleware"


@register(Tags.security)
def check_token_middleware(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    """``BearerTokenMiddleware`` must come after ``AuthenticationMiddleware``.

    Before it (or without it), the session's user would replace the token's
    as ``request.user`` while ``request.auth`` still holds the token.
    """
    entries = [str(item) for item in getattr(settings, "MIDDLEWARE", None) or ()]
    token_at = _first_subclass(entries, BearerTokenMiddleware)
    if token_at is None:
        return []
    session_at = _first_subclass(entries, import_string(_AUTHENTICATION_MIDDLEWARE))
    if session_at is not None and session_at < token_at:
        return []
    return [
        Error(
            f"{entries[token_at]} is in MIDDLEWARE "
            + (
                "before AuthenticationMiddleware, which would replace the token's user with "
                "the session's"
                if session_at is not None
                else "without AuthenticationMiddleware"
            )
            + ": request.user must be the token's user when request.auth is its token.",
            hint=f'Put "{entries[token_at]}" after "{_AUTHENTICATION_MIDDLEWARE}" in MIDDLEWARE.',
            id="bearer_auth.E028",
        )
    ]


def _first_subclass(entries: Sequence[str], base: type) -> int | None:
    """The index of the first middleware in ``entries`` that is ``base`` or a subclass of it."""
    for index, entry in enumerate(entries):
        try:
            middleware = import_string(entry)
        except ImportError:
            continue  # Django reports a middleware it cannot import itself
        if isinstance(middleware, type) and issubclass(middleware, base):
            return index
    return None
