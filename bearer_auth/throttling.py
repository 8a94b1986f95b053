"""Brute-force throttles, counted in Django's cache (shared by every process).

Two kinds, both on DRF's :class:`~rest_framework.throttling.SimpleRateThrottle`
(its rate strings, its cache, its ``wait()``):

- **Password budgets** (:func:`authenticate_within_budget`): every password
  check (``POST /auth/token/``, the package's login forms, the admin login)
  first claims one attempt from the client IP's budget and the account's
  (``SIGN_IN_THROTTLE_RATES``), then runs ``authenticate()``; a right
  password gives the attempt back. So only failures are counted, yet
  parallel guesses cannot exceed the budget: each claims its attempt before
  any password is hashed. An attempt is one of ``N`` cache keys claimed with
  ``cache.add`` (atomic on every Django cache backend, the database cache
  included), each expiring one window after its claim: a sliding window.
- **Failure budgets** (:class:`FailureThrottle`): the token endpoints where
  what is guessed is random and long (refresh, revocation, the OAuth
  endpoints) check a budget before the request and count a failure after it.

The account budget is keyed by the identifier folded exactly as the user
lookup folds it (:func:`account_key`). The client IP is ``REMOTE_ADDR``.
Behind a reverse proxy set ``BEARER_AUTH["CLIENT_IP_HEADER"]`` to the
``request.META`` key the proxy writes (e.g. ``"HTTP_X_FORWARDED_FOR"``); its
right-most address, the one the trusted proxy itself added, is used. Never
set it without such a proxy: a client could then pick its own IP.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ClassVar

from django.contrib.auth import authenticate, get_user_model
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from bearer_auth.exceptions import ServiceUnavailable, SlowDown
from bearer_auth.settings import bearer_settings

logger = logging.getLogger(__name__)

# The confidential clients that proved their secret during the running request
# (set by watch_client_authentication(), filled by client_authenticated()).
_authenticated_clients: ContextVar[list[str] | None] = ContextVar(
    "bearer_auth_authenticated_clients", default=None
)


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


def account_key(identifier: str) -> str:
    """Return the account identifier folded exactly as the user lookup folds it.

    bearer_auth's :class:`~bearer_auth.models.UserManager` looks users up by
    ``LOWER()`` in the database (PostgreSQL folds ``İ`` to ``i``, SQLite only
    ASCII), so its :meth:`~bearer_auth.models.UserManager.fold_username`,
    run by that database, is the key. Any other user model: white space and
    case ignored (``str.lower()``), never less than an exact or
    case-insensitive lookup folds. Two spellings that reach one account
    always share its budget, whether or not the account exists.
    """
    fold = getattr(get_user_model()._default_manager, "fold_username", None)
    if callable(fold):
        return str(fold(identifier))
    return identifier.strip().lower()


class AttemptBudget(SimpleRateThrottle):
    """A budget of attempts per window, claimed up front and given back on success.

    DRF's rate and cache; the count is the number of this budget's slot keys
    present in the cache, each claimed with ``cache.add`` (atomic) and
    expiring one window after its claim.
    """

    rate_key: ClassVar[str]
    #: Slot keys per cache read while looking for a free one.
    SLOTS_PER_READ: ClassVar[int] = 32

    def __init__(self, ident: str) -> None:
        self.ident = ident
        self.claimed: str | None = None
        super().__init__()

    def get_rate(self) -> str | None:
        rate: str | None = bearer_settings.SIGN_IN_THROTTLE_RATES.get(self.rate_key)
        return rate

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.ident}

    def claim(self) -> bool:
        """Claim one attempt; ``False`` (nothing claimed) when the budget is spent.

        The slots are read in chunks of :attr:`SLOTS_PER_READ`, lowest first,
        and the first free one is claimed: a right password gives its slot
        back, so the cost follows the attempts in flight and failed in the
        window, not the rate (a budget of a million costs one read while it
        is unused).
        """
        allowed, duration = self.parse_rate(self.rate)
        if allowed is None or duration is None:
            return True
        self.key = self.get_cache_key(None, None)
        self.now = self.timer()
        claims: list[float] = []
        for start in range(0, allowed, self.SLOTS_PER_READ):
            slots = [
                f"{self.key}:{number}"
                for number in range(start, min(start + self.SLOTS_PER_READ, allowed))
            ]
            taken = self.cache.get_many(slots)
            for slot in slots:
                if slot in taken and taken[slot] <= self.now - duration:
                    # Past its window but not yet expired by the cache (clock skew).
                    self.cache.delete(slot)
                    del taken[slot]
                # add() fails when another request claimed the slot since get_many().
                if slot not in taken and self.cache.add(slot, self.now, duration):
                    self.claimed = slot
                    return True
            claims.extend(taken.values())
        # DRF's wait() reads the claims, newest first.
        self.history = sorted(claims, reverse=True)
        return False

    def give_back(self) -> None:
        """Return the claimed attempt (a right password, or a refused request)."""
        if self.claimed is not None:
            self.cache.delete(self.claimed)
            self.claimed = None


class SignInIPThrottle(AttemptBudget):
    """Password attempts per client IP (``SIGN_IN_THROTTLE_RATES["ip"]``)."""

    scope = "bearer_auth_sign_in_ip"
    rate_key = "ip"


class SignInAccountThrottle(AttemptBudget):
    """Password attempts per account (``SIGN_IN_THROTTLE_RATES["account"]``)."""

    scope = "bearer_auth_sign_in_account"
    rate_key = "account"


def claim_sign_in_attempt(
    request: HttpRequest | Request | None, identifier: str
) -> list[AttemptBudget]:
    """Claim one attempt from the IP's and the account's budgets; return the claims.

    Raises :class:`SlowDown` (429 with ``Retry-After``, nothing claimed) when
    either budget is spent, and :class:`ServiceUnavailable` when the cache
    cannot be reached: without counters there is no guessing limit, so a
    password check fails closed.
    """
    # Hashed: keeps the address out of the cache and the key a fixed size.
    account = hashlib.sha256(account_key(identifier).encode("utf-8")).hexdigest()
    budgets: list[AttemptBudget] = [
        SignInIPThrottle((client_ip(request) if request is not None else None) or "unknown"),
        SignInAccountThrottle(account),
    ]
    waits: list[float] = []
    try:
        for budget in budgets:
            if not budget.claim():
                waits.append(budget.wait() or 1)
        if waits:
            give_back(budgets)
    except Exception as exc:
        # Any cache backend error (Redis, memcached, database cache).
        logger.error("Sign-in refused: the throttle cache is unavailable", exc_info=True)
        raise ServiceUnavailable from exc
    if waits:
        raise SlowDown(wait=max(waits))
    return budgets


def give_back(budgets: list[AttemptBudget]) -> None:
    """Return claimed attempts; a cache error here is logged (the attempt stays counted)."""
    try:
        for budget in budgets:
            budget.give_back()
    except Exception:
        logger.warning("Sign-in attempt not given back: the cache is unavailable", exc_info=True)


def authenticate_within_budget(
    request: HttpRequest | Request | None, *, username: str, password: str
) -> Any | None:
    """Django's ``authenticate()`` within the sign-in budgets; the user or ``None``.

    Every password form uses it (``POST /auth/token/``,
    :class:`bearer_auth.views.login.ThrottledAuthenticationForm` and its
    admin twin): they share one budget per IP and per account. The attempt is
    claimed before any password hashing (:func:`claim_sign_in_attempt`,
    which raises :class:`SlowDown` or :class:`ServiceUnavailable`) and given
    back when ``authenticate()`` returns a user: failures alone spend it.
    """
    budgets = claim_sign_in_attempt(request, username)
    user = authenticate(request, username=username, password=password)
    if user is not None:
        give_back(budgets)
    return user


class FailureThrottle(SimpleRateThrottle):
    """DRF's cache-backed rate throttle counting failed requests only.

    :meth:`allow_request` checks without counting; the caller counts with
    :meth:`record_failure` once the answer shows a failure. With the cache
    unreachable the endpoint stays up, unthrottled, logged: what is guessed
    behind these throttles (refresh tokens, client secrets, codes) is random
    and long, unlike a password.
    """

    cache_format = "bearer_auth:failures:%(scope)s:%(ident)s"

    def __init__(self, scope: str, *, rate: str | None, ident: str) -> None:
        self.scope = scope
        self.configured_rate = rate
        self.ident = ident
        super().__init__()

    def get_rate(self) -> str | None:
        return self.configured_rate

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.ident}

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return bool(super().allow_request(request, view))
        except Exception:
            # Any cache backend error (Redis, memcached, database cache).
            logger.warning("%s throttle skipped: the cache is unavailable", self.scope)
            return True

    def throttle_success(self) -> bool:
        # Success here only means "not over the limit yet": nothing is counted.
        return True

    def record_failure(self) -> None:
        """Count one failed request (DRF's own history update); skipped without a cache."""
        _allowed, duration = self.parse_rate(self.rate)
        if duration is None:
            return
        try:
            # A fresh read: parallel failures since allow_request() are kept.
            self.key = self.get_cache_key(None, None)
            self.now = self.timer()
            self.history = [at for at in self.cache.get(self.key, []) if at > self.now - duration]
            super().throttle_success()
        except Exception:
            logger.warning("%s failure not counted: the cache is unavailable", self.scope)


def ip_ident(request: HttpRequest | Request) -> str:
    """The failure budget's key part for the request's client IP."""
    return f"ip:{client_ip(request) or 'unknown'}"


def client_ident(client_id: str) -> str:
    """The failure budget's key part for a client (hashed: any characters, fixed size)."""
    return "client:" + hashlib.sha256(client_id.encode("utf-8")).hexdigest()


@contextmanager
def watch_client_authentication() -> Iterator[list[str]]:
    """Collect the confidential clients that authenticate during the block."""
    clients: list[str] = []
    marker = _authenticated_clients.set(clients)
    try:
        yield clients
    finally:
        _authenticated_clients.reset(marker)


def client_authenticated(client_id: str) -> None:
    """Record that a confidential client proved its secret (called by the OAuth validator)."""
    clients = _authenticated_clients.get()
    if clients is not None:
        clients.append(client_id)


def _is_ip(value: Any) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
