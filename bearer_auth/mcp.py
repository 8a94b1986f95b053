"""bearer_auth's access tokens at an MCP server built with the official ``mcp`` SDK.

The optional ``mcp`` extra (``pip install django-bearer-auth[mcp]``). The SDK
asks a token verifier for every request's bearer token; :class:`BearerTokenVerifier`
answers with :class:`~bearer_auth.authentication.BearerTokenAuthentication`,
so an MCP tool call is checked exactly as a DRF view's request is (signature,
claims, the audience of this MCP server, and in strict mode the token's row
and its user), and refused the same way: the SDK then answers 401 with the
challenge naming this resource's RFC 9728 metadata. :class:`ToolScopes` adds
per-tool scopes (403 ``insufficient_scope`` naming the scope, before the call
reaches the tool) and :func:`with_mcp` serves the MCP app beside Django's.
``docs/mcp.md`` shows the few lines a project writes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.signals import request_finished, request_started
from rest_framework.exceptions import PermissionDenied

try:
    from mcp.server.auth.middleware.auth_context import get_access_token
    from mcp.server.auth.provider import AccessToken
    from mcp.server.auth.settings import AuthSettings
    from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE
    from pydantic import ConfigDict, Field
    from pydantic_core import from_json
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
except ImportError as exc:  # pragma: no cover - tests/test_mcp.py runs it in a subprocess
    raise ImportError(
        "bearer_auth.mcp needs the mcp extra: pip install 'django-bearer-auth[mcp]'"
    ) from exc

from bearer_auth.authentication import (
    BearerToken,
    BearerTokenAuthentication,
    ClaimsUser,
    claims_user_row,
    refuse_bound_token,
)
from bearer_auth.exceptions import BearerAuthError, InsufficientScope
from bearer_auth.jwt import issuer
from bearer_auth.resources import find_resource

__all__ = [
    "BearerAccessToken",
    "BearerTokenVerifier",
    "ToolScopes",
    "auth_settings",
    "current_user",
    "with_mcp",
]

logger = logging.getLogger(__name__)

#: The token the current request's :class:`ToolScopes` already verified:
#: ``(verifier, raw token, result)``. The SDK's own check of the same request
#: reuses it, so a tool call costs one verification, not two.
_verified: ContextVar[tuple[BearerTokenVerifier, str, AccessToken | None] | None] = ContextVar(
    "bearer_auth_mcp_verified", default=None
)


class BearerAccessToken(AccessToken):
    """The SDK's ``AccessToken``, carrying the Django user the token was accepted for.

    ``user`` is what ``request.user`` would be in a DRF view: the user's row
    in strict mode, a :class:`~bearer_auth.authentication.ClaimsUser` in
    stateless mode, ``AnonymousUser`` for a client-credentials token. It is
    never serialized. :func:`current_user` returns the row in either mode.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    user: Any = Field(default=None, exclude=True, repr=False)


