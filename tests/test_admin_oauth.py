"""Admin for OAuth applications, tokens, sessions, signing keys, and the user actions."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import Permission
from django.http import HttpRequest
from django.test import Client, RequestFactory
from django.urls import reverse
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_refresh_token_model,
)

from bearer_auth import keys, services
from bearer_auth.admin import AccessTokenAdmin, ApplicationAdmin, RefreshTokenAdmin
from bearer_auth.jwt import token_checksum
from bearer_auth.models import ApplicationPolicy, SigningKey, TokenSession
from tests.browser.conftest import page as chromium_page  # noqa: F401  a fixture (Playwright)
from tests.factories import UserFactory
from tests.oauth_client import (
    application_add_form,
    authorization_code,
    client_credentials_token,
    exchange,
    make_application,
    signed_in_browser,
    token_request,
)
from tests.processes import ROOT

pytestmark = pytest.mark.django_db

APPLICATIONS = "admin:oauth2_provider_application_changelist"
ACCESS_TOKENS = "admin:oauth2_provider_accesstoken_changelist"
REFRESH_TOKENS = "admin:oauth2_provider_refreshtoken_changelist"
SESSIONS = "admin:bearer_auth_tokensession_changelist"
SIGNING_KEYS = "admin:bearer_auth_signingkey_changelist"
ADD_APPLICATION = "admin:oauth2_provider_application_add"
SHOWN_SECRET = re.compile(r'<code class="client-secret">([^<]+)</code>')


def _sign_in(user: Any, password: str) -> services.TokenPair:
    return services.sign_in(
        RequestFactory().post("/auth/token/", REMOTE_ADDR="10.0.0.1", HTTP_USER_AGENT="pytest"),
        identifier=user.get_username(),
        password=password,
        scope=None,
    )


# Registration


def test_dots_admin_registers_bearer_auths_pages_through_its_settings() -> None:
    """OAUTH2_PROVIDER names the classes; DOT's admin module registers them."""
    registered = {
        get_application_model(): ApplicationAdmin,
        get_access_token_model(): AccessTokenAdmin,
        get_refresh_token_model(): RefreshTokenAdmin,
    }
    for model, admin_class in registered.items():
        assert type(admin.site.get_model_admin(model)) is admin_class
    assert type(admin.site.get_model_admin(get_grant_model())).__module__ == "oauth2_provider.admin"


_REGISTERED_IN_A_FRESH_PROCESS = """
import django
from django.conf import settings

import tests.settings as test_settings

configured = {name: getattr(test_settings, name) for name in dir(test_settings) if name.isupper()}
settings.configure(**{**configured, "INSTALLED_APPS": %r})
django.setup()  # the admin's autodiscover imports each app's admin module, in this order

from django.contrib import admin
from oauth2_provider.models import get_application_model

print(type(admin.site.get_model_admin(get_application_model())).__qualname__)
"""


