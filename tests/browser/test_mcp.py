"""The official MCP SDK's OAuth client reaches ``make demo``'s MCP server from its URL alone.

Software nobody here wrote drives the whole MCP authorization flow against
the demo: the SDK's ``OAuthClientProvider`` (``mcp`` on PyPI) is given only
``http://127.0.0.1:<port>/mcp`` and must, on its own, get the 401, read the
protected resource metadata (RFC 9728) it names, read the authorization
server metadata (RFC 8414), register itself (RFC 7591, the demo's ``open``
policy), run the authorization code flow with PKCE S256 and ``resource``
(RFC 8707), call the tools, and refresh once the 5-second access token
(``tests/settings_demo_mcp.py``) has expired. Chromium (Playwright) plays the
person: it signs in and allows; the authorization response reaches the
client at its loopback redirect URI, where the test reads it. Then the
refusals: a token for another resource is 401 at ``/mcp``, and a tool
lacking its scope is 403 ``insufficient_scope`` naming the scope, on which
the SDK's client asks for the scope (step-up) and gets it.
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from tests.browser.conftest import CHROMIUM_ARGS
from tests.browser.demo_client import query_demo
from tests.conftest import CHROMIUM
from tests.processes import DemoServer, free_port, run_make_demo
from tests.settings_demo_mcp import ACCESS_TOKEN_SECONDS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AGENT_NAME = "MCP agent (test)"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """``make demo`` with 5-second access tokens."""
    with run_make_demo(
        tmp_path_factory.mktemp("make-demo-mcp"),
        env={"DJANGO_SETTINGS_MODULE": "tests.settings_demo_mcp"},
    ) as server:
        yield server


def printed_mcp_url(demo: DemoServer) -> str:
    match = re.search(r"MCP server .*:\n\s+URL:\s+(\S+)", demo.output.read_text())
    assert match, demo.output.read_text()
    return match.group(1)


class Person:
    """Chromium, signing in and allowing whatever the agent sends it to; the agent's loopback.

    The SDK calls :meth:`redirect` with the authorization URL and then
    :meth:`callback` for the code: the browser follows the server's redirect
    to the agent's loopback redirect URI, which Playwright answers and reads.
    """

    def __init__(self, page: Any, demo: DemoServer, redirect_uri: str) -> None:
        self.page = page
        self.demo = demo
        self.redirect_uri = redirect_uri
        self.authorization_urls: list[str] = []
        self.consent_headings: list[str] = []
        self.response: asyncio.Future[str] | None = None

    async def start(self) -> None:
        pattern = re.compile("^" + re.escape(self.redirect_uri) + r"(\?.*)?$")
        await self.page.route(pattern, self._loopback)

    async def _loopback(self, route: Any) -> None:
        assert self.response is not None
        if not self.response.done():
            self.response.set_result(route.request.url)
        await route.fulfill(status=200, content_type="text/plain", body="You may close this tab.")

    async def redirect(self, authorization_url: str) -> None:
        self.authorization_urls.append(authorization_url)
        self.response = asyncio.get_running_loop().create_future()
        await self.page.goto(authorization_url)
        if self.response.done():
            return
        if await self.page.get_by_label("Email address").count():
            await self.page.get_by_label("Email address").fill(self.demo.email)
            await self.page.get_by_label("Password").fill(self.demo.password)
            await self.page.get_by_role("button", name="Sign in").click()
        allow = self.page.get_by_role("button", name="Allow")
        await allow.wait_for()
        self.consent_headings.append(await self.page.get_by_role("heading").first.inner_text())
        await allow.click()

    async def callback(self) -> Any:
        from mcp.shared.auth import AuthorizationCodeResult

        assert self.response is not None
        url = await asyncio.wait_for(self.response, timeout=30)
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        return AuthorizationCodeResult(
            code=params["code"], state=params.get("state"), iss=params.get("iss")
        )


class Storage:
    """The SDK's ``TokenStorage``, in memory."""

    def __init__(self, tokens: Any = None, client_info: Any = None) -> None:
        self.tokens = tokens
        self.client_info = client_info

    async def get_tokens(self) -> Any:
        return self.tokens

    async def set_tokens(self, tokens: Any) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> Any:
        return self.client_info

    async def set_client_info(self, client_info: Any) -> None:
        self.client_info = client_info


