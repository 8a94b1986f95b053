"""MCP: a tool call's token check against strict ``authenticate()`` of today (issue 21).

An MCP server built with the official ``mcp`` SDK asks
:class:`bearer_auth.mcp.BearerTokenVerifier` for every request's token; the
verifier runs :class:`~bearer_auth.authentication.BearerTokenAuthentication`
for the server's RFC 8707 resource, strict mode's one query off the event
loop (asgiref's ``sync_to_async``, thread-sensitive). Three judged cases,
and three that show where the difference goes; strict mode, RS256, one token
each presented again and again as every authentication case does:

- ``mcp/bearer-strict``: ``BearerTokenAuthentication().authenticate()`` of a
  token of the default resource: today's cost (``auth/bearer-strict-RS256``
  again, built the same way, here so that the ratios pair it with the other
  two in the same repeats);
- ``mcp/bearer-strict-resource``: the same class with ``resource=``
  :data:`RESOURCE`, a token minted for it: the audience comparison alone;
- ``mcp/verifier``: ``BearerTokenVerifier(RESOURCE).verify_token(token)``
  awaited, one call a ``run_until_complete`` on one event loop that lives as
  long as the phase: the whole check an MCP tool call pays, the hop to
  asgiref's thread and back, and the SDK's ``AccessToken`` it returns.
  ``mcp/loop`` runs a coroutine that returns at once on the same loop: what
  driving one call from outside the loop costs, which a server, awaiting the
  check inside a request's task, does not pay. ``mcp/hop`` awaits, the same
  way, ``sync_to_async`` of a function that does nothing: the loop and the
  hop to asgiref's thread and back without the check, the part of
  ``mcp/verifier`` that ``authenticate()`` does not pay.
  ``mcp/bearer-strict-resource-hop`` awaits ``authenticate()`` for the
  resource through that same hop: what the check costs a sync view served by
  Django's ASGI handler, which runs sync code in a thread the same way;
  beside it the verifier adds only its own work.

The verifier's query runs on asgiref's thread-sensitive thread, on that
thread's database connection (persistent, as the main thread's is); its
statements are counted there (:func:`_captured_on_executor`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

import jwt
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import get_application_model
from rest_framework.request import Request

from bearer_auth.authentication import BearerTokenAuthentication
from bearer_auth.jwt import mint_access_token
from bench.cases import _authenticate
from bench.fixtures import SCOPE, Fixtures, store_access_token
from bench.timing import Case

#: The MCP server's resource identifier (``BEARER_AUTH["RESOURCES"]`` in bench.settings).
RESOURCE = "https://bench.example/mcp"


@dataclass(frozen=True)
class Tokens:
    """The phase's two tokens of one user: for the default resource and for :data:`RESOURCE`."""

    user: Any
    default: str
    resource: str


def mcp_cases(fixtures: Fixtures) -> list[Case]:
    """Strict ``authenticate()`` for the default resource and for :data:`RESOURCE`; the verifier."""
    return cases_for(issue_tokens(fixtures))


def issue_tokens(fixtures: Fixtures) -> Tokens:
    """Mint and store the two tokens, of the benchmark's user and OAuth client, signed alike."""
    application = get_application_model().objects.get(client_id=fixtures.dot_client_id)
    default = stored_token(fixtures.user, application)
    resource = stored_token(fixtures.user, application, resource=RESOURCE)
    if jwt.get_unverified_header(default) != jwt.get_unverified_header(resource):
        raise RuntimeError("the two tokens must be signed alike for their ratio to mean anything")
    return Tokens(user=fixtures.user, default=default, resource=resource)


def cases_for(tokens: Tokens) -> list[Case]:
    """The phase's cases, presenting ``tokens``.

    Without the ``mcp`` package ``mcp/verifier`` is left out (its ratios then
    read "not measured", a missed target under ``--check``).
    """
    resource_token = tokens.resource
    user_pk = tokens.user.pk
    loop = asyncio.new_event_loop()
    on_executor = _captured_on_executor(loop)
    resource_authentication = BearerTokenAuthentication(resource=RESOURCE)
    request = Request(RequestFactory().get("/mcp", HTTP_AUTHORIZATION=f"Bearer {resource_token}"))
    authenticate_there = sync_to_async(resource_authentication.authenticate, thread_sensitive=True)
    hop = sync_to_async(_nothing, thread_sensitive=True)

    def authenticated(result: Any) -> bool:
        return result is not None and getattr(result[0], "pk", None) == user_pk

    cases = [
        _authenticate("mcp/bearer-strict", BearerTokenAuthentication(), tokens.default),
        _authenticate("mcp/bearer-strict-resource", resource_authentication, resource_token),
        Case(
            "mcp/bearer-strict-resource-hop",
            lambda: loop.run_until_complete(authenticate_there(request)),
            authenticated,
            queries=on_executor,
        ),
        Case("mcp/loop", lambda: loop.run_until_complete(_nothing_async())),
        Case("mcp/hop", lambda: loop.run_until_complete(hop())),
    ]
    try:
        from bearer_auth.mcp import BearerTokenVerifier
    except ImportError:
        return cases
    verifier = BearerTokenVerifier(RESOURCE)

    def verify() -> Any:
        return loop.run_until_complete(verifier.verify_token(resource_token))

    def accepted(access: Any) -> bool:
        return (
            access is not None
            and access.resource == RESOURCE
            and getattr(access.user, "pk", None) == user_pk
        )

    return [*cases, Case("mcp/verifier", verify, accepted, queries=on_executor)]


def _nothing() -> None:
    return None


async def _nothing_async() -> None:
    return None


def stored_token(user: Any, application: Any, *, resource: str | None = None) -> str:
    """A token of ``user`` for ``resource`` (``None``: the default one), and its row.

    Signed by the signing key (the first of ``SIGNING_KEYS``: RS256 in
    ``bench.settings``) and stored as DOT saves it, ``resource`` on the row.
    """
    minted = mint_access_token(
        user=user, client_id=application.client_id, scope=SCOPE, resource=resource
    )
    return store_access_token(
        minted.token,
        user=user,
        application=application,
        expires=minted.expires_at,
        resource=resource,
    )


def _captured_on_executor(
    loop: asyncio.AbstractEventLoop,
) -> Callable[[], AbstractContextManager[CaptureQueriesContext]]:
    """Capture the queries of the thread ``sync_to_async(thread_sensitive=True)`` runs them in.

    Outside a ``ThreadSensitiveContext``, asgiref runs every thread-sensitive
    function in one thread (its documented behaviour), so the capture is
    entered and left there, on that thread's connection.
    """

    def enter() -> CaptureQueriesContext:
        capture = CaptureQueriesContext(connections["default"])
        capture.__enter__()
        return capture

    @contextmanager
    def captured() -> Iterator[CaptureQueriesContext]:
        capture = loop.run_until_complete(sync_to_async(enter, thread_sensitive=True)())
        try:
            yield capture
        finally:
            leave = sync_to_async(capture.__exit__, thread_sensitive=True)
            loop.run_until_complete(leave(None, None, None))

    return captured
