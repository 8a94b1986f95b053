"""docs/browser-apps.md's JavaScript, run in Chromium against a live server.

The page's ``auth.js`` module is served (by Playwright) from the API's own
origin, with its ``API`` constant set to the live server: sign in, call the
API, refresh, reload the module (the cookie is all that is left), sign out.
The app on another origin, CORS included, is ``tests/browser/test_spa.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM_ARGS
from tests.conftest import CHROMIUM
from tests.docs.markdown import sample

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGE = "docs/browser-apps.md"
FETCH = sample(PAGE, "browser-fetch")
DOCUMENTED_API = 'const API = "https://api.example.com";'


@pytest.fixture
def app_page(
    live_server: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, _service_requirements: None
) -> Iterator[Any]:
    """A page at ``<live server>/app/`` that imports the page's module as ``window.auth``."""
    from playwright.sync_api import sync_playwright

    # Plain http on a loopback host: DEBUG relaxes Secure (the page says so).
    settings.DEBUG = True
    # Playwright's sync API keeps an event loop in this thread; the test's own
    # queries between browser steps are not async code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    module = FETCH.block.text
    assert DOCUMENTED_API in module
    module = module.replace(DOCUMENTED_API, f'const API = "{live_server.url}";')
    html = (
        "<!doctype html><title>app</title><script type=module>"
        "import * as auth from './auth.js'; window.auth = auth;"
        "</script>"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context()
        page = context.new_page()
        page.route(
            f"{live_server.url}/app/",
            lambda route: route.fulfill(status=200, content_type="text/html", body=html),
        )
        page.route(
            f"{live_server.url}/app/auth.js",
            lambda route: route.fulfill(status=200, content_type="text/javascript", body=module),
        )
        page.goto(f"{live_server.url}/app/")
        page.wait_for_function("window.auth !== undefined")
        try:
            yield page
        finally:
            context.close()
            browser.close()


def whoami(page: Any) -> Any:
    return page.evaluate(
        "async () => { const r = await auth.api('/test-api/whoami/');"
        " return [r.status, await r.json()]; }"
    )


def test_the_documented_module_signs_in_refreshes_and_signs_out(
    app_page: Any, user: Any, password: str
) -> None:
    page = app_page
    page.evaluate("([e, p]) => auth.signIn(e, p)", [user.email, password])

    status, body = whoami(page)
    assert status == 200, body
    [cookie] = page.context.cookies()
    assert cookie["name"] == "bearer_refresh"
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""

    page.evaluate("() => auth.refresh()")
    assert whoami(page)[0] == 200
    assert page.context.cookies()[0]["value"] != cookie["value"]

    # A reload forgets the access token; the cookie signs the app in again.
    page.reload()
    page.wait_for_function("window.auth !== undefined")
    assert whoami(page)[0] == 401
    page.evaluate("() => auth.refresh()")
    assert whoami(page)[0] == 200

    page.evaluate("() => auth.signOut()")
    assert page.context.cookies() == []
    refused = page.evaluate("() => auth.refresh().then(() => 'refreshed', (e) => e.message)")
    assert refused == "No refresh cookie was sent."