class Exchanges:
    """Every HTTP request the agent sends and the status it gets (httpx event hooks)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.statuses: list[tuple[str, str, int]] = []

    async def on_request(self, request: Any) -> None:
        form: dict[str, str] = {}
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = dict(urllib.parse.parse_qsl(request.content.decode()))
        elif request.url.path == "/o/register/":
            form = json.loads(request.content)
        self.requests.append((request.method, str(request.url), form))

    async def on_response(self, response: Any) -> None:
        request = response.request
        self.statuses.append((request.method, request.url.path, response.status_code))

    def token_requests(self) -> list[dict[str, str]]:
        return [form for method, url, form in self.requests if url.endswith("/o/token/")]


def agent(mcp_url: str, person: Person, storage: Storage, exchanges: Exchanges) -> Any:
    """An httpx client authenticating with the SDK's OAuth provider, knowing only ``mcp_url``."""
    import httpx2
    from mcp.client.auth import OAuthClientProvider
    from mcp.shared.auth import OAuthClientMetadata
    from pydantic import AnyUrl

    provider = OAuthClientProvider(
        server_url=mcp_url,
        client_metadata=OAuthClientMetadata(
            client_name=AGENT_NAME,
            redirect_uris=[AnyUrl(person.redirect_uri)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=person.redirect,
        callback_handler=person.callback,
    )
    return httpx2.AsyncClient(
        auth=provider,
        timeout=60,
        event_hooks={"request": [exchanges.on_request], "response": [exchanges.on_response]},
    )


def payload(result: Any) -> Any:
    """What a tool returned: its structured content (a list comes wrapped in ``result``)."""
    assert not result.is_error, result
    content = result.structured_content
    return content["result"] if set(content) == {"result"} else content


def refresh_rows(demo: DemoServer, client_id: str) -> list[tuple[Any, ...]]:
    return query_demo(
        demo,
        "SELECT r.token_checksum, r.revoked FROM oauth2_provider_refreshtoken r "
        "JOIN oauth2_provider_application a ON a.id = r.application_id "
        "WHERE a.client_id = ? ORDER BY r.id",
        client_id,
    )


def post_json(url: str, body: Any, token: str) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(  # noqa: S310  loopback only
        url,
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def token_request(url: str, form: dict[str, str]) -> dict[str, Any]:
    body = urllib.parse.urlencode(form).encode()
    with urllib.request.urlopen(url, data=body, timeout=10) as response:  # noqa: S310
        result: dict[str, Any] = json.loads(response.read())
        return result


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"},
    },
}


def test_the_sdk_s_oauth_client_gets_in_from_the_url_alone_and_refreshes(
    demo: DemoServer,
) -> None:
    asyncio.run(walk(demo))


async def walk(demo: DemoServer) -> None:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from playwright.async_api import async_playwright

    mcp_url = printed_mcp_url(demo)
    assert mcp_url == f"{demo.base_url}/mcp"
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await (await browser.new_context()).new_page()
        person = Person(page, demo, redirect_uri)
        await person.start()
        storage, exchanges = Storage(), Exchanges()
        try:
            async with (
                agent(mcp_url, person, storage, exchanges) as http,
                Client(streamable_http_client(mcp_url, http_client=http)) as client,
            ):
                assert payload(await client.call_tool("list_notes", {})) == []
                added = payload(await client.call_tool("add_note", {"title": "Written over MCP"}))
                assert added["title"] == "Written over MCP"
                listed = payload(await client.call_tool("list_notes", {}))
                assert [note["title"] for note in listed] == ["Written over MCP"]
                first_access_token = storage.tokens.access_token

                # The access token expires; the next call refreshes it first.
                await asyncio.sleep(ACCESS_TOKEN_SECONDS + 1.5)
                listed = payload(await client.call_tool("list_notes", {}))
                assert [note["title"] for note in listed] == ["Written over MCP"]
                refreshed_access_token = storage.tokens.access_token
        finally:
            await browser.close()

        check_discovery_registration_and_code_flow(demo, mcp_url, redirect_uri, person, exchanges)
        client_id = storage.client_info.client_id

        # The refresh really happened: a refresh_token grant for the MCP server, a new
        # access token, and the first refresh token rotated (revoked) in the demo's database.
        refreshes = [f for f in exchanges.token_requests() if f["grant_type"] == "refresh_token"]
        assert len(refreshes) == 1
        assert refreshes[0]["resource"] == mcp_url
        assert refreshed_access_token != first_access_token
        assert (
            jwt.decode(refreshed_access_token, options={"verify_signature": False})["aud"]
            == mcp_url
        )
        rows = refresh_rows(demo, client_id)
        assert len(rows) == 2
        assert rows[0][1] is not None  # revoked at rotation
        assert rows[1][1] is None
        assert len(person.authorization_urls) == 1  # refreshed, never sent back to the browser

        # The note belongs to the person who signed in.
        owners = query_demo(
            demo,
            "SELECT u.email FROM notes_note n JOIN bearer_auth_user u ON u.id = n.owner_id "
            "WHERE n.title = ?",
            "Written over MCP",
        )
        assert owners == [(demo.email,)]

        # The MCP server's token is refused by the notes API (the default resource).
        notes = urllib.request.Request(  # noqa: S310
            f"{demo.base_url}/api/notes/",
            headers={"Authorization": f"Bearer {refreshed_access_token}"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            await asyncio.to_thread(urllib.request.urlopen, notes, timeout=10)
        assert refused.value.code == 401

        await step_up(demo, mcp_url, storage, person, playwright)


def check_discovery_registration_and_code_flow(
    demo: DemoServer, mcp_url: str, redirect_uri: str, person: Person, exchanges: Exchanges
) -> None:
    base = demo.base_url
    # 1. The 401 at the MCP endpoint, then the metadata it names, then the server's.
    assert exchanges.statuses[0] == ("POST", "/mcp", 401)
    urls = [url for _, url, _ in exchanges.requests]
    prm = urls.index(f"{base}/.well-known/oauth-protected-resource/mcp")
    asm = urls.index(f"{base}/.well-known/oauth-authorization-server")
    register = urls.index(f"{base}/o/register/")
    token = urls.index(f"{base}/o/token/")
    assert prm < asm < register < token
    # 2. Registered itself: a public client with the loopback redirect URI.
    registration = exchanges.requests[register][2]
    assert registration["client_name"] == AGENT_NAME
    assert registration["redirect_uris"] == [redirect_uri]
    assert registration["token_endpoint_auth_method"] == "none"
    assert ("POST", "/o/register/", 201) in exchanges.statuses
    # 3. Code flow with PKCE S256 and the MCP server as the resource; the person saw the agent.
    (authorization_url,) = person.authorization_urls
    assert authorization_url.startswith(f"{base}/o/authorize/?")
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorization_url).query))
    assert params["code_challenge_method"] == "S256"
    assert params["resource"] == mcp_url
    assert set(params["scope"].split()) == {"notes:read", "notes:write"}
    assert AGENT_NAME in person.consent_headings[0]
    exchange = exchanges.token_requests()[0]
    assert exchange["grant_type"] == "authorization_code"
    assert exchange["resource"] == mcp_url
    assert len(exchange["code_verifier"]) >= 43
    assert "client_secret" not in exchange


