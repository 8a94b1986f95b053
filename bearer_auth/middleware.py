"""The response headers bearer_auth adds: no shared caching of bearer answers, no framing.

:class:`BearerAuthHeadersMiddleware` (``bearer_auth.W007`` warns when it is
not in ``MIDDLEWARE``) does three things:

- A response to a request that carried an ``Authorization`` header gets
  ``Vary: Authorization`` and, unless the view set ``Cache-Control`` itself,
  ``Cache-Control: private, no-store``: such an answer belongs to one token's
  holder, and a shared cache must neither store it nor hand it to another.
- An admin page (any ``AdminSite``) gets the CSP directive
  ``frame-ancestors 'none'`` beside Django's ``X-Frame-Options``.
- A response to a request for which ``BearerTokenAuthentication`` made a
  DPoP server nonce (``DPOP_NONCE_REQUIRED`` has ``"resource"``) carries it
  as ``DPoP-Nonce`` (RFC 9449 §8.1, :data:`bearer_auth.dpop.NONCE_META_KEY`):
  without the middleware a client never learns the nonce to sign with.

The consent page sends ``frame-ancestors 'none'`` through
:func:`frame_ancestors_none` itself, with or without the middleware. Both keep
a policy the project already set (Django 6.0's ``SECURE_CSP``, django-csp): the
directive is added to it unless it has its own ``frame-ancestors``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, ClassVar, Final, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control, patch_vary_headers

from bearer_auth.dpop import NONCE_HEADER, NONCE_META_KEY

CSP_HEADER: Final = "Content-Security-Policy"
FRAME_ANCESTORS_NONE: Final = "frame-ancestors 'none'"


def add_frame_ancestors_none(response: HttpResponseBase) -> None:
    """Add ``frame-ancestors 'none'`` to the response's CSP, keeping the rest of it."""
    policy = response.headers.get(CSP_HEADER, "").strip().rstrip(";").strip()
    directives = [part.strip().split(" ", 1)[0].lower() for part in policy.split(";")]
    if "frame-ancestors" in directives:
        return
    response.headers[CSP_HEADER] = (
        f"{policy}; {FRAME_ANCESTORS_NONE}" if policy else (FRAME_ANCESTORS_NONE)
    )


def frame_ancestors_none(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """View decorator: :func:`add_frame_ancestors_none` on every response of ``view``."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(*args, **kwargs)
        add_frame_ancestors_none(response)
        return response

    return wrapper


def protect_bearer_response(response: HttpResponseBase) -> None:
    """``Vary: Authorization``; ``Cache-Control: private, no-store`` unless the view chose."""
    patch_vary_headers(response, ("Authorization",))
    if not response.has_header("Cache-Control"):
        patch_cache_control(response, private=True, no_store=True)


class SyncAndAsyncMiddleware(ABC):
    """Django's sync-and-async middleware: async when the handler after it is.

    On an async stack (ASGI, async views) the subclass's ``__acall__`` runs
    and Django adds no thread hop for it; on a sync one, ``__call__``.
    """

    sync_capable: ClassVar[bool] = True
    async_capable: ClassVar[bool] = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]],
    ) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self.__acall__(request)
        return self.call(request)

    @abstractmethod
    def call(self, request: HttpRequest) -> HttpResponseBase:
        """Handle ``request`` on a sync stack."""

    @abstractmethod
    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        """Handle ``request`` on an async stack."""


class BearerAuthHeadersMiddleware(SyncAndAsyncMiddleware):
    """Keep bearer answers out of shared caches and admin pages out of frames; send DPoP nonces.

    Sync and async capable: on an async stack (ASGI, async views) it adds no
    thread hop of its own.
    """

    def call(self, request: HttpRequest) -> HttpResponseBase:
        response = cast(HttpResponseBase, self.get_response(request))
        self.process_response(request, response)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        response = await cast(Awaitable[HttpResponseBase], self.get_response(request))
        self.process_response(request, response)
        return response

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> None:
        """Add this middleware's headers to ``response`` (in place)."""
        if "HTTP_AUTHORIZATION" in request.META:
            protect_bearer_response(response)
        nonce = request.META.get(NONCE_META_KEY)
        if nonce:
            response[NONCE_HEADER] = nonce
        match = getattr(request, "resolver_match", None)
        if match is not None and "admin" in match.app_names:
            add_frame_ancestors_none(response)
