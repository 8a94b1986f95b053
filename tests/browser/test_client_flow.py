"""A person walks ``/client/``'s seven OAuth steps in Chromium, under ``make demo`` and gunicorn.

The demo client calls the server it runs in over HTTP (token endpoint, JWKS,
notes API) while that server is busy with the browser's request: this works
under the README's ``make demo`` (uvicorn) and under gunicorn with two workers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

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
from tests.processes import DemoServer, run_gunicorn_demo, run_make_demo

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SERVERS: dict[str, Callable[[Path], AbstractContextManager[DemoServer]]] = {
    "make-demo": run_make_demo,
    "gunicorn-2-workers": run_gunicorn_demo,
}


@pytest.fixture(scope="module", params=sorted(SERVERS))
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with SERVERS[request.param](tmp_path_factory.mktemp(request.param)) as server:
        yield server


def test_user_walks_the_seven_steps_to_the_notes_api(page: Any, demo: DemoServer) -> None:
    client_id = printed_client_id(demo)
    page.goto(f"{demo.base_url}/")
    page.get_by_role("link", name="Demo OAuth client").click()

    # 1. Registered by demo_setup: the client_id is shown, the secret is not.
    expect(page.locator("#client-id")).to_have_text(client_id)

    # 2. The person chooses to sign in via the third party; 3. the browser is redirected.
    choose_sign_in(page)
    path, params = authorization_request(page)
    assert path == "/o/authorize/"
    assert params["client_id"] == client_id
    assert params["response_type"] == "code"
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert params["scope"] == "notes:read notes:write"
    assert params["redirect_uri"] == f"{demo.base_url}/client/callback/"
    state = params["state"]

    sign_in(page, demo)
    allow(page, "Read your notes", "Create, change and delete your notes")

    # 4. The code arrives at the callback with the same state.
    page.wait_for_url(f"{demo.base_url}/client/#step-4")
    step_3 = page.locator("#step-3")
    expect(step_3).to_contain_text(state)
    expect(step_3).to_contain_text(params["code_challenge"])
    step_4 = page.locator("#step-4")
    expect(step_4).to_contain_text("state: matches the value sent at step 3.")
    expect(step_4).to_contain_text("/client/callback/?code=")
    expect(step_4).to_contain_text("chars)")

    # 5. The token request, server to server, with HTTP Basic client authentication.
    page.get_by_role("button", name="Exchange the code for a token").click()
    step_5 = page.locator("#step-5")
    expect(step_5).to_contain_text(f"POST {demo.base_url}/o/token/")
    expect(step_5).to_contain_text("Authorization: Basic ")
    expect(step_5).to_contain_text("grant_type=authorization_code")
    expect(step_5).to_contain_text("code_verifier=")
    expect(step_5).to_contain_text("HTTP 200 OK")
    expect(step_5).to_contain_text("Cache-Control: no-store")
    expect(step_5).to_contain_text('"token_type": "Bearer"')

    # 6. The access token: verified against the JWKS, header and claims shown.
    expect(page.locator("#token-check")).to_contain_text("Signature verified with key")
    header = json.loads(page.locator("#token-header").inner_text())
    claims = json.loads(page.locator("#token-claims").inner_text())
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "RS256"
    assert header["kid"] in page.locator("#token-check").inner_text()
    assert claims["client_id"] == client_id
    assert set(claims["scope"].split()) == {"notes:read", "notes:write"}
    assert claims["exp"] > claims["iat"]
    (public_id,) = query_demo(
        demo, "SELECT public_id FROM bearer_auth_user WHERE email = ?", demo.email
    )[0]
    assert claims["sub"].replace("-", "") == str(public_id).replace("-", "")

    # 7. The notes API with the bearer token: a note is written, then listed.
    page.get_by_label("Note title").fill("Written by the demo client")
    page.get_by_role("button", name="Add a note").click()
    created = page.locator("#step-7 .exchange").first
    expect(created).to_contain_text(f"POST {demo.base_url}/api/notes/")
    expect(created).to_contain_text("HTTP 201 Created")
    page.get_by_role("button", name="List my notes").click()
    listed = page.locator("#step-7 .exchange").first
    expect(listed).to_contain_text(f"GET {demo.base_url}/api/notes/")
    expect(listed).to_contain_text("Authorization: Bearer eyJ")
    expect(listed).to_contain_text("HTTP 200 OK")
    expect(listed).to_contain_text('"title": "Written by the demo client"')

    owners = query_demo(
        demo,
        "SELECT u.email FROM notes_note n JOIN bearer_auth_user u ON u.id = n.owner_id "
        "WHERE n.title = ?",
        "Written by the demo client",
    )
    assert demo.email in {email for (email,) in owners}
    html = page.content()
    assert stored_client_secret(demo) not in html
    assert not WHOLE_JWT.search(html)


def test_callback_refuses_missing_or_wrong_state_and_the_real_flow_survives(
    page: Any, demo: DemoServer
) -> None:
    callback = f"{demo.base_url}/client/callback/"
    response = page.goto(f"{callback}?code=forged&state=forged")
    assert response.status == 400
    expect(page.get_by_role("alert")).to_contain_text(
        "no sign-in started in this browser is waiting for a callback"
    )

    page.goto(f"{demo.base_url}/client/")
    choose_sign_in(page)
    authorization_url = demo.base_url + unquote(parse_qs(urlsplit(page.url).query)["next"][0])
    state = parse_qs(urlsplit(authorization_url).query)["state"][0]

    response = page.goto(f"{callback}?code=forged&state=not-the-state")
    assert response.status == 400
    expect(page.get_by_role("alert")).to_contain_text(
        "the state parameter does not match the one this browser was sent with at step 3"
    )
    response = page.goto(f"{callback}?code=forged")
    assert response.status == 400
    expect(page.get_by_role("alert")).to_contain_text("the callback carries no state parameter")
    expect(page.get_by_role("button", name="Exchange the code for a token")).to_have_count(0)

    # The forged callbacks changed nothing: the real authorization response is still accepted.
    page.goto(authorization_url)
    sign_in(page, demo)
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{demo.base_url}/client/#step-4")
    expect(page.locator("#step-4")).to_contain_text("state: matches the value sent at step 3.")
    page.get_by_role("button", name="Exchange the code for a token").click()
    expect(page.locator("#token-check")).to_contain_text("Signature verified with key")

    # Replaying the callback with the state already used is refused too.
    response = page.goto(f"{callback}?code=forged&state={state}")
    assert response.status == 400
    expect(page.get_by_role("alert")).to_contain_text("it has already been completed")