class BearerTokenVerifier:
    """The SDK's ``TokenVerifier`` for the MCP server whose resource identifier is ``resource``.

    Every check is :class:`BearerTokenAuthentication`'s ``aauthenticate_credentials``
    for ``resource`` (so a token issued for another resource, the default
    one included, is refused): strict mode's query runs off the event loop,
    with ``sync_to_async(thread_sensitive=True)`` as Django asks of ORM calls;
    a JWT in stateless mode reads no row and is checked on the loop (a
    subclass's ``get_stateless_user`` must not query then), unless the
    process's keys are due to be read again.
    A refused token is ``None``: the SDK answers 401 ``invalid_token``; so is
    a DPoP-bound token, since the SDK passes no proof to check.
    ``authentication_class`` may be a subclass of ``BearerTokenAuthentication``
    (its ``verify_mode``, its extra checks).
    """

    def __init__(
        self,
        resource: str,
        *,
        authentication_class: type[BearerTokenAuthentication] = BearerTokenAuthentication,
    ) -> None:
        self.resource = resource
        self.authentication = authentication_class(resource=resource)

    async def verify_token(self, token: str) -> AccessToken | None:
        verified = _verified.get()
        if verified is not None and verified[0] is self and verified[1] == token:
            return verified[2]
        try:
            # The core's async check: a stateless JWT on the loop, a row in one hop.
            user, bearer = await self.authentication.aauthenticate_credentials(token)
            # The SDK hands over a Bearer token alone: no DPoP proof to check.
            refuse_bound_token(bearer)
        except BearerAuthError as exc:
            logger.info("MCP bearer token rejected: %s", type(exc).__name__)
            return None
        return self.access_token(token, user, bearer)

    def access_token(self, token: str, user: Any, bearer: BearerToken) -> BearerAccessToken:
        """The SDK's view of an accepted token: client, scopes, expiry, ``aud``, ``sub``, claims."""
        claims = bearer.claims
        subject = claims.get("sub")
        return BearerAccessToken(
            token=token,
            client_id=bearer.client_id,
            scopes=sorted(bearer.scopes),
            expires_at=int(bearer.expires_at.timestamp()),
            # authenticate_credentials accepted it for this resource only.
            resource=self.resource,
            subject=None if subject is None else str(subject),
            claims=dict(claims),
            user=user,
        )


def auth_settings(resource: str, *, required_scopes: Iterable[str] | None = None) -> AuthSettings:
    """The SDK's ``AuthSettings`` for the MCP server at ``resource``, issued for by this server.

    The issuer is bearer_auth's; ``resource_server_url`` is ``resource`` (the
    SDK's 401 names its RFC 9728 metadata URL, which bearer_auth serves for a
    resource of ``RESOURCES``); the SDK also compares each token's resource
    with it (``validate_token_resource``). ``required_scopes``: scopes every
    request needs (per-tool scopes: :class:`ToolScopes`).
    """
    described = find_resource(resource)
    documentation = described.documentation if described is not None else ""
    # Validated from strings: the SDK keeps a path-less issuer without a
    # trailing slash then, as RFC 8414's exact issuer comparison needs.
    return AuthSettings.model_validate(
        {
            "issuer_url": issuer(),
            "resource_server_url": resource,
            "validate_token_resource": True,
            "required_scopes": list(required_scopes) if required_scopes is not None else None,
            "service_documentation_url": documentation or None,
        }
    )


