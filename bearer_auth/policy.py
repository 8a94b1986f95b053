"""Client policy: the scopes a client may ask for, its token lifetime, its redirect URIs.

The values live in :class:`~bearer_auth.models.ApplicationPolicy`, a row beside
DOT's ``Application`` (DOT's model is not swapped). Both the OAuth endpoints
(through :class:`bearer_auth.oauth.OAuth2Validator`) and first-party sign-in
read them through the two functions here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import AbstractApplication
from oauth2_provider.scopes import get_scopes_backend
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.validators import AllowedURIValidator

from bearer_auth.models import ApplicationPolicy
from bearer_auth.settings import bearer_settings

_DCR = AbstractApplication.RegistrationSource.DCR


def application_policy(application: Any) -> ApplicationPolicy | None:
    """Return the policy row of ``application``, or ``None`` when it has none."""
    try:
        return application.bearer_policy  # type: ignore[no-any-return]
    except ObjectDoesNotExist:
        return None


def client_refusal(application: Any) -> str | None:
    """Why ``application`` may not be used at ``/o/authorize/`` and ``/o/token/``, or ``None``.

    Only a dynamically registered client (one with a
    :class:`~bearer_auth.models.ClientRegistration`) can be refused: while
    an administrator has not approved it (``REGISTRATION_REQUIRES_APPROVAL``)
    or once one disabled it. One query (the registration row), for clients
    whose ``registration_source`` is DCR only: no other has such a row.
    """
    if getattr(application, "registration_source", None) != _DCR:
        return None
    try:
        registration = application.bearer_registration
    except ObjectDoesNotExist:
        return None
    if registration.disabled is not None:
        return str(_("This client has been disabled by an administrator."))
    if registration.approved is None:
        return str(_("This client is waiting for an administrator's approval."))
    return None


def allowed_scopes(application: Any) -> frozenset[str]:
    """Return the scopes ``application`` may be granted.

    Every scope ``OAUTH2_PROVIDER["SCOPES"]`` defines (DOT's own rule), so an
    application made with DOT's tools (``createapplication``, DOT's admin, a
    database carried over from plain DOT) works without a policy row. Two
    opt-in restrictions narrow it: the policy's space-separated
    ``allowed_scopes`` when not empty, and, for the first-party application,
    ``BEARER_AUTH["FIRST_PARTY_SCOPES"]`` when not ``None``.
    """
    scopes = frozenset(get_scopes_backend().get_available_scopes(application=application))
    policy = application_policy(application)
    if policy is not None and policy.allowed_scopes.split():
        scopes &= frozenset(policy.allowed_scopes.split())
    if _is_first_party(application) and bearer_settings.FIRST_PARTY_SCOPES is not None:
        scopes &= frozenset(bearer_settings.FIRST_PARTY_SCOPES)
    return scopes


def default_scopes(application: Any) -> frozenset[str]:
    """Return the scopes granted when ``application`` asks for none (RFC 6749 §3.3).

    ``BEARER_AUTH["DEFAULT_SCOPES"]`` for the first-party application,
    ``OAUTH2_PROVIDER["DEFAULT_SCOPES"]`` for every other one, limited to
    what the application is allowed. May be empty: a request without
    ``scope`` is then refused with ``invalid_scope``.
    """
    if _is_first_party(application):
        defaults = frozenset(bearer_settings.DEFAULT_SCOPES)
    else:
        defaults = frozenset(get_scopes_backend().get_default_scopes(application=application))
    return defaults & allowed_scopes(application)


def _is_first_party(application: Any) -> bool:
    return bool(application.client_id == bearer_settings.FIRST_PARTY_CLIENT_ID)


def access_token_lifetime(application: Any) -> timedelta:
    """Return the lifetime of access tokens issued to ``application``.

    The policy's ``access_token_lifetime`` when set, otherwise
    ``BEARER_AUTH["ACCESS_TOKEN_LIFETIME"]``.
    """
    policy = application_policy(application) if application is not None else None
    if policy is not None and policy.access_token_lifetime is not None:
        return policy.access_token_lifetime
    return bearer_settings.ACCESS_TOKEN_LIFETIME  # type: ignore[no-any-return]


def requires_dpop(application: Any) -> bool:
    """Whether ``application``'s token requests must carry a DPoP proof (RFC 9449 §5.2).

    Its policy's ``dpop_bound_access_tokens``; no policy row: not required.
    """
    policy = application_policy(application) if application is not None else None
    return bool(policy is not None and policy.dpop_bound_access_tokens)


def is_loopback_redirect_uri(uri: str) -> bool:
    """Tell whether ``uri`` is an RFC 8252 §7.3 loopback redirect (``http``, any port).

    The same hosts DOT's redirect matching treats as loopback: ``127.0.0.1``,
    ``[::1]``, and ``localhost`` when ``ALLOW_LOCALHOST_LOOPBACK`` is on.
    """
    try:
        parsed = urlsplit(uri)
        hostname = parsed.hostname
    except ValueError:
        return False
    return parsed.scheme == "http" and (
        hostname in ("127.0.0.1", "::1")
        or (bool(oauth2_settings.ALLOW_LOCALHOST_LOOPBACK) and hostname == "localhost")
    )


def check_redirect_uri(uri: str) -> None:
    """Validate one redirect URI to register; raise ``ValidationError`` if refused.

    DOT's own URI validator (absolute, no fragment, no wildcard host) with the
    ``ALLOWED_REDIRECT_URI_SCHEMES`` (``https``), plus ``http`` for loopback
    URIs only (RFC 9700 §2.1, RFC 8252 §7.3).
    """
    schemes = list(oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES)
    if is_loopback_redirect_uri(uri):
        schemes.append("http")
    validator = AllowedURIValidator(
        schemes,
        name="redirect uri",
        allow_path=True,
        allow_query=True,
        allow_hostname_wildcard=False,
    )
    validator(uri)
