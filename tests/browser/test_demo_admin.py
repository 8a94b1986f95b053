"""The README's demo command, then a real browser signs in to the admin by email."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.processes import run_make_demo

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_printed_superuser_signs_in_to_admin_with_email(page: Any, tmp_path: Path) -> None:
    with run_make_demo(tmp_path) as demo:
        assert demo.password != "admin"
        assert len(demo.password) >= 12
        page.goto(f"{demo.base_url}/")
        assert page.title() == "bearer_auth demo"
        page.get_by_role("link", name="Admin").click()
        assert "/admin/login/" in page.url
        page.fill("#id_username", demo.email.upper())
        page.fill("#id_password", demo.password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{demo.base_url}/admin/")
        expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
        page.get_by_role("link", name="Users").first.click()
        expect(page.locator("#result_list").get_by_role("link", name=demo.email)).to_be_visible()


def test_login_page_rejects_wrong_password_then_accepts_email(page: Any, tmp_path: Path) -> None:
    with run_make_demo(tmp_path) as demo:
        page.goto(f"{demo.base_url}/accounts/login/")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        page.get_by_label("Email address").fill(demo.email)
        page.get_by_label("Password").fill("not-the-password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("enter a correct email address")
        page.get_by_label("Password").fill(demo.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{demo.base_url}/")
        expect(page.get_by_text(f"Signed in as {demo.email}.")).to_be_visible()
