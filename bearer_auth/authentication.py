"""``BearerTokenAuthentication``: RFC 6750 bearer tokens and RFC 9449 DPoP tokens for DRF views.

A thin adapter: every rule lives in the framework-neutral
:class:`bearer_auth.core.BearerTokenAuthenticator` (the same check serves
Django Ninja, plain Django views and MCP servers); this class adds DRF's
``authenticate_header``, the bare challenge DRF sends with a 401 when no
credentials came. DRF renders the core's refusals (``APIException``
subclasses) itself. The names this module always exported stay importable
from it.
"""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from bearer_auth.core import (
    BearerToken,
    BearerTokenAuthenticator,
    ClaimsUser,
    OpaqueBearerToken,
    accepts_opaque_tokens,
    adatabase_user,
    authenticate_token,
    checked_user,
    claims_user_row,
    database_user,
    is_b64token,
    refuse_bound_token,
    uses_dpop_scheme,
)

__all__ = [
    "BearerToken",
    "BearerTokenAuthentication",
    "ClaimsUser",
    "OpaqueBearerToken",
    "accepts_opaque_tokens",
    "adatabase_user",
    "authenticate_token",
    "checked_user",
    "claims_user_row",
    "database_user",
    "is_b64token",
    "refuse_bound_token",
    "uses_dpop_scheme",
]


class BearerTokenAuthentication(BearerTokenAuthenticator, BaseAuthentication):
    """DRF's authentication class over :class:`~bearer_auth.core.BearerTokenAuthenticator`.

    ``authenticate`` (and every step a subclass may override, ``docs/api.md``,
    "Extending the authentication class") is the core's; DRF instantiates
    the class without arguments, so :meth:`for_resource` and a ``verify_mode``
    class attribute configure it.
    """

    def authenticate_header(self, request: Request) -> str:
        """The bare challenge: ``Bearer``, and ``DPoP`` with its ``algs`` while DPoP is on."""
        return self.bare_challenge()
