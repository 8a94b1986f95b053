"""What the MCP tests share: tokens for a resource, the SDK's app served in-process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from tests.factories import UserFactory
from tests.issuing import issue_access_token


@pytest.fixture
def sync_thread_connections_closed() -> Iterator[None]:
    """Close what the tests' ``sync_to_async`` calls opened in asgiref's shared thread.

    Outside a ``ThreadSensitiveContext`` (``with_mcp`` gives each request its
    own), thread-sensitive code runs in one thread that outlives the test:
    its connection would keep PostgreSQL from dropping the test database.
    """
    yield
    asyncio.run(sync_to_async(connections.close_all, thread_sensitive=True)())


def issue(
    user: Any = None,
    *,
    scope: str = "notes:read notes:write",
    resource: str | None,
    lifetime: timedelta | None = None,
) -> str:
    """A JWT access token for ``resource`` (``None``: the default audience), with its row."""
    return issue_access_token(
        user if user is not None else UserFactory(),
        scope=scope,
        lifetime=lifetime,
        resource=resource,
    )


@asynccontextmanager
async def serving(
    app: Any, base_url: str = "http://127.0.0.1:8000"
) -> AsyncIterator[httpx2.AsyncClient]:
    """``app`` with its lifespan running, behind an httpx client for ``base_url``.

    The SDK's DNS-rebinding check wants the host and port it allows (on
    loopback: ``127.0.0.1:*``).
    """
    receive_queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    lifespan = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive_queue.get, sent.put)
    )
    await receive_queue.put({"type": "lifespan.startup"})
    assert (await sent.get())["type"] == "lifespan.startup.complete"
    try:
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client
    finally:
        await receive_queue.put({"type": "lifespan.shutdown"})
        await lifespan


HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def call(name: str, arguments: dict[str, Any] | None = None, request_id: int = 1) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments or {}},
    }


async def open_session(client: httpx2.AsyncClient, token: str) -> dict[str, str]:
    headers = {**HEADERS, "authorization": f"Bearer {token}"}
    response = await client.post(
        "/mcp",
        headers=headers,
        json={
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "test", "version": "1"},
            },
        },
    )
    assert response.status_code == 200, response.text
    headers["mcp-session-id"] = response.headers["mcp-session-id"]
    headers["mcp-protocol-version"] = "2025-06-18"
    await client.post(
        "/mcp", headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"}
    )
    return headers
