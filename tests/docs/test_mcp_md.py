"""docs/mcp.md, run: its settings, MCP server and ASGI application, as a project writes them.

The whole flow against the demo, with the SDK's OAuth client, is
tests/browser/test_mcp.py.
"""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("mcp", reason="docs/mcp.md needs the mcp extra")

from django.core import checks

from tests.docs.markdown import sample, snippets
from tests.factories import UserFactory
from tests.mcp_support import (
    HEADERS,
    call,
    issue,
    open_session,
    serving,
    sync_thread_connections_closed,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures(sync_thread_connections_closed.__name__),
]

PAGE = "docs/mcp.md"
SETTINGS = sample(PAGE, "mcp-settings")
SERVER = sample(PAGE, "mcp-server")
ASGI = sample(PAGE, "mcp-asgi")

RESOURCE = "https://example.com/mcp"
ORIGIN = "https://example.com"


@pytest.fixture
def configured(settings: Any) -> dict[str, Any]:
    [part] = snippets(SETTINGS.block)
    values = part.settings()
    settings.BEARER_AUTH = values["BEARER_AUTH"]
    settings.OAUTH2_PROVIDER = values["OAUTH2_PROVIDER"]
    settings.ALLOWED_HOSTS = ["example.com"]  # the project's own, for Django's side
    return values


@pytest.fixture
def mcp_server(configured: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The page's ``mysite/mcp_server.py``, importable as ``mysite.mcp_server``."""
    [part] = snippets(SERVER.block)
    namespace = part.run()
    package = types.ModuleType("mysite")
    module = types.ModuleType("mysite.mcp_server")
    module.__dict__.update(namespace)
    package.mcp_server = module  # type: ignore[attr-defined]
    sys.modules.update({"mysite": package, "mysite.mcp_server": module})
    try:
        yield namespace
    finally:
        del sys.modules["mysite.mcp_server"], sys.modules["mysite"]


@pytest.mark.usefixtures("configured")
def test_the_settings_pass_the_checks() -> None:
    assert [m.id for m in checks.run_checks() if m.id.startswith("bearer_auth")] == []


def test_the_server_answers_a_token_for_it_and_refuses_a_missing_scope(
    mcp_server: dict[str, Any],
) -> None:
    assert mcp_server["RESOURCE"] == RESOURCE
    user = UserFactory(email="reader@example.com")
    reader = issue(user, scope="notes:read", resource=RESOURCE)
    writer = issue(user, scope="notes:write", resource=RESOURCE)
    other = issue(user, scope="notes:read", resource=None)

    async def main() -> tuple[Any, Any, Any]:
        async with serving(mcp_server["app"], base_url=ORIGIN) as client:
            headers = await open_session(client, reader)
            answered = await client.post("/mcp", headers=headers, json=call("whoami"))
            refused = await client.post(
                "/mcp",
                headers={**HEADERS, "authorization": f"Bearer {writer}"},
                json=call("whoami"),
            )
            elsewhere = await client.post(
                "/mcp", headers={**HEADERS, "authorization": f"Bearer {other}"}, json=call("whoami")
            )
            return answered, refused, elsewhere

    answered, refused, elsewhere = asyncio.run(main())
    assert answered.status_code == 200
    assert "reader@example.com" in answered.text
    assert refused.status_code == 403
    assert 'scope="notes:read"' in refused.headers["www-authenticate"]
    assert elsewhere.status_code == 401
    assert (
        f'resource_metadata="{ORIGIN}/.well-known/oauth-protected-resource/mcp"'
        in elsewhere.headers["www-authenticate"]
    )


def test_the_asgi_application_serves_mcp_and_django_on_one_origin(
    mcp_server: dict[str, Any],
) -> None:
    [part] = snippets(ASGI.block)
    application = part.run()["application"]
    token = issue(scope="notes:read", resource=RESOURCE)

    async def main() -> tuple[Any, Any]:
        async with serving(application, base_url=ORIGIN) as client:
            headers = await open_session(client, token)
            answered = await client.post("/mcp", headers=headers, json=call("whoami"))
            metadata = await client.get("/.well-known/oauth-protected-resource/mcp")
            return answered, metadata

    answered, metadata = asyncio.run(main())
    assert answered.status_code == 200
    assert metadata.status_code == 200
    assert metadata.json()["resource"] == RESOURCE
    assert metadata.json()["authorization_servers"] == [ORIGIN]
