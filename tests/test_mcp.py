"""``bearer_auth.mcp``: the MCP SDK's token verifier, per-tool scopes and the ASGI router.

The verifier is the SDK's ``TokenVerifier``; these tests drive it, and the
SDK's own streamable HTTP app wrapped in :class:`ToolScopes`, in-process
(``httpx2.ASGITransport``). The whole flow, with the SDK's OAuth client
against ``make demo``, is ``tests/browser/test_mcp.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

pytest.importorskip("mcp", reason="bearer_auth.mcp needs the mcp extra")

import httpx2
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import MCPServer
from oauth2_provider.models import get_access_token_model

from bearer_auth.authentication import BearerTokenAuthentication
from bearer_auth.mcp import (
    BearerAccessToken,
    BearerTokenVerifier,
    ToolScopes,
    auth_settings,
    called_tools,
    current_user,
    with_mcp,
)
from bearer_auth.resources import metadata_url
from tests import mcp_support
from tests.factories import UserFactory
from tests.issuing import claims_of
from tests.mcp_support import HEADERS, call, open_session, serving, sync_thread_connections_closed
from tests.processes import ROOT

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures(sync_thread_connections_closed.__name__),
]

RESOURCE = "https://issuer.test/mcp"
OTHER_RESOURCE = "https://issuer.test/other-mcp"
METADATA = "https://issuer.test/.well-known/oauth-protected-resource/mcp"
SCOPES = {"list_notes": ["notes:read"], "add_note": ["notes:write"]}


@pytest.fixture(autouse=True)
def _resources(settings: Any) -> None:
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "RESOURCES": {
            RESOURCE: {"name": "Notes", "scopes": ["notes:read", "notes:write"]},
            OTHER_RESOURCE: {"name": "Other"},
        },
    }
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "SCOPES": {
            **settings.OAUTH2_PROVIDER["SCOPES"],
            "notes:read": "Read notes",
            "notes:write": "Write notes",
        },
    }


def issue(user: Any = None, **options: Any) -> str:
    """A token for the MCP server ``RESOURCE`` unless ``resource`` says otherwise."""
    options.setdefault("resource", RESOURCE)
    return mcp_support.issue(user, **options)


def verify(token: str, resource: str = RESOURCE) -> AccessToken | None:
    return asyncio.run(BearerTokenVerifier(resource).verify_token(token))


# The verifier.


def test_an_accepted_token_maps_client_scopes_expiry_resource_subject_and_claims() -> None:
    user = UserFactory()
    token = issue(user, scope="notes:write notes:read")
    access = verify(token)
    assert isinstance(access, BearerAccessToken)
    claims = claims_of(token)
    assert access.token == token
    assert access.client_id == claims["client_id"]
    assert access.scopes == ["notes:read", "notes:write"]
    assert access.expires_at == claims["exp"]
    assert access.resource == RESOURCE == claims["aud"]
    assert access.subject == claims["sub"]
    assert access.claims == claims
    # Strict mode: the user's row, as request.user would be; never serialized.
    assert access.user == user
    assert "user" not in access.model_dump()


@pytest.mark.parametrize(
    "refusal",
    [
        "garbage",
        "default-audience",
        "other-resource",
        "expired",
        "revoked",
        "inactive-user",
        "tampered",
    ],
)
def test_every_refusal_is_none(refusal: str) -> None:
    user = UserFactory()
    if refusal == "garbage":
        token = "not-a-token"
    elif refusal == "default-audience":
        token = issue(user, resource=None)
    elif refusal == "other-resource":
        token = issue(user, resource=OTHER_RESOURCE)
    elif refusal == "expired":
        token = issue(user, lifetime=timedelta(seconds=-120))
    elif refusal == "revoked":
        token = issue(user)
        get_access_token_model().objects.all().delete()
    elif refusal == "inactive-user":
        token = issue(user)
        user.is_active = False
        user.save()
    else:
        head, body, signature = issue(user).split(".")
        token = f"{head}.{body}.{signature[:-4]}AAAA"
    assert verify(token) is None


def test_a_token_for_one_mcp_server_is_refused_at_another() -> None:
    token = issue(resource=OTHER_RESOURCE)
    assert verify(token, OTHER_RESOURCE) is not None
    assert verify(token, RESOURCE) is None


def test_the_query_runs_off_the_event_loop_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Strict mode's query runs in a worker thread: the event loop never waits on the database."""
    token = issue()
    verifier = BearerTokenVerifier(RESOURCE)
    threads: list[int] = []
    original = verifier.authentication.get_token_row

    def recording(raw_token: str, *, opaque: bool) -> Any:
        threads.append(threading.get_ident())
        return original(raw_token, opaque=opaque)

    monkeypatch.setattr(verifier.authentication, "get_token_row", recording)

    async def run() -> tuple[AccessToken | None, int]:
        return await verifier.verify_token(token), threading.get_ident()

    access, loop_thread = asyncio.run(run())
    assert access is not None
    assert threads
    assert threads[0] != loop_thread