async def step_up(
    demo: DemoServer, mcp_url: str, storage: Storage, person: Person, playwright: Any
) -> None:
    """A read-only token: add_note is 403 naming notes:write; the SDK asks for it and goes on."""
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared.auth import OAuthToken

    # Narrow the grant to notes:read (RFC 6749 §6) for the MCP server.
    narrowed = await asyncio.to_thread(
        token_request,
        f"{demo.base_url}/o/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": storage.tokens.refresh_token,
            "client_id": storage.client_info.client_id,
            "scope": "notes:read",
            "resource": mcp_url,
        },
    )
    assert narrowed["scope"] == "notes:read"
    read_only = narrowed["access_token"]

    status, headers, body = await asyncio.to_thread(post_json, mcp_url, INITIALIZE, read_only)
    assert status == 200, body  # the read-only token is good at the MCP server
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "add_note", "arguments": {"title": "Not written"}},
    }
    status, headers, body = await asyncio.to_thread(post_json, mcp_url, call, read_only)
    assert status == 403
    challenge = {key.lower(): value for key, value in headers.items()}["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="notes:write"' in challenge
    assert (
        f'resource_metadata="{demo.base_url}/.well-known/oauth-protected-resource/mcp"' in challenge
    )
    assert json.loads(body)["error"] == "insufficient_scope"

    # The SDK's client holding the read-only token steps up on that 403.
    browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        page = await (await browser.new_context()).new_page()
        stepping = Person(page, demo, person.redirect_uri)
        await stepping.start()
        tokens = OAuthToken(
            access_token=read_only,
            token_type="Bearer",
            expires_in=narrowed["expires_in"],
            scope="notes:read",
            refresh_token=narrowed["refresh_token"],
        )
        stepped = Storage(tokens, storage.client_info)
        exchanges = Exchanges()
        async with (
            agent(mcp_url, stepping, stepped, exchanges) as http,
            Client(streamable_http_client(mcp_url, http_client=http)) as client,
        ):
            added = payload(await client.call_tool("add_note", {"title": "Stepped up"}))
            assert added["title"] == "Stepped up"
    finally:
        await browser.close()
    assert ("POST", "/mcp", 403) in exchanges.statuses
    (authorization_url,) = stepping.authorization_urls
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorization_url).query))
    assert "notes:write" in params["scope"].split()
    assert params["resource"] == mcp_url
    assert "notes:write" in stepped.tokens.scope.split()
    assert "/o/register/" not in [url for _, url, _ in exchanges.requests]  # same client


