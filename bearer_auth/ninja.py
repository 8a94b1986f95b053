"""Django Ninja: bearer tokens for ``NinjaAPI`` operations, answered as the DRF class answers.

:class:`BearerAuth` (sync) and :class:`AsyncBearerAuth` (async) are Ninja
auth callables. Each checks the request with a
:class:`~bearer_auth.core.BearerTokenAuthenticator` and the scopes it was
given, sets ``request.user`` and returns the
:class:`~bearer_auth.authentication.BearerToken`, which Ninja puts in
``request.auth``::

    api = NinjaAPI(auth=BearerAuth())  # bearer_auth.ninja.NinjaAPI

    @api.get("/notes", auth=BearerAuth(["notes:read"]))
    def notes(request): ...

A request without an ``Authorization: Bearer`` (or ``DPoP``) header is left
to the operation's other auth callables (``auth=[BearerAuth(), django_auth]``).
Refusals are the RFC 6750 (and RFC 9449) answers of
:class:`~bearer_auth.authentication.BearerTokenAuthentication`, byte for
byte: :class:`NinjaAPI` registers the handlers that render them, and
:func:`add_error_handlers` does it for a project's own ``NinjaAPI``.
:class:`NinjaAPI` also writes each operation's scopes into its OpenAPI
security requirement, under one scheme name for both classes
(:attr:`BaseBearerAuth.security_scheme_name`).

This module needs django-ninja (the ``ninja`` extra).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Final

import ninja
from django.http import HttpRequest, HttpResponse
from ninja.errors import AuthenticationError
from ninja.openapi.schema import OpenAPISchema
from ninja.security.http import HttpAuthBase
from rest_framework.exceptions import APIException

from bearer_auth import core
from bearer_auth.compat import ninja_openapi_schema
from bearer_auth.core import BearerToken

__all__ = ["AsyncBearerAuth", "BaseBearerAuth", "BearerAuth", "NinjaAPI", "add_error_handlers"]

# The authenticator whose bare challenge answers an unauthenticated request:
# the first of this request's bearer auth callables that found no token.
_CHALLENGER: Final = "bearer_auth.ninja.challenger"


class BaseBearerAuth(HttpAuthBase):
    """What :class:`BearerAuth` and :class:`AsyncBearerAuth` share: arguments, scopes, OpenAPI.

    ``scopes``: every one of them must be granted to the token (403
    ``insufficient_scope`` otherwise, RFC 6750 §3.1). ``resource``: the
    RFC 8707 identifier of the API (default: the default resource).
    ``authentication_class``: a :class:`~bearer_auth.core.BearerTokenAuthenticator`
    subclass, to override its steps or its ``verify_mode``.
    """

    openapi_scheme: str = "bearer"
    openapi_bearerFormat: str = "JWT"
    #: The name of this scheme in the OpenAPI document's ``securitySchemes``:
    #: one name for the sync and the async class, so a generated client sees
    #: one credential. A subclass that expects other tokens sets its own.
    security_scheme_name: ClassVar[str] = "BearerAuth"
    #: Whether ``__call__`` is a coroutine function (:class:`AsyncBearerAuth`).
    asynchronous: ClassVar[bool] = False

    def __init__(
        self,
        scopes: Iterable[str] = (),
        *,
        resource: str | None = None,
        authentication_class: type[core.BearerTokenAuthenticator] = (core.BearerTokenAuthenticator),
    ) -> None:
        if isinstance(scopes, str):
            # A string is an iterable of its letters: a scope "notes:read"
            # would become ten one-letter scopes no token carries.
            raise TypeError(f"scopes must be a list of scopes, not the string {scopes!r}.")
        self.scopes: tuple[str, ...] = tuple(scopes)
        self.authenticator = authentication_class(resource=resource)
        super().__init__()
        # Ninja awaits a callable that says so (its ``is_async``).
        self.is_async = self.asynchronous

    def accept(
        self, request: HttpRequest, result: tuple[Any, BearerToken] | None
    ) -> BearerToken | None:
        """Finish :meth:`__call__` with the authenticator's ``result``.

        ``None`` (no bearer header): remember this authenticator's bare
        challenge for the 401, unless an earlier one of this request's
        callables did, and let the next callable try. A token: check the
        scopes, set ``request.user``, return the token.
        """
        if result is None:
            request.META.setdefault(_CHALLENGER, self.authenticator)
            return None
        user, bearer = result
        if self.scopes:
            self.authenticator.check_scopes(request, bearer, self.scopes)
        request.user = user
        return bearer


class BearerAuth(BaseBearerAuth):
    """Bearer (and DPoP) tokens for sync operations; works for async ones too, in a thread."""

    def __call__(self, request: HttpRequest) -> BearerToken | None:
        return self.accept(request, self.authenticator.authenticate(request))


class AsyncBearerAuth(BaseBearerAuth):
    """Bearer (and DPoP) tokens for async operations, checked without blocking the event loop.

    A stateless JWT is checked on the loop; strict mode's query, an opaque
    token's and a DPoP proof's replay check run in one thread hop
    (:meth:`~bearer_auth.core.BearerTokenAuthenticator.aauthenticate`).
    """

    asynchronous = True

    async def __call__(self, request: HttpRequest) -> BearerToken | None:
        return self.accept(request, await self.authenticator.aauthenticate(request))


def add_error_handlers(api: ninja.NinjaAPI) -> None:
    """Make ``api`` answer bearer_auth's refusals as a DRF view does.

    - any DRF ``APIException`` (bearer_auth's refusals, and DRF's
      ``PermissionDenied`` from :func:`~bearer_auth.authentication.database_user`):
      :func:`bearer_auth.core.refusal_response`, the DRF answer's status,
      ``WWW-Authenticate``, ``Retry-After`` and body;
    - Ninja's ``AuthenticationError`` (no auth callable accepted the request)
      where a :class:`BaseBearerAuth` found no token: 401 with its bare
      challenge and DRF's body. Elsewhere Ninja's own answer,
      ``{"detail": "Unauthorized"}``.

    A handler registered after this call for one of these classes replaces it.
    """

    # Ninja types a handler's exception as ``exc_class | type[exc_class]``;
    # it always calls it with the instance raised.
    def refusal(request: HttpRequest, exc: Any) -> HttpResponse:
        return core.refusal_response(exc)

    def unauthenticated(request: HttpRequest, exc: Any) -> HttpResponse:
        authenticator = request.META.get(_CHALLENGER)
        if not isinstance(authenticator, core.BearerTokenAuthenticator):
            # Not our operation: Ninja's default answer to an HttpError.
            return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)
        return core.refusal_response(core.not_authenticated(authenticator))

    api.add_exception_handler(APIException, refusal)
    api.add_exception_handler(AuthenticationError, unauthenticated)


class NinjaAPI(ninja.NinjaAPI):
    """Ninja's ``NinjaAPI`` with bearer_auth's answers and the scopes in its OpenAPI document.

    It calls :func:`add_error_handlers`, and :meth:`get_openapi_schema`
    names each operation's :class:`BaseBearerAuth` scopes in its security
    requirement (``{"BearerAuth": ["notes:read"]}``; Ninja writes ``[]``).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        add_error_handlers(self)

    def get_openapi_schema(
        self,
        *,
        path_prefix: str | None = None,
        path_params: dict[str, Any] | None = None,
    ) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return ninja_openapi_schema(self, path_prefix, security_requirement)


def security_requirement(auth: Any) -> tuple[str, list[str]] | None:
    """The OpenAPI security requirement of the auth callable ``auth``: ``(scheme name, scopes)``.

    ``None`` for a callable that is not a :class:`BaseBearerAuth` (Ninja's own naming).
    """
    if not isinstance(auth, BaseBearerAuth):
        return None
    return auth.security_scheme_name, list(auth.scopes)
