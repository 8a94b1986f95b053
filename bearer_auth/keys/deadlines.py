"""How long a retired signing key keeps verifying, and so when it may be pruned."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Max
from oauth2_provider.settings import oauth2_settings

from bearer_auth.models import ApplicationPolicy
from bearer_auth.settings import bearer_settings


def verification_deadline(retired_at: datetime) -> datetime:
    """Return when a key retired at ``retired_at`` stops verifying.

    The last token it signed was issued up to ``KEY_CACHE_SECONDS`` after
    ``retired_at`` (other processes learn of the rotation that late) and lives
    for the longest token lifetime (access tokens, ID tokens), plus ``LEEWAY``.
    """
    return retired_at + retirement_grace()


def retirement_grace() -> timedelta:
    """Return how long after its retirement a key keeps verifying (one query)."""
    leeway: timedelta = bearer_settings.LEEWAY
    cache_seconds = timedelta(seconds=float(bearer_settings.KEY_CACHE_SECONDS))
    return _longest_token_lifetime() + leeway + cache_seconds


def _longest_token_lifetime() -> timedelta:
    """Return the longest lifetime of a token the keys sign.

    The longest access-token lifetime any application may be given, and while
    OpenID Connect is on the ID tokens' (DOT's ``ID_TOKEN_EXPIRE_SECONDS``;
    ``oauth2_provider_settings`` makes it the access-token lifetime), so
    relying parties verify an ID token from the JWKS until it expires.
    """
    lifetime: timedelta = bearer_settings.ACCESS_TOKEN_LIFETIME
    if oauth2_settings.OIDC_ENABLED:
        id_tokens = timedelta(seconds=float(oauth2_settings.ID_TOKEN_EXPIRE_SECONDS))
        lifetime = max(lifetime, id_tokens)
    longest: timedelta | None = ApplicationPolicy.objects.aggregate(
        longest=Max("access_token_lifetime")
    )["longest"]
    return max(lifetime, longest) if longest is not None else lifetime
