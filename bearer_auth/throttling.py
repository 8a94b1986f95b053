"""Brute-force throttles for the token endpoints, counted in Django's cache.

``SIGN_IN_THROTTLE_RATES`` limits sign-in attempts per account identifier
(the normalized email, counted for unknown accounts too) and per client IP;
``REFRESH_THROTTLE_RATE`` limits refreshes per client IP. Counters live in
Django's default cache (Redis in production, shared by every process) and are
never reset by a successful sign-in.

The client IP is ``REMOTE_ADDR``. Behind a reverse proxy set
``BEARER_AUTH["CLIENT_IP_HEADER"]`` to the ``request.META`` key the proxy
writes (e.g. ``"HTTP_X_FORWARDED_FOR"``); its right-most address, the one the
trusted proxy itself added, is used. Never set it without such a proxy: a
client could then pick its own IP.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from bearer_auth.exceptions import ServiceUnavailable, SlowDown
from bearer_auth.settings import bearer_settings

logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest | Request) -> str | None:
    """Return the client's IP address: ``REMOTE_ADDR`` or the trusted proxy header."""
    return client_ip_from_meta(request.META)


def client_ip_from_meta(meta: Mapping[str, Any]) -> str | None:
    """:func:`client_ip` from WSGI ``META`` itself (or the copy oauthlib's request holds)."""
    header = bearer_settings.CLIENT_IP_HEADER
    if header:
        forwarded = str(meta.get(header, "")).split(",")[-1].strip()
        if _is_ip(forwarded):
            return forwarded
    remote = str(meta.get("REMOTE_ADDR", "")).strip()
    return remote if _is_ip(remote) else None


def normalize_identifier(identifier: str) -> str:
    """Return the account identifier the way the account counter keys it.

    Case and surrounding white space are ignored, so ``Alice@Example.com``
    and ``alice@example.com`` share one budget whether or not the account
    exists.
    """
    return identifier.strip().lower()


class SignInIPThrottle(SimpleRateThrottle):
    """Sign-in attempts per client IP (``SIGN_IN_THROTTLE_RATES["ip"]``)."""

    scope = "bearer_auth_sign_in_ip"
    rate_key: ClassVar[str] = "ip"

    def get_rate(self) -> str | None:
        rate: str | None = bearer_settings.SIGN_IN_THROTTLE_RATES.get(self.rate_key)
        return rate

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "unknown"}


class SignInAccountThrottle(SignInIPThrottle):
    """Sign-in attempts per account identifier (``SIGN_IN_THROTTLE_RATES["account"]``)."""

    scope = "bearer_auth_sign_in_account"
    rate_key = "account"

    def __init__(self, identifier: str) -> None:
        super().__init__()
        self.identifier = normalize_identifier(identifier)

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        # Hashed: keeps the address out of the cache and the key a fixed size.
        ident = hashlib.sha256(self.identifier.encode("utf-8")).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


class RefreshThrottle(SimpleRateThrottle):
    """Refreshes per client IP (``REFRESH_THROTTLE_RATE``).

    A refresh token is 30 random characters, not guessable, so this limit is
    about load: if the cache is down, refreshes are let through (and logged).
    """

    scope = "bearer_auth_refresh"

    def get_rate(self) -> str | None:
        rate: str | None = bearer_settings.REFRESH_THROTTLE_RATE
        return rate

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "unknown"}

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception:
            # Any cache backend error (Redis, memcached, database cache).
            logger.warning("Refresh throttle skipped: the cache is unavailable", exc_info=True)
            return True


def check_sign_in(request: Request, view: APIView, *, identifier: str) -> None:
    """Count one sign-in attempt against the IP and the account budgets.

    Call it before any password hashing. Raises :class:`SlowDown` (429 with
    ``Retry-After``) when either budget is spent, and
    :class:`ServiceUnavailable` when the cache cannot be reached: without
    counters there is no guessing limit, so sign-in fails closed.
    """
    throttles: list[SimpleRateThrottle] = [SignInIPThrottle(), SignInAccountThrottle(identifier)]
    waits: list[float] = []
    try:
        for throttle in throttles:
            if not throttle.allow_request(request, view):
                waits.append(throttle.wait() or 1)
    except Exception as exc:
        # Any cache backend error (Redis, memcached, database cache).
        logger.error("Sign-in refused: the throttle cache is unavailable", exc_info=True)
        raise ServiceUnavailable from exc
    if waits:
        raise SlowDown(wait=max(waits))


def _is_ip(value: Any) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