class ToolScopes:
    """ASGI middleware: a ``tools/call`` of a tool in ``scopes`` needs that tool's scopes.

    Wraps the SDK's streamable HTTP app. A POSTed JSON-RPC ``tools/call``
    (or a batch holding one) whose token ``verifier`` accepts but lacks a
    scope the named tool needs is answered 403 ``insufficient_scope`` with
    ``WWW-Authenticate: Bearer error="insufficient_scope", scope="...",
    resource_metadata="..."`` before it reaches the tool (the SDK's client
    then asks for the scope); everything else goes on to the app, which
    answers a missing or refused token itself. The body is read once and
    handed on unchanged; a body over ``max_body_size`` gets the SDK's 413.
    """

    def __init__(
        self,
        app: ASGIApp,
        verifier: BearerTokenVerifier,
        scopes: Mapping[str, Iterable[str]],
        *,
        max_body_size: int = DEFAULT_MAX_REQUEST_BODY_SIZE,
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.scopes = {tool: frozenset(needed) for tool, needed in scopes.items()}
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        if token is None:
            await self.app(scope, receive, send)
            return
        body, trailing = await read_body(receive, self.max_body_size)
        if body is None:
            await send_plain(send, 413, b"Request body too large")
            return
        receive = replay(body, trailing, receive)
        needed = frozenset().union(*(self.scopes.get(tool, ()) for tool in called_tools(body)))
        if not needed:
            await self.app(scope, receive, send)
            return
        access = await self.verifier.verify_token(token)
        if access is not None and not needed <= set(access.scopes):
            await self.refuse(send, " ".join(sorted(needed)))
            return
        reset = _verified.set((self.verifier, token, access))
        try:
            await self.app(scope, receive, send)
        finally:
            _verified.reset(reset)

    async def refuse(self, send: Send, scope: str) -> None:
        """Answer 403 ``insufficient_scope`` naming ``scope`` and this resource's metadata."""
        error = InsufficientScope(scope=scope)
        challenge = error.challenge_header(self.verifier.authentication.resource_metadata_url())
        body = json.dumps(error.detail).encode()
        await send(
            {
                "type": "http.response.start",
                "status": error.status_code,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", challenge.encode("latin-1")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer`` header, cut as the SDK's backend cuts it."""
    for name, value in scope["headers"]:
        if name.lower() == b"authorization":
            header = value.decode("latin-1")
            return header[7:] if header.lower().startswith("bearer ") else None
    return None


async def read_body(receive: Receive, limit: int) -> tuple[bytes | None, Message | None]:
    """Read the request body (``None`` past ``limit`` bytes) and any message received after it."""
    chunks = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return bytes(chunks), message
        chunks.extend(message.get("body", b""))
        if len(chunks) > limit:
            return None, None
        if not message.get("more_body", False):
            return bytes(chunks), None


def replay(body: bytes, trailing: Message | None, receive: Receive) -> Receive:
    """A ``receive`` that hands ``body`` on once, then what the client sends next."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if trailing is not None:
        pending.append(trailing)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


def called_tools(body: bytes) -> Iterator[str]:
    """The tool names of the ``tools/call`` requests in a JSON-RPC message or batch."""
    try:
        # The SDK's own parser: what it reads is what is checked here.
        message = from_json(body)
    except ValueError:
        return  # the app answers a parse error
    for request in message if isinstance(message, list) else [message]:
        if not isinstance(request, dict) or request.get("method") != "tools/call":
            continue
        params = request.get("params")
        name = params.get("name") if isinstance(params, dict) else None
        if isinstance(name, str):
            yield name


async def send_plain(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def current_user() -> Any:
    """The user model's row of the current MCP request's token, in either verification mode.

    For a tool: strict mode's row comes with the token; stateless mode's is
    looked up by ``sub`` and checked as strict mode checks it (one query,
    off the event loop). ``None`` for a request without an accepted token,
    a client-credentials token (no user) or a user that may no longer use it.
    """
    access = get_access_token()
    if not isinstance(access, BearerAccessToken):
        return None
    user = access.user
    if not isinstance(user, ClaimsUser):
        return user if getattr(user, "is_authenticated", False) else None
    try:
        return await sync_to_async(claims_user_row, thread_sensitive=True)(user)
    except (BearerAuthError, PermissionDenied):
        return None


def with_mcp(django_app: Any, mcp_app: ASGIApp, *, path: str = "/mcp") -> ASGIApp:
    """One ASGI application: ``path`` to the MCP app, everything else to Django's.

    ASGI lifespan goes to the MCP app (its session manager runs for as long as
    the server does; Django's handler does not take lifespan). Each MCP request
    runs as Django's ASGI handler runs one: in its own ``ThreadSensitiveContext``
    (the token check's query gets a thread of its own, not one shared by every
    request) between ``request_started`` and ``request_finished``, so Django
    closes that thread's database connection when the request ends. Give
    the SDK's ``streamable_http_app(streamable_http_path=path)`` the same ``path``.
    """
    prefix = path.rstrip("/") + "/"

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await mcp_app(scope, receive, send)
        elif scope["type"] == "http" and (
            scope["path"] == path or scope["path"].startswith(prefix)
        ):
            async with ThreadSensitiveContext():
                await request_started.asend(sender=with_mcp, scope=scope)
                try:
                    await mcp_app(scope, receive, send)
                finally:
                    await request_finished.asend(sender=with_mcp)
        else:
            await django_app(scope, receive, send)

    return application
