"""The admin shows what the server does: a confirmed "sign out everywhere", no unused pages."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import Client, RequestFactory
from django.urls import reverse
from oauth2_provider.models import get_access_token_model, get_id_token_model

from bearer_auth import services
from bearer_auth.models import TokenSession
from bearer_auth.settings import bearer_settings
from tests.factories import UserFactory
from tests.oauth_client import make_application, signed_in_browser

pytestmark = pytest.mark.django_db

APPLICATIONS = "admin:oauth2_provider_application_changelist"


def _sign_in(user: Any, password: str) -> services.TokenPair:
    return services.sign_in(
        RequestFactory().post("/auth/token/", REMOTE_ADDR="10.0.0.2"),
        identifier=user.get_username(),
        password=password,
        scope=None,
    )


def _sign_out_url(user: Any) -> str:
    opts = type(user)._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_sign_out_everywhere", args=[user.pk])


def _change_url(user: Any) -> str:
    opts = type(user)._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[user.pk])


@pytest.mark.custom_user_model
def test_change_page_signs_the_user_out_everywhere_after_confirming(
    admin_browser: Client, user: Any, password: str
) -> None:
    pair = _sign_in(user, password)
    page = admin_browser.get(_change_url(user)).content.decode()
    assert f'href="{_sign_out_url(user)}"' in page
    confirmation = admin_browser.get(_sign_out_url(user))
    assert confirmation.status_code == 200
    assert "Sign out everywhere?" in confirmation.content.decode()
    assert user.get_username() in confirmation.content.decode()
    assert f'href="{_change_url(user)}"' in confirmation.content.decode()  # "No, take me back"
    assert admin_browser.post(_sign_out_url(user)).status_code == 200  # not confirmed
    assert get_access_token_model().objects.filter(user=user).exists()
    with mock.patch.object(
        services, "sign_out_everywhere", wraps=services.sign_out_everywhere
    ) as sign_out:
        response = admin_browser.post(_sign_out_url(user), {"post": "yes"}, follow=True)
    sign_out.assert_called_once_with(user)  # the service /auth/sessions/ uses: one copy
    assert response.redirect_chain == [(_change_url(user), 302)]
    assert "Signed 1 user out everywhere." in response.content.decode()
    assert not TokenSession.objects.filter(user=user, revoked__isnull=True).exists()
    api = Client().get("/test-api/whoami/", HTTP_AUTHORIZATION=f"Bearer {pair.access_token}")
    assert api.status_code == 401


@pytest.mark.custom_user_model
def test_change_page_sign_out_needs_the_change_permission(user: Any, password: str) -> None:
    _sign_in(user, password)
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_user"))
    browser = signed_in_browser(viewer)
    assert f'href="{_sign_out_url(user)}"' not in browser.get(_change_url(user)).content.decode()
    assert browser.post(_sign_out_url(user), {"post": "yes"}).status_code == 403
    assert get_access_token_model().objects.filter(user=user).exists()


def test_no_id_tokens_page_while_openid_connect_is_off(admin_browser: Client) -> None:
    assert admin.site.is_registered(get_id_token_model())  # DOT's registration stays
    assert "Id tokens" not in admin_browser.get(reverse("admin:index")).content.decode()
    changelist = reverse("admin:oauth2_provider_idtoken_changelist")
    assert admin_browser.get(changelist).status_code == 403


def test_the_id_tokens_page_is_there_with_openid_connect_on(admin_browser: Client) -> None:
    with mock.patch("oauth2_provider.settings.oauth2_settings.OIDC_ENABLED", True):
        assert "Id tokens" in admin_browser.get(reverse("admin:index")).content.decode()
        changelist = reverse("admin:oauth2_provider_idtoken_changelist")
        assert admin_browser.get(changelist).status_code == 200


def test_grant_types_shown_and_filtered_are_those_the_server_accepts(
    admin_browser: Client,
) -> None:
    services.first_party_application()
    make_application(name="Code client")
    listing = admin_browser.get(reverse(APPLICATIONS))
    html = listing.content.decode()
    assert "Resource owner password-based" not in html
    assert "First-party sign-in (/auth/token/)" in html
    assert "Authorization code (with PKCE)" in html
    (grant_filter,) = [
        spec
        for spec in listing.context["cl"].filter_specs
        if spec.title == "authorization grant type"
    ]
    offered = [choice["display"] for choice in grant_filter.choices(listing.context["cl"])]
    assert [str(label) for label in offered] == [
        "All",
        "Authorization code (with PKCE)",
        "Client credentials (confidential clients only)",
        "First-party sign-in (/auth/token/)",
    ]
    first_party = admin_browser.get(reverse(APPLICATIONS), {"grant_type": "first-party"})
    assert [row.client_id for row in first_party.context["cl"].result_list] == [
        bearer_settings.FIRST_PARTY_CLIENT_ID
    ]
    code = admin_browser.get(reverse(APPLICATIONS), {"grant_type": "authorization-code"})
    assert [row.name for row in code.context["cl"].result_list] == ["Code client"]


def test_the_first_party_application_s_grant_cannot_be_changed(admin_browser: Client) -> None:
    application = services.first_party_application()
    url = reverse("admin:oauth2_provider_application_change", args=[application.pk])
    html = admin_browser.get(url).content.decode()
    assert "First-party sign-in (/auth/token/)" in html
    assert "Resource owner password-based" not in html
