"""A person walks ``/client/oidc/``, the demo client's OpenID Connect variant, in Chromium.

Under ``make demo``: the client asks for ``openid email profile`` with a
nonce, validates the ID token against the discovery document and the JWKS
(every check shown), sees a tampered copy fail, reads UserInfo and signs out
at both ends with RP-initiated logout.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.demo_client import (
    WHOLE_JWT,
    allow,
    authorization_request,
    choose_sign_in,
    printed_client_id,
    query_demo,
    sign_in,
    stored_client_secret,
)
from tests.processes import DemoServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ID_TOKEN_CHECKS = ["alg", "signature", "iss", "aud", "exp", "nonce", "at_hash"]


def _checks(page: Any, table: str) -> dict[str, bool]:
    rows = page.locator(f"#{table} tbody tr")
    return {
        str(rows.nth(index).get_attribute("data-check")): rows.nth(index).get_attribute(
            "data-passed"
        )
        == "true"
        for index in range(rows.count())
    }


def test_user_signs_in_with_openid_connect_and_the_id_token_is_validated(
    page: Any, demo: DemoServer
) -> None:
    client_id = printed_client_id(demo)
    assert f"try it at {demo.base_url}/client/oidc/" in demo.output.read_text()
    page.goto(f"{demo.base_url}/")
    page.get_by_role("link", name="Demo OpenID Connect client").click()
    expect(page.locator("#client-id")).to_have_text(client_id)
    expect(page.locator("#step-1")).to_contain_text("openid email profile")

    # Steps 2 and 3: the authorization request asks for openid with a nonce.
    choose_sign_in(page)
    path, params = authorization_request(page)
    assert path == "/o/authorize/"
    assert params["scope"] == "openid email profile"
    assert params["redirect_uri"] == f"{demo.base_url}/client/oidc/callback/"
    nonce = params["nonce"]

    sign_in(page, demo)
    allow(page, "Sign you in with your account", "See your name", "See your email address")

    # Steps 4 to 6: the code, the exchange, the ID token validated against discovery.
    page.wait_for_url(f"{demo.base_url}/client/oidc/#step-4")
    expect(page.locator("#nonce")).to_have_text(nonce)
    page.get_by_role("button", name="Exchange the code for a token").click()
    expect(page.locator("#step-5")).to_contain_text('"id_token": "eyJ')
    expect(page.locator("#discovery")).to_contain_text(
        f"GET {demo.base_url}/.well-known/openid-configuration"
    )
    expect(page.locator("#id-token-verdict")).to_have_text("ID token accepted: every check passed.")
    assert _checks(page, "id-token-checks") == dict.fromkeys(ID_TOKEN_CHECKS, True)
    header = json.loads(page.locator("#id-token-header").inner_text())
    claims = json.loads(page.locator("#id-token-claims").inner_text())
    assert header["typ"] == "JWT"
    assert claims["aud"] == client_id
    assert claims["nonce"] == nonce
    assert claims["email"] == demo.email
    (public_id,) = query_demo(
        demo, "SELECT public_id FROM bearer_auth_user WHERE email = ?", demo.email
    )[0]
    assert claims["sub"].replace("-", "") == str(public_id).replace("-", "")
    expect(page.locator("#step-6 .state.done")).to_have_count(1)

    # A copy naming someone else, signature kept, fails visibly.
    page.get_by_role("button", name="Validate a tampered copy").click()
    expect(page.locator("#tampered-verdict")).to_have_text("ID token rejected: a check failed.")
    assert _checks(page, "tampered-checks") == {
        **dict.fromkeys(ID_TOKEN_CHECKS, True),
        "signature": False,
    }
    assert json.loads(page.locator("#tampered-claims").inner_text())["sub"] == "mallory"
    expect(page.locator("#id-token-verdict")).to_have_text("ID token accepted: every check passed.")

    # Step 7: UserInfo with the access token.
    page.get_by_role("button", name="Call UserInfo").click()
    step_7 = page.locator("#step-7")
    expect(step_7).to_contain_text(f"GET {demo.base_url}/o/userinfo/")
    expect(step_7).to_contain_text("HTTP 200 OK")
    expect(step_7).to_contain_text(f'"email": "{demo.email}"')
    expect(page.locator("#userinfo-sub")).to_contain_text("sub is the ID token's sub")

    html = page.content()
    assert stored_client_secret(demo) not in html
    assert not WHOLE_JWT.search(html)

    # Step 8: RP-initiated logout ends the session at the server and comes back.
    page.get_by_role("button", name="Sign out at the demo server").click()
    page.wait_for_url(f"{demo.base_url}/client/oidc/#step-8")
    expect(page.locator("#signed-out")).to_contain_text("Signed out.")
    expect(page.locator("#logout-request")).to_contain_text(f"GET {demo.base_url}/o/logout/?")
    expect(page.get_by_role("button", name="Call UserInfo")).to_have_count(0)
    page.goto(f"{demo.base_url}/admin/")
    page.wait_for_url(re.compile(r"/admin/login/"))
