"""Admin and CSRF attacks (RFC 6749 §10.12-10.13; OWASP ASVS V3 web frontend, V7 sessions).

``tests/test_admin_oauth.py`` covers masking column by column, permissions
and the CSRF token of admin actions; ``tests/test_consent.py`` the consent
form's CSRF token. Here: every admin page crawled after every flow shows no
secret; a CSRF token of another session is refused; a browser session
(cookie) is worth nothing on the bearer API and the token endpoints; pages a
user signs in on cannot be framed.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.test import APIClient

from tests.first_party import ME_URL, REFRESH_URL, REVOKE_URL, SESSIONS_URL, me_status, sign_in
from tests.oauth_client import (
    authorization_params,
    form_fields,
    make_application,
    signed_in_browser,
)
from tests.security.flows import hand_out_every_secret

pytestmark = pytest.mark.django_db


def _admin_pages(superuser: Any) -> list[str]:
    """The changelist and every object's change page of every model the admin lists.

    A registered page the admin does not list (DOT's ID tokens while OpenID
    Connect is off) answers 403 and shows nothing.
    """
    request = RequestFactory().get("/admin/")
    request.user = superuser
    pages = []
    for app in admin.site.get_app_list(request):
        for entry in app["models"]:
            model = entry["model"]
            model_admin = admin.site.get_model_admin(model)
            pages.append(entry["admin_url"])
            for pk in model_admin.get_queryset(request).values_list("pk", flat=True)[:20]:
                meta = model._meta
                pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[pk]))
    return pages


def test_no_admin_page_shows_a_secret(admin_user_: Any, admin_browser: Client) -> None:
    """DOT 3.4.0 (PR #1736) showed clear tokens and codes in its admin; ours shows none."""
    secrets = hand_out_every_secret(leave_a_code_unredeemed=True)
    pages = _admin_pages(admin_user_)
    assert len(pages) > 10
    for page in pages:
        response = admin_browser.get(page)
        assert response.status_code == 200, (page, response.status_code)
        content = response.content.decode()
        shown = sorted(name for name, value in secrets.items() if value in content)
        assert shown == [], (page, shown)


def test_admin_sign_in_needs_the_csrf_token(admin_user_: Any, password: str) -> None:
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(
        "/admin/login/", {"username": admin_user_.get_username(), "password": password}
    )
    assert response.status_code == 403
    assert "_auth_user_id" not in browser.session


def test_consent_with_a_csrf_token_of_another_session_is_refused(user: Any) -> None:
    """The attacker's own (valid) CSRF token does not work in the victim's session."""
    from oauth2_provider.models import get_grant_model

    from tests.factories import UserFactory

    application = make_application()
    params = authorization_params(application)
    attacker = signed_in_browser(UserFactory(), enforce_csrf_checks=True)
    fields = form_fields(attacker.get("/o/authorize/", params).content.decode())
    victim = signed_in_browser(user, enforce_csrf_checks=True)
    victim.get("/o/authorize/", params)  # the victim has a CSRF cookie of their own
    response = victim.post("/o/authorize/", {**fields, "allow": "on"})
    assert response.status_code == 403
    assert not get_grant_model().objects.exists()


def test_a_browser_session_is_worth_nothing_on_the_bearer_api(
    admin_user_: Any, user: Any, password: str
) -> None:
    """Cross-site requests carry cookies, never an ``Authorization`` header: nothing happens."""
    pair = sign_in(user, password)
    for who in (user, admin_user_):
        browser = signed_in_browser(who, enforce_csrf_checks=True)
        assert browser.get(ME_URL).status_code == 401
        assert browser.delete(SESSIONS_URL).status_code == 401
        assert browser.get(SESSIONS_URL).status_code == 401
    assert me_status(pair["access_token"]) == 200


def test_token_endpoints_do_not_read_the_session_cookie(user: Any, password: str) -> None:
    """The token endpoints are CSRF-exempt because they accept no ambient credential."""
    pair = sign_in(user, password)
    browser = signed_in_browser(user)
    for path, data in ((REVOKE_URL, {}), (REFRESH_URL, {}), ("/auth/token/", {})):
        response = browser.post(path, data, content_type="application/json")
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"
    # Nothing was revoked and no token minted for the cookie's user.
    assert me_status(pair["access_token"]) == 200
    assert (
        APIClient()
        .post(REFRESH_URL, {"refresh_token": pair["refresh_token"]}, format="json")
        .status_code
        == 200
    )


@pytest.mark.parametrize("path", ["/admin/login/", "/admin/"])
def test_admin_pages_cannot_be_framed(admin_user_: Any, path: str) -> None:
    browser = Client()
    if path == "/admin/":
        browser.force_login(admin_user_)
    response = browser.get(path)
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
