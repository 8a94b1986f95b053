"""What the demo-client browser tests share: reading the demo's output and database, signing in."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.processes import DemoServer

CLIENT_NAME = "Notes client (demo)"
# A whole compact JWS (three base64url parts): a token that should never be on a page.
WHOLE_JWT = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]{20,}")


def printed_client_id(demo: DemoServer) -> str:
    match = re.search(r"client_id:\s+(\S+)", demo.output.read_text())
    assert match, demo.output.read_text()
    return match.group(1)


def demo_database(demo: DemoServer) -> Path:
    return demo.output.parent / "demo.sqlite3"


def query_demo(demo: DemoServer, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(demo_database(demo))) as connection:
        return list(connection.execute(sql, params))


def stored_client_secret(demo: DemoServer) -> str:
    rows = query_demo(demo, "SELECT client_secret FROM demo_client_clientregistration")
    assert len(rows) == 1
    return str(rows[0][0])


def choose_sign_in(page: Any) -> None:
    """Step 2 on ``/client/``: sign in via the server; the browser lands on its sign-in page."""
    page.get_by_role("button", name="Sign in with bearer_auth demo").click()
    page.wait_for_url(re.compile(r"/accounts/login/\?next="))


def sign_in(page: Any, demo: DemoServer) -> None:
    """Fill the demo's sign-in page, where the authorization endpoint sends an anonymous user."""
    page.get_by_label("Email address").fill(demo.email)
    page.get_by_label("Password").fill(demo.password)
    page.get_by_role("button", name="Sign in").click()


def authorization_request(page: Any) -> tuple[str, dict[str, str]]:
    """The path and parameters of the authorization request the sign-in page will resume.

    After :func:`choose_sign_in`, an anonymous browser is on the sign-in page,
    whose ``next`` is the client's authorization request.
    """
    authorization = urlsplit(parse_qs(urlsplit(page.url).query)["next"][0])
    params = {key: values[0] for key, values in parse_qs(authorization.query).items()}
    return authorization.path, params


def allow(page: Any, *scope_descriptions: str) -> None:
    """On the consent page: check it names the client and ``scope_descriptions``, then allow."""
    from playwright.sync_api import expect

    expect(
        page.get_by_role("heading", name=f"Allow {CLIENT_NAME} to use your account?")
    ).to_be_visible()
    for description in scope_descriptions:
        expect(page.get_by_text(description)).to_be_visible()
    page.get_by_role("button", name="Allow").click()
