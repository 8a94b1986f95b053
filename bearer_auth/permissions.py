"""Scope permissions for views authenticated by ``BearerTokenAuthentication``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from bearer_auth.authentication import BearerTokenAuthentication, uses_dpop_scheme
from bearer_auth.exceptions import InsufficientScope


class HasScope(BasePermission):
    """Require every scope in the view's ``required_scopes``.

    Without a token the request is unauthenticated (401 with a bare
    challenge); a token lacking a scope gets 403 ``insufficient_scope`` with
    the needed scopes in the challenge (RFC 6750 §3.1).
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if token is None or not hasattr(token, "scopes"):
            return False
        required = self.get_required_scopes(request, view)
        if not set(required) <= token.scopes:
            refusal = InsufficientScope(scope=" ".join(required))
            authenticator = request.successful_authenticator
            if isinstance(authenticator, BearerTokenAuthentication):
                # The challenge names the resource's metadata (RFC 9728 §5.1),
                # in the scheme the request used (RFC 9449 §7.1 for DPoP).
                refusal.auth_header = (
                    authenticator.dpop_challenge(refusal)
                    if uses_dpop_scheme(request)
                    else refusal.challenge_header(authenticator.resource_metadata_url())
                )
            raise refusal
        return True

    def get_required_scopes(self, request: Request, view: Any) -> Sequence[str]:
        return tuple(getattr(view, "required_scopes", ()))


class HasReadWriteScope(HasScope):
    """Require ``read_scope`` for safe methods and ``write_scope`` otherwise.

    The scopes default to ``"read"`` and ``"write"``; set them on the view
    (``read_scope = "notes:read"``). ``required_scopes`` still apply on top.
    """

    def get_required_scopes(self, request: Request, view: Any) -> Sequence[str]:
        if request.method in SAFE_METHODS:
            method_scope = getattr(view, "read_scope", "read")
        else:
            method_scope = getattr(view, "write_scope", "write")
        return (method_scope, *super().get_required_scopes(request, view))