@pytest.mark.parametrize("first", ["bearer_auth", "oauth2_provider"])
def test_either_admin_module_may_be_imported_first(first: str) -> None:
    """DOT's admin imports bearer_auth's classes by path; bearer_auth's never imports DOT's."""
    apps = [app for app in settings.INSTALLED_APPS if app not in {"bearer_auth", "oauth2_provider"}]
    apps += [first, ({"bearer_auth", "oauth2_provider"} - {first}).pop()]
    shown = subprocess.run(
        [sys.executable, "-c", _REGISTERED_IN_A_FRESH_PROCESS % apps],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout == "ApplicationAdmin\n"


# Applications


def test_created_application_secret_is_shown_once_and_stored_hashed(admin_browser: Client) -> None:
    add_url = reverse(ADD_APPLICATION)
    response = admin_browser.post(add_url, application_add_form())
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    secret = _shown_secret(html)
    assert "shown only this once" in html

    application = get_application_model().objects.get(client_id="note-taker")
    assert application.client_secret != secret
    assert check_password(secret, application.client_secret)
    assert ApplicationPolicy.objects.get(application=application).allowed_scopes == "notes:read"

    change = admin_browser.get(
        reverse("admin:oauth2_provider_application_change", args=[application.pk])
    )
    assert change.status_code == 200
    assert secret not in change.content.decode()
    assert application.client_secret not in change.content.decode()
    # The shown secret authenticates the client (which may not use this grant).
    refused = token_request("note-taker", {"grant_type": "client_credentials"}, secret=secret)
    assert refused.json()["error"] == "unauthorized_client"  # authenticated, wrong grant


def _shown_secret(html: str) -> str:
    match = SHOWN_SECRET.search(html)
    assert match is not None, html
    return match.group(1)


def _add_request(admin_user: Any, **overrides: str) -> HttpRequest:
    request = RequestFactory().post(reverse(ADD_APPLICATION), application_add_form(**overrides))
    request.user = admin_user
    return request


def test_interleaved_adds_each_show_only_their_own_secret(admin_user_: Any) -> None:
    """Two administrators' adds on one admin instance: both saved before either page renders.

    A threaded server can run ``add_view`` this way for two requests at once
    (``save_model``, ``save_model``, ``response_add``, ``response_add``).
    """
    model_admin = admin.site.get_model_admin(get_application_model())
    requests = [
        _add_request(admin_user_, name=f"Client {n}", client_id=f"client-{n}") for n in (1, 2)
    ]
    applications = []
    for request in requests:
        form = model_admin.get_form(request)(request.POST)
        assert form.is_valid(), form.errors
        application = form.save(commit=False)
        model_admin.save_model(request, application, form, change=False)
        applications.append(application)
    shown = []
    for request, application in zip(requests, applications, strict=True):
        response = model_admin.response_add(request, application)
        secret = _shown_secret(response.render().content.decode())
        application.refresh_from_db()
        assert check_password(secret, application.client_secret)
        shown.append(secret)
    assert shown[0] != shown[1]
    # Nothing of either secret is left on the admin that serves every request.
    assert not any(secret in repr(vars(model_admin)) for secret in shown)


def test_popup_add_shows_the_secret_and_hands_the_application_to_the_opener(
    admin_browser: Client,
) -> None:
    response = admin_browser.post(
        reverse(ADD_APPLICATION) + "?_popup=1", {**application_add_form(), "_popup": "1"}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "bearer_auth/admin/client_secret_popup.html" in [t.name for t in response.templates]
    html = response.content.decode()
    secret = _shown_secret(html)
    application = get_application_model().objects.get(client_id="note-taker")
    assert check_password(secret, application.client_secret)
    assert "shown only this once" in html
    assert "bearer_auth/admin/client_secret_popup.js" in html
    done = response.context["popup_response_data"]
    assert json.loads(done) == {"value": str(application.pk), "obj": str(application)}
    assert 'id="bearer-auth-popup-done"' in html
    assert 'id="header"' not in html  # the popup layout: no admin header
    assert ApplicationPolicy.objects.get(application=application).allowed_scopes == "notes:read"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_popup_add_in_a_browser_shows_the_secret_then_fills_the_opener(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    live_server: Any,
    admin_user_: Any,
    browser: Client,
) -> None:
    """The "+" beside an application field: the popup shows the secret; Done closes it."""
    authorization_code(browser, make_application(name="Existing"))
    grant = get_grant_model().objects.get()
    session = signed_in_browser(admin_user_).cookies[settings.SESSION_COOKIE_NAME].value
    # Playwright's sync API runs an event loop in this thread; the ORM calls
    # below are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    page = request.getfixturevalue("chromium_page")
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )
    page.goto(live_server.url + reverse("admin:oauth2_provider_grant_change", args=[grant.pk]))
    with page.expect_popup() as opened:
        page.click("#add_id_application")
    popup = opened.value
    popup.fill("#id_name", "Made in a popup")
    popup.select_option("#id_client_type", "confidential")
    popup.fill("#id_redirect_uris", "https://popup.example/callback")
    popup.click("input[name=_save]")
    secret = popup.locator("code.client-secret").inner_text()
    application = get_application_model().objects.get(name="Made in a popup")
    assert check_password(secret, application.client_secret)

    with popup.expect_event("close"):
        popup.click("#bearer-auth-popup-done")
    assert page.input_value("#id_application") == str(application.pk)
    assert secret not in page.content()


def test_popup_change_keeps_djangos_popup_answer(admin_browser: Client) -> None:
    application = make_application(client_id="note-taker", name="Note Taker")
    change = reverse("admin:oauth2_provider_application_change", args=[application.pk])
    response = admin_browser.post(
        change + "?_popup=1",
        {
            **application_add_form(name="Renamed"),
            "_popup": "1",
            "bearer_policy-INITIAL_FORMS": "1",
            "bearer_policy-0-id": str(application.bearer_policy.pk),
            "bearer_policy-0-application": str(application.pk),
        },
    )
    assert response.status_code == 200
    assert "admin/popup_response.html" in [t.name for t in response.templates]
    assert json.loads(response.context["popup_response_data"])["action"] == "change"
    assert "client-secret" not in response.content.decode()


def test_scopes_are_chosen_from_the_configured_scopes(admin_browser: Client) -> None:
    response = admin_browser.post(
        reverse(ADD_APPLICATION),
        application_add_form(**{"bearer_policy-0-allowed_scopes": "admin:everything"}),
    )
    assert response.status_code == 200
    assert "admin:everything is not one of the available choices" in response.content.decode()
    assert not get_application_model().objects.exists()


@pytest.mark.parametrize(
    ("redirect_uris", "accepted"),
    [
        ("https://notes.example/callback", True),
        ("http://127.0.0.1:8000/client/callback", True),
        ("http://[::1]/callback http://localhost/cb", True),
        ("http://notes.example/callback", False),
        ("https://notes.example/callback#fragment", False),
        ("https://*.notes.example/callback", False),
        ("notes.example/callback", False),
        ("", False),
    ],
)
def test_redirect_uri_validation(admin_browser: Client, redirect_uris: str, accepted: bool) -> None:
    response = admin_browser.post(
        reverse(ADD_APPLICATION), application_add_form(redirect_uris=redirect_uris)
    )
    assert get_application_model().objects.exists() is accepted
    if not accepted:
        assert response.context["adminform"].form.errors["redirect_uris"]


@pytest.mark.parametrize(
    ("client_type", "grant", "accepted"),
    [
        ("confidential", "client-credentials", True),
        ("public", "client-credentials", False),
        ("public", "authorization-code", True),
        ("confidential", "implicit", False),
        ("confidential", "password", False),
    ],
)
def test_grant_types_offered(
    admin_browser: Client, client_type: str, grant: str, accepted: bool
) -> None:
    admin_browser.post(
        reverse(ADD_APPLICATION),
        application_add_form(client_type=client_type, authorization_grant_type=grant),
    )
    assert get_application_model().objects.exists() is accepted


def test_regenerate_secret_shows_the_new_secret_once(admin_browser: Client) -> None:
    application = make_application(grant_type="client-credentials", redirect_uris="")
    old_token = client_credentials_token(application, scope=None)
    assert old_token
    response = admin_browser.post(
        reverse(APPLICATIONS),
        {"action": "regenerate_secret", "_selected_action": [application.pk]},
    )
    assert response.status_code == 200
    secret = _shown_secret(response.content.decode())
    application.refresh_from_db()
    assert check_password(secret, application.client_secret)
    old = token_request(application.client_id, {"grant_type": "client_credentials"})
    assert old.status_code == 401
    new = token_request(application.client_id, {"grant_type": "client_credentials"}, secret=secret)
    assert new.status_code == 200


# Tokens and sessions


def test_token_lists_show_masked_values_only(
    admin_browser: Client, user: Any, password: str
) -> None:
    pair = _sign_in(user, password)
    for name in (ACCESS_TOKENS, REFRESH_TOKENS, SESSIONS):
        response = admin_browser.get(reverse(name))
        assert response.status_code == 200
        html = response.content.decode()
        assert pair.access_token not in html
        assert pair.refresh_token not in html
        assert token_checksum(pair.access_token) not in html
        assert token_checksum(pair.refresh_token) not in html
    access = get_access_token_model().objects.get()
    page = admin_browser.get(
        reverse("admin:oauth2_provider_accesstoken_change", args=[access.pk])
    ).content.decode()
    assert pair.access_token not in page
    assert token_checksum(pair.access_token) not in page
    assert f"…{token_checksum(pair.access_token)[-6:]}" in page
    assert 'name="token"' not in page
    assert 'name="token_checksum"' not in page


def test_tokens_cannot_be_added_deleted_or_searched_by_value(
    admin_browser: Client, user: Any, password: str
) -> None:
    pair = _sign_in(user, password)
    for model in ("accesstoken", "refreshtoken"):
        assert admin_browser.get(reverse(f"admin:oauth2_provider_{model}_add")).status_code == 403
    assert admin_browser.get(reverse("admin:bearer_auth_tokensession_add")).status_code == 403
    access = get_access_token_model().objects.get()
    delete = reverse("admin:oauth2_provider_accesstoken_delete", args=[access.pk])
    assert admin_browser.post(delete, {"post": "yes"}).status_code == 403
    for query in (pair.access_token, token_checksum(pair.access_token)):
        response = admin_browser.get(reverse(ACCESS_TOKENS), {"q": query})
        assert response.context["cl"].result_count == 0
    by_user = admin_browser.get(reverse(ACCESS_TOKENS), {"q": user.get_username()})
    assert by_user.context["cl"].result_count == 1


def test_filters_by_state_application_and_user(
    admin_browser: Client, user: Any, password: str
) -> None:
    _sign_in(user, password)
    _sign_in(user, password)
    session = TokenSession.objects.first()
    assert session is not None
    services.sign_out_session(user, session.pk)
    live = admin_browser.get(reverse(SESSIONS), {"state": "live"})
    assert live.context["cl"].result_count == 1
    revoked = admin_browser.get(reverse(REFRESH_TOKENS), {"state": "revoked"})
    assert revoked.context["cl"].result_count == 1
    other = UserFactory()
    key = f"user__{user._meta.pk.name}__exact"
    assert admin_browser.get(reverse(SESSIONS), {key: other.pk}).status_code == 200
    assert admin_browser.get(reverse(SESSIONS), {key: user.pk}).context["cl"].result_count == 2
    app = session.application
    by_app = admin_browser.get(reverse(ACCESS_TOKENS), {"application__id__exact": app.pk})
    assert by_app.context["cl"].result_count == 1


@pytest.mark.parametrize("changelist", [ACCESS_TOKENS, REFRESH_TOKENS, SESSIONS])
def test_revoke_action_revokes_the_whole_sign_in(
    admin_browser: Client, user: Any, password: str, changelist: str
) -> None:
    revoked_pair = _sign_in(user, password)
    kept_pair = _sign_in(user, password)
    family = (
        get_refresh_token_model()
        .objects.get(token_checksum=token_checksum(revoked_pair.refresh_token))
        .token_family
    )
    model = {
        ACCESS_TOKENS: get_access_token_model(),
        REFRESH_TOKENS: get_refresh_token_model(),
        SESSIONS: TokenSession,
    }[changelist]
    checksum_lookup = {
        ACCESS_TOKENS: {"token_checksum": token_checksum(revoked_pair.access_token)},
        REFRESH_TOKENS: {"token_checksum": token_checksum(revoked_pair.refresh_token)},
        SESSIONS: {"token_family": family},
    }[changelist]
    row = model.objects.get(**checksum_lookup)
    response = admin_browser.post(
        reverse(changelist), {"action": "revoke", "_selected_action": [row.pk]}
    )
    assert response.status_code == 302
    assert (
        not get_access_token_model()
        .objects.filter(token_checksum=token_checksum(revoked_pair.access_token))
        .exists()
    )
    assert (
        not get_refresh_token_model()
        .objects.filter(token_family=family, revoked__isnull=True)
        .exists()
    )
    assert TokenSession.objects.get(token_family=family).revoked is not None
    # The user's other sign-in is untouched.
    assert (
        get_access_token_model()
        .objects.filter(token_checksum=token_checksum(kept_pair.access_token))
        .exists()
    )
    api = Client().get(
        "/test-api/whoami/", HTTP_AUTHORIZATION=f"Bearer {revoked_pair.access_token}"
    )
    assert api.status_code == 401


@pytest.mark.parametrize("changelist", [REFRESH_TOKENS, SESSIONS])
def test_revoke_action_kills_an_oauth_authorization_code_family(
    admin_browser: Client, browser: Client, changelist: str
) -> None:
    application = make_application()
    code, verifier = authorization_code(browser, application)
    tokens = exchange(application, code, verifier).json()
    family = (
        get_refresh_token_model()
        .objects.get(token_checksum=token_checksum(tokens["refresh_token"]))
        .token_family
    )
    whoami = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
    assert Client().get("/test-api/whoami/", **whoami).status_code == 200
    row = {
        REFRESH_TOKENS: get_refresh_token_model().objects.filter(token_family=family),
        SESSIONS: TokenSession.objects.filter(token_family=family, application=application),
    }[changelist].get()

    response = admin_browser.post(
        reverse(changelist), {"action": "revoke", "_selected_action": [row.pk]}
    )
    assert response.status_code == 302
    assert Client().get("/test-api/whoami/", **whoami).status_code == 401
    refresh = token_request(
        application.client_id,
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"
    assert TokenSession.objects.get(token_family=family).revoked is not None


def test_revoke_action_on_a_client_credentials_token(admin_browser: Client) -> None:
    application = make_application(grant_type="client-credentials", redirect_uris="")
    client_credentials_token(application, scope=None)
    row = get_access_token_model().objects.get()
    admin_browser.post(reverse(ACCESS_TOKENS), {"action": "revoke", "_selected_action": [row.pk]})
    assert not get_access_token_model().objects.exists()


# Signing keys


def test_signing_keys_list_public_facts_and_rotate_now(admin_browser: Client) -> None:
    keys.current_signing_key()
    first = SigningKey.objects.get()
    response = admin_browser.get(reverse(SIGNING_KEYS))
    html = response.content.decode()
    assert first.kid in html
    assert "active" in html
    assert first.encrypted_private_key not in html
    assert "PRIVATE KEY" not in html
    detail = admin_browser.get(
        reverse("admin:bearer_auth_signingkey_change", args=[first.pk])
    ).content.decode()
    assert first.encrypted_private_key not in detail
    assert '"d"' not in detail  # no private JWK member

    response = admin_browser.post(
        reverse(SIGNING_KEYS), {"action": "rotate_now", "_selected_action": [first.pk]}
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.active is None
    assert first.retired_at is not None
    assert SigningKey.objects.filter(active=True).exclude(pk=first.pk).count() == 1
    listing = admin_browser.get(reverse(SIGNING_KEYS)).content.decode()
    assert "retired (still verifies)" in listing
    assert admin_browser.get(reverse("admin:bearer_auth_signingkey_add")).status_code == 403


# User actions (bearer_auth's user admin)


@pytest.mark.custom_user_model
def test_user_admin_shows_sessions_and_signs_out_everywhere(
    admin_browser: Client, user: Any, password: str
) -> None:
    pair = _sign_in(user, password)
    page = admin_browser.get(reverse("admin:bearer_auth_user_change", args=[user.pk]))
    assert "10.0.0.1" in page.content.decode()
    assert "Manage sessions" in page.content.decode()
    selected = {"action": "sign_out_everywhere", "_selected_action": [user.pk]}
    confirmation = admin_browser.post(reverse("admin:bearer_auth_user_changelist"), selected)
    assert confirmation.status_code == 200  # asks first; nothing is revoked yet
    assert "Sign out everywhere?" in confirmation.content.decode()
    assert 'href="/admin/bearer_auth/user/"' in confirmation.content.decode()
    assert get_access_token_model().objects.filter(user=user).exists()
    response = admin_browser.post(
        reverse("admin:bearer_auth_user_changelist"), {**selected, "post": "yes"}
    )
    assert response.status_code == 302
    assert not get_access_token_model().objects.filter(user=user).exists()
    assert not get_refresh_token_model().objects.filter(user=user, revoked__isnull=True).exists()
    api = Client().get("/test-api/whoami/", HTTP_AUTHORIZATION=f"Bearer {pair.access_token}")
    assert api.status_code == 401
    user.refresh_from_db()
    assert user.is_active


@pytest.mark.custom_user_model
def test_user_admin_deactivate_and_revoke_signs_out_once(
    admin_browser: Client, user: Any, password: str
) -> None:
    pair = _sign_in(user, password)
    with mock.patch.object(
        services, "sign_out_everywhere", wraps=services.sign_out_everywhere
    ) as sign_out:
        admin_browser.post(
            reverse("admin:bearer_auth_user_changelist"),
            {"action": "deactivate_and_revoke", "_selected_action": [user.pk]},
        )
    sign_out.assert_called_once_with(user)  # by the receiver, on saving the inactive user
    user.refresh_from_db()
    assert not user.is_active
    assert not get_access_token_model().objects.filter(user=user).exists()
    assert not get_refresh_token_model().objects.filter(user=user, revoked__isnull=True).exists()
    assert not TokenSession.objects.filter(user=user, revoked__isnull=True).exists()
    api = Client().get("/test-api/whoami/", HTTP_AUTHORIZATION=f"Bearer {pair.access_token}")
    assert api.status_code == 401


# Permissions and CSRF


def _staff(*permissions: str) -> Client:
    staff = UserFactory(is_staff=True)
    for codename in permissions:
        staff.user_permissions.add(Permission.objects.get(codename=codename))
    return signed_in_browser(staff)


@pytest.mark.parametrize(
    "changelist", [APPLICATIONS, ACCESS_TOKENS, REFRESH_TOKENS, SESSIONS, SIGNING_KEYS]
)
def test_staff_without_view_permission_gets_403(changelist: str) -> None:
    assert _staff().get(reverse(changelist)).status_code == 403


@pytest.mark.parametrize(
    ("changelist", "action", "view_permission"),
    [
        (ACCESS_TOKENS, "revoke", "view_accesstoken"),
        (REFRESH_TOKENS, "revoke", "view_refreshtoken"),
        (SESSIONS, "revoke", "view_tokensession"),
        (APPLICATIONS, "regenerate_secret", "view_application"),
        (SIGNING_KEYS, "rotate_now", "view_signingkey"),
    ],
)
def test_action_without_change_permission_gets_403(
    user: Any, password: str, changelist: str, action: str, view_permission: str
) -> None:
    _sign_in(user, password)
    keys.current_signing_key()
    application = make_application()
    selected = {
        ACCESS_TOKENS: get_access_token_model(),
        REFRESH_TOKENS: get_refresh_token_model(),
        SESSIONS: TokenSession,
        APPLICATIONS: get_application_model(),
        SIGNING_KEYS: SigningKey,
    }[changelist].objects.first()
    assert selected is not None
    viewer = _staff(view_permission)
    assert viewer.get(reverse(changelist)).status_code == 200
    response = viewer.post(
        reverse(changelist), {"action": action, "_selected_action": [selected.pk]}
    )
    assert response.status_code == 403
    assert get_access_token_model().objects.filter(user=user).exists()
    assert SigningKey.objects.count() == 1
    application.refresh_from_db()
    assert check_password("client-secret-for-tests", application.client_secret)


@pytest.mark.custom_user_model
def test_user_action_without_change_permission_gets_403(user: Any, password: str) -> None:
    _sign_in(user, password)
    viewer = _staff("view_user")
    response = viewer.post(
        reverse("admin:bearer_auth_user_changelist"),
        {"action": "sign_out_everywhere", "_selected_action": [user.pk]},
    )
    assert response.status_code == 403
    assert get_access_token_model().objects.filter(user=user).exists()


def test_admin_actions_need_the_csrf_token(admin_user_: Any, user: Any, password: str) -> None:
    _sign_in(user, password)
    client = signed_in_browser(admin_user_, enforce_csrf_checks=True)
    session = TokenSession.objects.get()
    response = client.post(
        reverse(SESSIONS), {"action": "revoke", "_selected_action": [session.pk]}
    )
    assert response.status_code == 403
    session.refresh_from_db()
    assert session.revoked is None
    page = client.get(reverse(SESSIONS))
    token = page.context["csrf_token"]
    response = client.post(
        reverse(SESSIONS),
        {"action": "revoke", "_selected_action": [session.pk], "csrfmiddlewaretoken": str(token)},
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.revoked is not None