def test_stateless_mode_maps_the_claims_user_on_the_loop(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A JWT in stateless mode reads no row: checked on the event loop, no thread hop."""
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFY_MODE": "stateless"}
    token = issue(UserFactory())
    verifier = BearerTokenVerifier(RESOURCE)
    threads: list[int] = []
    original = verifier.authentication.get_stateless_user

    def recording(claims: dict[str, Any]) -> Any:
        threads.append(threading.get_ident())
        return original(claims)

    monkeypatch.setattr(verifier.authentication, "get_stateless_user", recording)

    async def run() -> tuple[AccessToken | None, int]:
        return await verifier.verify_token(token), threading.get_ident()

    access, loop_thread = asyncio.run(run())
    assert isinstance(access, BearerAccessToken)
    assert access.user.id == access.subject
    assert threads == [loop_thread]


def test_auth_settings_point_the_sdk_at_bearer_auth() -> None:
    auth = auth_settings(RESOURCE, required_scopes=["notes:read"])
    assert str(auth.issuer_url) == "https://issuer.test"
    assert str(auth.resource_server_url) == RESOURCE
    assert auth.validate_token_resource is True
    assert auth.required_scopes == ["notes:read"]


# The SDK's app with the verifier and ToolScopes, in-process.


def notes_server() -> tuple[MCPServer, BearerTokenVerifier, list[Any]]:
    """An MCP server with the demo's two tools; each call records ``current_user()``."""
    verifier = BearerTokenVerifier(RESOURCE)
    server = MCPServer("notes", token_verifier=verifier, auth=auth_settings(RESOURCE))
    calls: list[Any] = []

    @server.tool()
    async def list_notes() -> str:
        calls.append(("list_notes", await current_user()))
        return "listed"

    @server.tool()
    async def add_note(title: str) -> str:
        calls.append(("add_note", await current_user()))
        return f"added {title}"

    return server, verifier, calls


def run_with_app(scenario: Any) -> Any:
    server, verifier, calls = notes_server()
    app = ToolScopes(server.streamable_http_app(), verifier, SCOPES)

    async def main() -> Any:
        async with serving(app) as client:
            return await scenario(client, calls)

    return asyncio.run(main())


def test_a_tool_call_lacking_its_scope_is_403_insufficient_scope_naming_it() -> None:
    user = UserFactory()
    token = issue(user, scope="notes:read")

    async def scenario(client: httpx2.AsyncClient, calls: list[Any]) -> Any:
        headers = await open_session(client, token)
        listed = await client.post("/mcp", headers=headers, json=call("list_notes"))
        refused = await client.post(
            "/mcp", headers=headers, json=call("add_note", {"title": "x"}, 2)
        )
        return listed, refused, calls

    listed, refused, calls = run_with_app(scenario)
    assert listed.status_code == 200
    assert "listed" in listed.text
    assert refused.status_code == 403
    challenge = refused.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="notes:write"' in challenge
    assert f'resource_metadata="{METADATA}"' in challenge
    assert refused.json()["error"] == "insufficient_scope"
    # The refused call never reached the tool; the allowed one ran for the token's user.
    assert calls == [("list_notes", user)]


def test_a_token_for_another_resource_is_401_with_bearer_auth_s_metadata_url() -> None:
    token = issue(resource=None)

    async def scenario(client: httpx2.AsyncClient, calls: list[Any]) -> Any:
        headers = {**HEADERS, "authorization": f"Bearer {token}"}
        return await client.post("/mcp", headers=headers, json=call("list_notes"))

    response = run_with_app(scenario)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge
    # The SDK builds it from resource_server_url: the URL bearer_auth serves the document at.
    assert f'resource_metadata="{METADATA}"' in challenge
    assert metadata_url(RESOURCE) == METADATA


def test_a_tool_call_is_verified_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """ToolScopes' check and the SDK's share one verification: one token-row query per call."""
    token = issue(scope="notes:read")
    queries: list[str] = []

    async def scenario(client: httpx2.AsyncClient, calls: list[Any]) -> Any:
        headers = await open_session(client, token)
        original = BearerTokenAuthentication.get_token_row

        def counting(self: Any, raw_token: str, *, opaque: bool) -> Any:
            queries.append(raw_token)
            return original(self, raw_token, opaque=opaque)

        monkeypatch.setattr(BearerTokenAuthentication, "get_token_row", counting)
        return await client.post("/mcp", headers=headers, json=call("list_notes"))

    response = run_with_app(scenario)
    assert response.status_code == 200
    assert queries == [token]


def test_without_a_token_the_sdk_answers_401_before_tool_scopes_reads_anything() -> None:
    async def scenario(client: httpx2.AsyncClient, calls: list[Any]) -> Any:
        return await client.post("/mcp", headers=HEADERS, json=call("add_note", {"title": "x"}))

    response = run_with_app(scenario)
    assert response.status_code == 401
    assert f'resource_metadata="{METADATA}"' in response.headers["www-authenticate"]


def test_called_tools_reads_requests_and_batches_and_ignores_the_rest() -> None:
    assert list(called_tools(json.dumps(call("add_note")).encode())) == ["add_note"]
    batch = [call("list_notes"), {"jsonrpc": "2.0", "method": "ping", "id": 3}, call("add_note")]
    assert list(called_tools(json.dumps(batch).encode())) == ["list_notes", "add_note"]
    for body in (b"{", b"\xff", b"[1, 2]", b'{"method": "tools/call", "params": []}', b"null"):
        assert list(called_tools(body)) == []
    # Read as the SDK reads it: the last of two names is the one it calls.
    twice = b'{"method": "tools/call", "params": {"name": "list_notes", "name": "add_note"}}'
    assert list(called_tools(twice)) == ["add_note"]


def test_a_batch_with_one_tool_lacking_its_scope_is_refused() -> None:
    token = issue(scope="notes:read")

    async def scenario(client: httpx2.AsyncClient, calls: list[Any]) -> Any:
        headers = await open_session(client, token)
        batch = [call("list_notes"), call("add_note", {"title": "x"}, 2)]
        return await client.post("/mcp", headers=headers, content=json.dumps(batch)), calls

    response, calls = run_with_app(scenario)
    assert response.status_code == 403
    # The scope the whole request needs.
    assert 'scope="notes:read notes:write"' in response.headers["www-authenticate"]
    assert calls == []


def test_an_oversized_body_is_413() -> None:
    server, verifier, _ = notes_server()
    app = ToolScopes(server.streamable_http_app(), verifier, SCOPES, max_body_size=10)
    token = issue()

    async def main() -> Any:
        async with serving(app) as client:
            headers = {**HEADERS, "authorization": f"Bearer {token}"}
            return await client.post("/mcp", headers=headers, json=call("list_notes"))

    assert asyncio.run(main()).status_code == 413


# with_mcp: one ASGI application for Django and the MCP server.


def test_with_mcp_routes_the_path_lifespan_and_the_rest() -> None:
    seen: list[tuple[str, str]] = []

    def recorder(name: str) -> Any:
        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            seen.append((name, scope.get("path", scope["type"])))

        return app

    application = with_mcp(recorder("django"), recorder("mcp"), path="/mcp")

    async def main() -> None:
        for scope in (
            {"type": "lifespan"},
            {"type": "http", "path": "/mcp"},
            {"type": "http", "path": "/mcp/"},
            {"type": "http", "path": "/mcpx"},
            {"type": "http", "path": "/.well-known/oauth-protected-resource/mcp"},
            {"type": "http", "path": "/api/notes/"},
        ):
            await application(scope, None, None)  # type: ignore[arg-type]

    asyncio.run(main())
    assert seen == [
        ("mcp", "lifespan"),
        ("mcp", "/mcp"),
        ("mcp", "/mcp/"),
        ("django", "/mcpx"),
        ("django", "/.well-known/oauth-protected-resource/mcp"),
        ("django", "/api/notes/"),
    ]


def test_with_mcp_runs_each_mcp_request_between_django_s_request_signals() -> None:
    from django.core.signals import request_finished, request_started

    events: list[str] = []

    def started(**kwargs: Any) -> None:
        events.append("started")

    def finished(**kwargs: Any) -> None:
        events.append("finished")

    async def mcp_app(scope: Any, receive: Any, send: Any) -> None:
        events.append("mcp")

    request_started.connect(started)
    request_finished.connect(finished)
    try:
        asyncio.run(with_mcp(None, mcp_app)({"type": "http", "path": "/mcp"}, None, None))  # type: ignore[arg-type]
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)
    assert events == ["started", "mcp", "finished"]


