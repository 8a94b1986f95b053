"""Saying no: to the demo client (step 2), and on the consent page at ``/o/authorize/``."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.demo_client import CLIENT_NAME, choose_sign_in, query_demo, sign_in
from tests.processes import DemoServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _token_rows(demo: DemoServer) -> int:
    (count,) = query_demo(demo, "SELECT COUNT(*) FROM oauth2_provider_accesstoken")[0]
    return int(count)


def _grant_rows(demo: DemoServer) -> int:
    (count,) = query_demo(demo, "SELECT COUNT(*) FROM oauth2_provider_grant")[0]
    return int(count)


def test_denying_consent_brings_access_denied_back_to_the_client(
    page: Any, demo: DemoServer
) -> None:
    grants, tokens = _grant_rows(demo), _token_rows(demo)
    page.goto(f"{demo.base_url}/client/")
    choose_sign_in(page)
    sign_in(page, demo)
    expect(
        page.get_by_role("heading", name=f"Allow {CLIENT_NAME} to use your account?")
    ).to_be_visible()
    page.get_by_role("button", name="Deny").click()

    page.wait_for_url(f"{demo.base_url}/client/#step-4")
    error = page.locator("#callback-error")
    expect(error).to_have_attribute("role", "alert")
    expect(error).to_contain_text("The authorization server answered with an error: access_denied")
    step_4 = page.locator("#step-4")
    expect(step_4).to_contain_text("error=access_denied")
    expect(step_4).to_contain_text("state: matches the value sent at step 3.")
    expect(step_4.locator(".state.done")).to_have_count(0)
    # No code came back, so there is nothing to exchange and no token to use.
    expect(page.get_by_role("button", name="Exchange the code for a token")).to_have_count(0)
    expect(page.get_by_role("button", name="List my notes")).to_have_count(0)
    assert (_grant_rows(demo), _token_rows(demo)) == (grants, tokens)


def test_declining_at_the_client_sends_nothing_to_the_server(page: Any, demo: DemoServer) -> None:
    requests_seen: list[str] = []
    page.on("request", lambda request: requests_seen.append(request.url))
    page.goto(f"{demo.base_url}/client/")
    page.get_by_role("button", name="No, thanks").click()

    page.wait_for_url(f"{demo.base_url}/client/#step-2")
    expect(page.locator("#declined")).to_have_text(
        "You chose not to sign in. Nothing was sent to the authorization server."
    )
    expect(page.locator("#step-3")).to_contain_text("Not yet.")
    assert not [url for url in requests_seen if "/o/" in url or "/accounts/login/" in url]
