"""A project's own claims in access tokens: ``BEARER_AUTH["EXTRA_CLAIMS_HOOK"]``.

The hook is a function, named by its dotted path (or given itself), that
:func:`bearer_auth.jwt.mint_access_token` calls for every access token it
signs, first party and OAuth alike::

    def extra_claims(*, user, client_id, scopes, request, **kwargs):
        return {"roles": [...]}

``user`` is ``None`` for a client-credentials token, ``scopes`` the granted
scopes (a tuple), ``request`` oauthlib's request of the token endpoint
(``None`` when a token is minted outside one, e.g. ``manage.py
bearer_token``). What it returns is added to the token's claims. It may not
set a claim bearer_auth sets or reserves (:data:`RESERVED_CLAIMS`), and every
value must be JSON as it is: otherwise :class:`ImproperlyConfigured` is
raised and no token is issued, never a token with a claim silently replaced
or changed. ``bearer_auth.E013`` checks the setting.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from bearer_auth.settings import bearer_settings

#: Claims the hook may not set: bearer_auth sets them, or may in a later version.
RESERVED_CLAIMS: Final = frozenset(
    {
        # RFC 7519 §4.1, the registered claims.
        "iss",
        "sub",
        "aud",
        "exp",
        "nbf",
        "iat",
        "jti",
        # RFC 9068 §2.2: the client, the scope, and how the user authenticated.
        "client_id",
        "scope",
        "auth_time",
        "acr",
        "amr",
        # RFC 9449 §6.1 / RFC 7800: the DPoP key a token is bound to.
        "cnf",
        # bearer_auth's password fingerprint (jwt.PASSWORD_CLAIM).
        "pfp",
        # Planned: OpenID Connect's authorized party and session, token
        # exchange (RFC 8693), and "typ".
        "azp",
        "sid",
        "act",
        "may_act",
        "typ",
    }
)
#: The keyword arguments the hook is called with (it should accept ``**kwargs`` too).
HOOK_ARGUMENTS: Final = ("user", "client_id", "scopes", "request")
_SETTING: Final = "BEARER_AUTH['EXTRA_CLAIMS_HOOK']"


def claims_hook() -> Callable[..., Any] | None:
    """Return the configured hook, imported from its dotted path; ``None`` without one.

    Raises ``ImportError`` when the path cannot be imported and
    :class:`ImproperlyConfigured` when it names something that is not callable.
    """
    value = bearer_settings.EXTRA_CLAIMS_HOOK
    if value is None:
        return None
    hook: Callable[..., Any] = value if callable(value) else import_string(str(value))
    if not callable(hook):
        raise ImproperlyConfigured(f"{_SETTING} names {type(hook).__name__}, not a function.")
    return hook


def hook_signature_error(hook: Callable[..., Any]) -> str | None:
    """Say why ``hook`` cannot be called with :data:`HOOK_ARGUMENTS`; ``None`` if it can."""
    try:
        signature = inspect.signature(hook)
    except (TypeError, ValueError):  # no signature to read (some built-ins): let it run
        return None
    try:
        signature.bind(**dict.fromkeys(HOOK_ARGUMENTS))
    except TypeError as exc:
        return str(exc)
    return None


def extra_claims(
    *, user: Any, client_id: str, scopes: tuple[str, ...], request: Any
) -> dict[str, Any]:
    """Call the hook and return its claims, checked (none without a hook).

    Raises :class:`ImproperlyConfigured` when it returns anything but a
    mapping of new claims whose values are JSON as they are.
    """
    hook = claims_hook()
    if hook is None:
        return {}
    returned = hook(user=user, client_id=client_id, scopes=scopes, request=request)
    if not isinstance(returned, Mapping):
        raise ImproperlyConfigured(
            f"{_SETTING} returned {type(returned).__name__}, not a mapping of claims "
            "(return {} to add none)."
        )
    return {name: _checked(name, value) for name, value in returned.items()}


def _checked(name: object, value: object) -> Any:
    """Return a copy of ``value`` exactly as the token will carry it, or raise."""
    if not isinstance(name, str):
        raise ImproperlyConfigured(f"{_SETTING} returned the claim name {name!r}: not a string.")
    if name in RESERVED_CLAIMS:
        raise ImproperlyConfigured(
            f"{_SETTING} returned the claim {name!r}, which bearer_auth sets or reserves "
            f"({', '.join(sorted(RESERVED_CLAIMS))}): give yours another name."
        )
    try:
        carried = json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as exc:
        raise ImproperlyConfigured(
            f"{_SETTING} returned the claim {name!r} with a value that is not JSON: {exc}"
        ) from exc
    if carried != value:  # a tuple (a list in JSON), a dict's non-string keys
        raise ImproperlyConfigured(
            f"{_SETTING} returned the claim {name!r} with a value JSON would change: "
            "use str, int, float, bool, None, lists and dicts with string keys."
        )
    return carried