# The extra stays optional.

NO_MCP = """
import importlib, pkgutil, sys
sys.modules["mcp"] = None  # as if the extra were not installed
import django
django.setup()
import bearer_auth
names = [m.name for m in pkgutil.walk_packages(bearer_auth.__path__, "bearer_auth.")]
for name in names:
    if name != "bearer_auth.mcp" and ".migrations." not in name:
        importlib.import_module(name)
try:
    import bearer_auth.mcp
except ImportError as exc:
    print("ImportError:", exc)
"""


def test_bearer_auth_imports_without_the_mcp_extra() -> None:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(
        [sys.executable, "-c", NO_MCP], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "ImportError: bearer_auth.mcp needs the mcp extra" in result.stdout


def test_with_mcp_gives_each_mcp_request_a_thread_of_its_own() -> None:
    """Two MCP requests' thread-sensitive code runs in two threads, as Django's handler does.

    The first request's query waits for the second's: in asgiref's one shared
    thread (no ThreadSensitiveContext) the second would queue behind it.
    """
    second_ran = threading.Event()
    threads: dict[str, int] = {}

    def work(path: str) -> None:
        threads[path] = threading.get_ident()
        if path == "/mcp/first":
            assert second_ran.wait(timeout=5), "the second request's code never ran"
        else:
            second_ran.set()

    async def mcp_app(scope: Any, receive: Any, send: Any) -> None:
        await sync_to_async(work, thread_sensitive=True)(scope["path"])

    application = with_mcp(None, mcp_app)

    async def main() -> None:
        first = asyncio.create_task(application({"type": "http", "path": "/mcp/first"}, None, None))  # type: ignore[arg-type]
        await asyncio.sleep(0.1)
        await application({"type": "http", "path": "/mcp/second"}, None, None)  # type: ignore[arg-type]
        await first

    asyncio.run(main())
    assert threads["/mcp/first"] != threads["/mcp/second"]


def test_current_user_is_the_row_in_stateless_mode(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFY_MODE": "stateless"}
    user = UserFactory()
    token = issue(user, scope="notes:read")
    gone = issue(UserFactory(), scope="notes:read")

    async def scenario(client: httpx2.AsyncClient, calls: list[Any]) -> Any:
        for bearer in (token, gone):
            headers = await open_session(client, bearer)
            if bearer == gone:
                await sync_to_async(get_user_model().objects.exclude(pk=user.pk).delete)()
            response = await client.post("/mcp", headers=headers, json=call("list_notes"))
            assert response.status_code == 200
        return calls

    calls = run_with_app(scenario)
    # The user's row (not the claims user); None once the token's user is gone.
    assert calls == [("list_notes", user), ("list_notes", None)]
    assert type(calls[0][1]) is get_user_model()
