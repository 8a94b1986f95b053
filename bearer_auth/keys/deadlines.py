"""How long a retired signing key keeps verifying, and so when it may be pruned."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Max

from bearer_auth.models import ApplicationPolicy
from bearer_auth.settings import bearer_settings


def verification_deadline(retired_at: datetime) -> datetime:
    """Return when a key retired at ``retired_at`` stops verifying.

    The last token it signed was issued up to ``KEY_CACHE_SECONDS`` after
    ``retired_at`` (other processes learn of the rotation that late) and lives
    for the longest access-token lifetime, plus ``LEEWAY``.
    """
    return retired_at + retirement_grace()


def retirement_grace() -> timedelta:
    """Return how long after its retirement a key keeps verifying (one query)."""
    leeway: timedelta = bearer_settings.LEEWAY
    cache_seconds = timedelta(seconds=float(bearer_settings.KEY_CACHE_SECONDS))
    return _longest_token_lifetime() + leeway + cache_seconds


def _longest_token_lifetime() -> timedelta:
    """Return the longest access-token lifetime any application may be given."""
    lifetime: timedelta = bearer_settings.ACCESS_TOKEN_LIFETIME
    longest: timedelta | None = ApplicationPolicy.objects.aggregate(
        longest=Max("access_token_lifetime")
    )["longest"]
    return max(lifetime, longest) if longest is not None else lifetime
