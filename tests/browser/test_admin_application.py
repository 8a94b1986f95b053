"""An administrator registers an OAuth client in the admin and sees its secret exactly once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from oauthlib.oauth2 import BackendApplicationClient, InvalidClientError
from playwright.sync_api import expect
from requests_oauthlib import OAuth2Session

from tests.browser.demo_client import query_demo
from tests.processes import DemoServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

APPLICATION_NAME = "Partner reporting service"


@pytest.fixture(autouse=True)
def _http_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # The demo serves plain http on 127.0.0.1; oauthlib refuses http without this.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def _sign_in_to_admin(page: Any, demo: DemoServer) -> None:
    page.goto(f"{demo.base_url}/admin/")
    page.fill("#id_username", demo.email)
    page.fill("#id_password", demo.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{demo.base_url}/admin/")


def _client_credentials_token(demo: DemoServer, client_id: str, secret: str) -> dict[str, Any]:
    """Ask the token endpoint for a token with requests-oauthlib (client_secret_basic)."""
    oauth = OAuth2Session(client=BackendApplicationClient(client_id, scope=["notes:read"]))
    token: dict[str, Any] = oauth.fetch_token(
        f"{demo.base_url}/o/token/", client_secret=secret, timeout=10
    )
    return token


def _create_application(page: Any, name: str) -> tuple[str, str]:
    """Fill the add form as an administrator would; return the shown client_id and secret."""
    page.get_by_role("link", name="Applications").first.click()
    page.get_by_role("link", name=re.compile("Add application")).click()
    page.get_by_role("textbox", name="Name:", exact=True).fill(name)
    page.get_by_label("Client type").select_option("confidential")
    page.get_by_label("Authorization grant type").select_option("client-credentials")
    page.get_by_role("checkbox", name="notes:read: Read your notes").check()
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_role("alert")).to_contain_text(
        "Copy each client secret now. It is shown only this once"
    )
    row = page.get_by_role("row").filter(has_text=name)
    client_id = row.locator("td").nth(1).inner_text().strip()
    secret = row.locator("code.client-secret").inner_text().strip()
    return client_id, secret


def test_admin_creates_an_application_and_sees_its_secret_once(page: Any, demo: DemoServer) -> None:
    _sign_in_to_admin(page, demo)
    client_id, secret = _create_application(page, APPLICATION_NAME)
    assert len(secret) >= 40

    # Only a hash is kept, and the policy holds the ticked scope.
    ((stored, application_id),) = query_demo(
        demo,
        "SELECT client_secret, id FROM oauth2_provider_application WHERE client_id = ?",
        client_id,
    )
    assert stored != secret
    assert stored.startswith("pbkdf2_sha256$")
    assert query_demo(
        demo,
        "SELECT allowed_scopes FROM bearer_auth_applicationpolicy WHERE application_id = ?",
        application_id,
    ) == [("notes:read",)]

    # The secret shown is the one that works at the token endpoint.
    token = _client_credentials_token(demo, client_id, secret)
    assert token["token_type"] == "Bearer"
    assert token["scope"] == ["notes:read"]

    # Never shown again: not on the list, not on the change page.
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_role("link", name=APPLICATION_NAME)).to_be_visible()
    assert secret not in page.content()
    page.get_by_role("link", name=APPLICATION_NAME).click()
    expect(page.get_by_role("heading", name=re.compile("Change application"))).to_be_visible()
    expect(page.locator("#content-main")).to_contain_text(client_id)
    assert secret not in page.content()
    assert stored not in page.content()
    expect(page.locator("[name=client_secret]")).to_have_count(0)


def test_regenerated_secret_is_shown_once_and_replaces_the_old_one(
    page: Any, demo: DemoServer
) -> None:
    _sign_in_to_admin(page, demo)
    client_id, old_secret = _create_application(page, "Nightly export job")
    page.get_by_role("link", name="Done").click()

    page.get_by_role("row").filter(has_text=client_id).get_by_role("checkbox").check()
    page.locator("select[name=action]").select_option(label="Regenerate client secret")
    # The admin's action button: "Go" until Django 5.2, "Run" from 6.0; its name is "index".
    page.locator('button[name="index"]').click()
    expect(page.get_by_role("heading", name="New client secrets")).to_be_visible()
    new_secret = (
        page.get_by_role("row").filter(has_text=client_id).locator("code.client-secret")
    ).inner_text()
    assert new_secret != old_secret

    assert _client_credentials_token(demo, client_id, new_secret)["token_type"] == "Bearer"
    with pytest.raises(InvalidClientError):
        _client_credentials_token(demo, client_id, old_secret)
    page.get_by_role("link", name="Done").click()
    assert new_secret not in page.content()
