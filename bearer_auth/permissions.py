"""Scope permissions for views authenticated by ``BearerTokenAuthentication``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from bearer_auth.core import BearerTokenAuthenticator
from bearer_auth.exceptions import InsufficientScope


class HasScope(BasePermission):
    """Require every scope in the view's ``required_scopes``.

    Without a token the request is unauthenticated (401 with a bare
    challenge); a token lacking a scope gets 403 ``insufficient_scope`` with
    the needed scopes in the challenge (RFC 6750 §3.1), naming the
    authenticating class's resource metadata and in the scheme the request
    used (:meth:`~bearer_auth.core.BearerTokenAuthenticator.insufficient_scope`).
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if token is None or not hasattr(token, "scopes"):
            return False
        required = self.get_required_scopes(request, view)
        if not set(required) <= token.scopes:
            authenticator = request.successful_authenticator
            if isinstance(authenticator, BearerTokenAuthenticator):
                raise authenticator.insufficient_scope(request, required)
            raise InsufficientScope(scope=" ".join(required))
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
