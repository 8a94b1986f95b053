"""Bearer tokens for plain Django views: :func:`bearer_required` and :class:`BearerTokenMiddleware`.

:func:`bearer_required` protects a function view, sync or async, or a
class-based view's method through Django's ``method_decorator``. It answers
what a DRF ``APIView`` with ``BearerTokenAuthentication``, ``IsAuthenticated``
and ``HasScope`` answers, byte for byte: 401 with the bare challenge without a
token, the token's refusal (RFC 6750 §3.1, RFC 9449 §7.1 for DPoP), 403
``insufficient_scope`` for a missing scope. An async view is checked without
blocking the event loop (:meth:`BearerTokenAuthenticator.aauthenticate`).

:class:`BearerTokenMiddleware` sets ``request.user`` and ``request.auth`` from
a bearer token for every view, and refuses nothing itself: a view decides
(a refused token leaves the request anonymous, and :func:`bearer_required`
or a DRF view answers the refusal without checking the token again).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar, cast, overload

from asgiref.sync import iscoroutinefunction
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import (
    APIException,
    AuthenticationFailed,
    NotAuthenticated,
    PermissionDenied,
)

from bearer_auth.core import (
    BearerToken,
    BearerTokenAuthenticator,
    not_authenticated,
    refusal_response,
    remember,
)
from bearer_auth.exceptions import BearerAuthError
from bearer_auth.middleware import SyncAndAsyncMiddleware

__all__ = ["BearerTokenMiddleware", "bearer_required"]

_View = TypeVar("_View", bound=Callable[..., Any])
_Outcome = tuple[Any, BearerToken] | None


@overload
def bearer_required(
    view: _View,
    *,
    scopes: Iterable[str] = (),
    resource: str | None = None,
    authentication_class: type[BearerTokenAuthenticator] = BearerTokenAuthenticator,
) -> _View: ...


@overload
def bearer_required(
    view: None = None,
    *,
    scopes: Iterable[str] = (),
    resource: str | None = None,
    authentication_class: type[BearerTokenAuthenticator] = BearerTokenAuthenticator,
) -> Callable[[_View], _View]: ...


def bearer_required(
    view: _View | None = None,
    *,
    scopes: Iterable[str] = (),
    resource: str | None = None,
    authentication_class: type[BearerTokenAuthenticator] = BearerTokenAuthenticator,
) -> _View | Callable[[_View], _View]:
    """Let only requests with a valid bearer token carrying ``scopes`` reach ``view``.

    ``@bearer_required`` or ``@bearer_required(scopes=["notes:read"])`` on a
    function view, sync or async; on a class-based view,
    ``@method_decorator(bearer_required(...), name="get")`` (decorate
    ``dispatch`` for a view taking unsafe methods: only ``dispatch`` makes the
    view CSRF-exempt; an async view's ``dispatch`` is checked without blocking
    the event loop too). ``resource``: the RFC 8707 resource the view belongs
    to (default: the default resource); ``authentication_class``: a
    :class:`~bearer_auth.core.BearerTokenAuthenticator` subclass.

    The view sees ``request.user`` (the token's user), ``request.auth``
    (the :class:`~bearer_auth.core.BearerToken`) and ``request.auser``.
    Every refusal answers what a DRF view with ``IsAuthenticated`` and
    ``HasScope`` answers: 401 with the bare challenge without a ``Bearer``
    or ``DPoP`` header; the token's refusal; 403 for a token of no user
    (client credentials, strict mode); 403 ``insufficient_scope`` naming the
    scopes. A DRF ``APIException`` the view raises (``database_user``'s
    ``PermissionDenied`` or ``TokenRevoked``) is answered the same way.

    The view is exempt from CSRF checks (as DRF's are) and from
    ``LoginRequiredMiddleware`` (it answers 401, not a redirect): it runs
    only for a request carrying a token in its ``Authorization`` header,
    which another site cannot make a browser send without CORS allowing it.
    """
    if isinstance(scopes, str):
        raise TypeError("bearer_required(scopes=...) takes a list of scopes, not a string.")
    required = tuple(scopes)

    guard = _Guard(required, resource, authentication_class)

    def decorate(view: _View) -> _View:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                return await guard.acall(view, request, args, kwargs)

            wrapper: Callable[..., Any] = async_wrapper
        else:

            @functools.wraps(view)
            def sync_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                if _on_event_loop():
                    # A sync callable running on the event loop returns an
                    # awaitable: the dispatch() of an async class-based view
                    # (method_decorator(..., name="dispatch")).
                    return guard.acall(view, request, args, kwargs)
                return guard.call(view, request, args, kwargs)

            wrapper = sync_wrapper
        return login_not_required(csrf_exempt(wrapper))  # type: ignore[return-value]

    if view is None:
        return decorate
    return decorate(view)


@dataclass(frozen=True)
class _Guard:
    """One decorated view's check: authenticate, then DRF's ``IsAuthenticated`` and ``HasScope``."""

    required: tuple[str, ...]
    resource: str | None
    authentication_class: type[BearerTokenAuthenticator]

    def call(
        self, view: Callable[..., Any], request: HttpRequest, args: Any, kwargs: Any
    ) -> HttpResponseBase:
        authenticator = _authenticator(self.authentication_class, self.resource)
        try:
            outcome = authenticator.authenticate(request)
            _permit(authenticator, request, outcome, self.required)
            response: HttpResponseBase = view(request, *args, **kwargs)
        except APIException as exc:
            return _answer(authenticator, exc)
        return response

    async def acall(
        self, view: Callable[..., Any], request: HttpRequest, args: Any, kwargs: Any
    ) -> HttpResponseBase:
        authenticator = _authenticator(self.authentication_class, self.resource)
        try:
            outcome = await authenticator.aauthenticate(request)
            _permit(authenticator, request, outcome, self.required)
            response = view(request, *args, **kwargs)
            if inspect.isawaitable(response):
                response = await response
        except APIException as exc:
            return _answer(authenticator, exc)
        return cast(HttpResponseBase, response)


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _authenticator(
    authentication_class: type[BearerTokenAuthenticator], resource: str | None
) -> BearerTokenAuthenticator:
    if resource is None:
        return authentication_class()
    return authentication_class(resource=resource)


def _permit(
    authenticator: BearerTokenAuthenticator,
    request: HttpRequest,
    outcome: _Outcome,
    required: tuple[str, ...],
) -> None:
    """DRF's ``IsAuthenticated`` then ``HasScope``; the request names the token's user."""
    if outcome is None:
        raise not_authenticated(authenticator)
    user, bearer = outcome
    _authenticated(request, user, bearer)
    if not user.is_authenticated:
        raise PermissionDenied
    if required:
        authenticator.check_scopes(request, bearer, required)


def _answer(authenticator: BearerTokenAuthenticator, exc: APIException) -> HttpResponseBase:
    """``exc`` rendered as a DRF view renders it."""
    if isinstance(exc, (NotAuthenticated, AuthenticationFailed)):
        # As DRF's APIView.handle_exception: its 401s carry the bare challenge.
        exc.auth_header = authenticator.bare_challenge()  # type: ignore[union-attr]
    return refusal_response(exc)


def _authenticated(request: HttpRequest, user: Any, bearer: BearerToken | None) -> None:
    request.user = user
    request.auth = bearer  # type: ignore[attr-defined]
    request.auser = functools.partial(_user, user)


async def _user(user: Any) -> Any:
    return user


class BearerTokenMiddleware(SyncAndAsyncMiddleware):
    """Set ``request.user`` and ``request.auth`` from a ``Bearer`` or ``DPoP`` token.

    Put it after ``django.contrib.auth.middleware.AuthenticationMiddleware``
    in ``MIDDLEWARE`` (that one sets ``request.user`` from the session, and
    would replace the token's user). Sync and async capable.

    A request with a valid token gets the token's user as ``request.user``
    (and ``request.auser``) and the :class:`~bearer_auth.core.BearerToken` as
    ``request.auth``. A refused token makes the request anonymous
    (``request.auth`` is ``None``) and nothing more: the middleware answers
    no request itself, since other endpoints take other bearer tokens (the
    RFC 7592 registration endpoints take a registration access token).
    :func:`bearer_required`, or a DRF view with ``BearerTokenAuthentication``,
    answers the refusal without checking the token again. A request without
    such a header is left as it was. Subclass it and set
    :attr:`authentication_class` to check tokens with another authenticator.
    """

    #: The authenticator of every request; its ``resource`` is the resource checked.
    authentication_class: ClassVar[type[BearerTokenAuthenticator]] = BearerTokenAuthenticator

    def call(self, request: HttpRequest) -> HttpResponseBase:
        authenticator = self.authentication_class()
        try:
            outcome = authenticator.authenticate(request)
        except BearerAuthError as exc:
            _refused(request, authenticator, exc)
        else:
            _accepted(request, authenticator, outcome)
        return cast(HttpResponseBase, self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        authenticator = self.authentication_class()
        try:
            outcome = await authenticator.aauthenticate(request)
        except BearerAuthError as exc:
            _refused(request, authenticator, exc)
        else:
            _accepted(request, authenticator, outcome)
        return await cast(Awaitable[HttpResponseBase], self.get_response(request))


def _accepted(
    request: HttpRequest, authenticator: BearerTokenAuthenticator, outcome: _Outcome
) -> None:
    """A token accepted (or no token): kept for the view's own check, the request its user's."""
    remember(request, authenticator, outcome)
    if outcome is not None:
        _authenticated(request, *outcome)


def _refused(
    request: HttpRequest, authenticator: BearerTokenAuthenticator, exc: BearerAuthError
) -> None:
    """The token was refused: kept for the view to answer; meanwhile the request is anonymous."""
    remember(request, authenticator, exc)
    _authenticated(request, AnonymousUser(), None)