def test_a_token_for_another_resource_is_refused_at_the_mcp_endpoint(demo: DemoServer) -> None:
    """A first-party sign-in's token (the default resource, the notes API) is 401 at /mcp."""
    signed_in = token_request(
        f"{demo.base_url}/auth/token/", {"email": demo.email, "password": demo.password}
    )
    token = signed_in["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == demo.base_url
    status, headers, body = post_json(printed_mcp_url(demo), INITIALIZE, token)
    assert status == 401, body
    challenge = {key.lower(): value for key, value in headers.items()}["www-authenticate"]
    assert 'error="invalid_token"' in challenge
    assert (
        f'resource_metadata="{demo.base_url}/.well-known/oauth-protected-resource/mcp"' in challenge
    )
    # It still works where it was issued for.
    request = urllib.request.Request(  # noqa: S310
        f"{demo.base_url}/api/notes/", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200


def test_the_protected_resource_metadata_names_the_authorization_server(
    demo: DemoServer,
) -> None:
    url = f"{demo.base_url}/.well-known/oauth-protected-resource/mcp"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
        metadata = json.loads(response.read())
    assert metadata["resource"] == printed_mcp_url(demo)
    assert metadata["authorization_servers"] == [demo.base_url]
    assert set(metadata["scopes_supported"]) == {"notes:read", "notes:write"}
