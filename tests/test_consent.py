"""The consent page at /o/authorize/: content, accessibility, deny, CSRF, framing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from oauth2_provider.models import get_grant_model

from tests.oauth_client import (
    authorization_params,
    consent,
    form_fields,
    make_application,
    query_of,
    signed_in_browser,
)

pytestmark = pytest.mark.django_db


def test_anonymous_user_is_sent_to_sign_in_first() -> None:
    application = make_application()
    response = Client().get("/o/authorize/", authorization_params(application))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/o/authorize/")


def test_consent_page_names_the_client_and_the_scopes_in_plain_words(
    browser: Client, user: Any
) -> None:
    application = make_application(name="Note Taker")
    response = browser.get(
        "/o/authorize/", authorization_params(application, scope="read notes:write")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Allow Note Taker to use your account?" in html
    assert "Read your account" in html
    assert "Create, change and delete your notes" in html
    assert user.get_username() in html
    assert "https://client.example/callback" in html
    assert '<html lang="en' in html
    assert "<h1" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<button type="submit" name="allow" value="on">Allow</button>' in html
    assert '<button type="submit" class="secondary">Deny</button>' in html
    assert response["X-Frame-Options"] == "DENY"
    assert "no-store" in response["Cache-Control"]
    assert not get_grant_model().objects.exists()


def test_client_name_is_escaped(browser: Client) -> None:
    application = make_application(name="<script>alert(1)</script>")
    html = browser.get("/o/authorize/", authorization_params(application)).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_allow_redirects_with_a_code_state_and_iss(browser: Client) -> None:
    application = make_application()
    params = authorization_params(application)
    response = consent(browser, params, allow=True)
    assert response.status_code == 302
    result = query_of(response["Location"])
    assert set(result) == {"code", "state", "iss"}
    assert result["state"] == params["state"]
    assert result["iss"] == "https://issuer.test"
    assert get_grant_model().objects.count() == 1


def test_deny_redirects_with_access_denied_and_issues_nothing(browser: Client) -> None:
    application = make_application()
    params = authorization_params(application)
    response = consent(browser, params, allow=False)
    assert response.status_code == 302
    assert response["Location"].startswith("https://client.example/callback?")
    result = query_of(response["Location"])
    assert result["error"] == "access_denied"
    assert result["state"] == params["state"]
    assert result["iss"] == "https://issuer.test"
    assert "code" not in result
    assert not get_grant_model().objects.exists()


def test_consent_post_without_csrf_token_is_refused(user: Any) -> None:
    application = make_application()
    browser = signed_in_browser(user, enforce_csrf_checks=True)
    page = browser.get("/o/authorize/", authorization_params(application))
    fields = form_fields(page.content.decode())
    fields.pop("csrfmiddlewaretoken")
    response = browser.post("/o/authorize/", {**fields, "allow": "on"})
    assert response.status_code == 403
    assert not get_grant_model().objects.exists()
    # With the token from the page the same answer goes through.
    good = browser.post("/o/authorize/", {**form_fields(page.content.decode()), "allow": "on"})
    assert good.status_code == 302
    assert "code" in query_of(good["Location"])


def test_unknown_client_gets_an_error_page_not_a_redirect(browser: Client) -> None:
    application = make_application()
    response = browser.get(
        "/o/authorize/", authorization_params(application, client_id="no-such-client")
    )
    assert response.status_code == 400
    assert "Location" not in response
    html = response.content.decode()
    assert "This authorization request cannot be completed" in html
    assert 'role="alert"' in html
    assert response["X-Frame-Options"] == "DENY"


def test_request_without_scope_shows_the_default_scopes(browser: Client) -> None:
    application = make_application()
    params = authorization_params(application)
    params.pop("scope")
    html = browser.get("/o/authorize/", params).content.decode()
    assert "Read your account" in html
    assert "Read your notes" not in html


def test_consenting_to_a_request_without_scope_grants_the_default_scopes(browser: Client) -> None:
    application = make_application()
    params = authorization_params(application)
    params.pop("scope")
    response = consent(browser, params, allow=True)
    assert response.status_code == 302, response.content
    result = query_of(response["Location"])
    assert set(result) == {"code", "state", "iss"}
    assert get_grant_model().objects.get().scope == "read"


def test_request_without_scope_and_no_allowed_default_is_invalid_scope(browser: Client) -> None:
    application = make_application(allowed_scopes="notes:read")
    params = authorization_params(application)
    params.pop("scope")
    response = browser.get("/o/authorize/", params)
    assert response.status_code == 302, response.content
    assert query_of(response["Location"])["error"] == "invalid_scope"


def test_consent_posted_without_scope_is_an_error_page_not_a_500(browser: Client) -> None:
    application = make_application()
    page = browser.get("/o/authorize/", authorization_params(application))
    fields = form_fields(page.content.decode())
    fields.pop("scope")
    response = browser.post("/o/authorize/", {**fields, "allow": "on"})
    assert response.status_code == 400, response.content
    assert "This authorization request cannot be completed" in response.content.decode()
    assert not get_grant_model().objects.exists()
