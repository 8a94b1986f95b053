"""OpenID Connect in the admin: per-client settings in the policy box, ID tokens and sessions."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from oauth2_provider.models import get_application_model, get_id_token_model

from bearer_auth import keys
from bearer_auth.admin.applications import OIDC_OFF
from bearer_auth.models import ApplicationPolicy, TokenSession
from bearer_auth.oidc.validator import openid_refusal
from tests.factories import UserFactory
from tests.first_party import session_of
from tests.oauth_client import application_add_form, signed_in_browser, token_request
from tests.oidc_support import make_oidc_application, oidc_tokens

pytestmark = pytest.mark.django_db

ADD_APPLICATION = "admin:oauth2_provider_application_add"
ID_TOKENS = "admin:oauth2_provider_idtoken_changelist"
SESSIONS = "admin:bearer_auth_tokensession_changelist"


def _application_form(**overrides: str | None) -> dict[str, str]:
    return application_add_form(**{"bearer_policy-0-allowed_scopes": "read", **overrides})


def _change_url(model: Any, pk: Any) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])


def _signed_in_with_openid(browser: Client) -> tuple[Any, dict[str, Any], TokenSession]:
    """An OpenID Connect sign-in: its client, token response and session (with its ID token)."""
    application = make_oidc_application()
    body = oidc_tokens(browser, application)
    session = session_of(body["refresh_token"])
    assert session.id_token is not None
    return application, body, session


# The application's OpenID Connect settings


@pytest.mark.usefixtures("oidc")
def test_policy_box_offers_the_openid_connect_settings(admin_browser: Client) -> None:
    keys.current_signing_key()  # the active key: RS256 in the tests' settings
    response = admin_browser.get(reverse(ADD_APPLICATION))
    html = response.content.decode()
    (policy_box,) = response.context["inline_admin_formsets"]
    policy = policy_box.formset.forms[0]
    assert {"openid_connect", "id_token_signed_response_alg"} <= set(policy.fields)
    assert policy.fields["id_token_signed_response_alg"].choices == [
        ("", "The active key's algorithm (now RS256)"),
        ("RS256", "RS256"),
        ("ES256", "ES256"),
        ("EdDSA", "EdDSA"),
    ]
    assert "a client that registered another algorithm is refused" in html.lower()
    assert 'name="post_logout_redirect_uris"' in html
    assert 'name="algorithm"' not in html  # DOT's own (OIDC_RSA_PRIVATE_KEY) does not apply
    assert str(OIDC_OFF) not in html
    assert '<h4 id="bearer_policy-0-1-heading" class="fieldset-heading">OpenID Connect</h4>' in html


def test_with_openid_connect_off_the_box_says_so_and_keeps_the_settings(
    admin_browser: Client,
) -> None:
    response = admin_browser.get(reverse(ADD_APPLICATION))
    html = response.content.decode()
    assert f'<div class="description">{OIDC_OFF}</div>' in html  # the box's OpenID Connect part
    logout_uris = response.context["adminform"].form.fields["post_logout_redirect_uris"]
    assert str(logout_uris.help_text).endswith(str(OIDC_OFF))
    assert 'name="bearer_policy-0-openid_connect"' in html
    assert 'name="post_logout_redirect_uris"' in html

    admin_browser.post(
        reverse(ADD_APPLICATION),
        _application_form(
            **{
                "bearer_policy-0-openid_connect": None,  # unticked
                "bearer_policy-0-id_token_signed_response_alg": "EdDSA",
                "post_logout_redirect_uris": "https://notes.example/bye",
            }
        ),
    )
    application = get_application_model().objects.get(client_id="note-taker")
    assert application.post_logout_redirect_uris == "https://notes.example/bye"
    policy = ApplicationPolicy.objects.get(application=application)
    assert (policy.openid_connect, policy.id_token_signed_response_alg) == (False, "EdDSA")


@pytest.mark.usefixtures("oidc")
def test_openid_connect_settings_are_saved(admin_browser: Client) -> None:
    response = admin_browser.post(
        reverse(ADD_APPLICATION),
        _application_form(
            **{
                "bearer_policy-0-id_token_signed_response_alg": "RS256",
                "post_logout_redirect_uris": " https://notes.example/bye\n http://127.0.0.1/out ",
            }
        ),
    )
    assert response.status_code == 200  # the page showing the secret once
    application = get_application_model().objects.get(client_id="note-taker")
    assert application.post_logout_redirect_uris == "https://notes.example/bye http://127.0.0.1/out"
    assert application.post_logout_redirect_uri_allowed("http://127.0.0.1:8080/out")  # RFC 8252
    assert application.algorithm == ""
    policy = ApplicationPolicy.objects.get(application=application)
    assert policy.openid_connect is True
    assert policy.id_token_signed_response_alg == "RS256"


@pytest.mark.parametrize(
    "uris",
    [
        "http://notes.example/bye",
        "https://notes.example/bye#fragment",
        "https://*.notes.example/bye",
        "notes.example/bye",
        "https://notes.example/bye javascript:alert(1)",
    ],
)
def test_post_logout_redirect_uris_are_validated_like_redirect_uris(
    admin_browser: Client, uris: str
) -> None:
    response = admin_browser.post(
        reverse(ADD_APPLICATION), _application_form(post_logout_redirect_uris=uris)
    )
    assert not get_application_model().objects.exists()
    assert response.context["adminform"].form.errors["post_logout_redirect_uris"]


@pytest.mark.parametrize("algorithm", ["HS256", "none", "RS512"])
def test_only_the_algorithms_of_the_managed_keys_are_offered(
    admin_browser: Client, algorithm: str
) -> None:
    response = admin_browser.post(
        reverse(ADD_APPLICATION),
        _application_form(**{"bearer_policy-0-id_token_signed_response_alg": algorithm}),
    )
    assert not get_application_model().objects.exists()
    assert f"{algorithm} is not one of the available choices" in response.content.decode()


@pytest.mark.usefixtures("oidc")
def test_saving_a_client_the_active_key_would_refuse_warns(admin_browser: Client) -> None:
    keys.current_signing_key()  # RS256
    application = make_oidc_application(client_id="note-taker", name="Note Taker")
    change = _change_url(get_application_model(), application.pk)
    form = _application_form(
        **{
            "bearer_policy-INITIAL_FORMS": "1",
            "bearer_policy-0-application": str(application.pk),
            "bearer_policy-0-id_token_signed_response_alg": "ES256",
        }
    )

    page = admin_browser.post(change, form, follow=True).content.decode()
    refusal = openid_refusal(get_application_model().objects.get(pk=application.pk))
    assert refusal == (
        "This client expects ID tokens signed with ES256; this server signs with RS256."
    )
    assert refusal.replace("'", "&#x27;") in page

    keys.rotate_signing_key(algorithm="ES256")
    page = admin_browser.post(change, form, follow=True).content.decode()
    assert "This client expects ID tokens" not in page
    assert openid_refusal(get_application_model().objects.get(pk=application.pk)) is None


def test_an_application_carried_over_from_dot_with_its_algorithm_can_be_saved(
    admin_browser: Client,
) -> None:
    """DOT's algorithm is cleared: RS256 without OIDC_RSA_PRIVATE_KEY fails DOT's clean()."""
    application = make_oidc_application(client_id="note-taker", name="Note Taker")
    get_application_model().objects.filter(pk=application.pk).update(algorithm="RS256")
    change = _change_url(get_application_model(), application.pk)
    response = admin_browser.post(
        change,
        _application_form(
            name="Renamed",
            **{
                "bearer_policy-INITIAL_FORMS": "1",
                "bearer_policy-0-application": str(application.pk),
            },
        ),
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert (application.name, application.algorithm) == ("Renamed", "")


# ID tokens


@pytest.mark.usefixtures("oidc")
def test_id_tokens_are_listed_with_their_session_user_application_scope_expiry_and_jti(
    admin_browser: Client, browser: Client, user: Any
) -> None:
    application, body, session = _signed_in_with_openid(browser)
    id_token = session.id_token
    assert id_token is not None
    session_url = _change_url(TokenSession, session.pk)

    listing = admin_browser.get(reverse(ID_TOKENS))
    html = listing.content.decode()
    assert listing.context["cl"].result_count == 1
    assert str(id_token.jti) in html
    assert f'<a href="{session_url}">{session.pk}</a>' in html
    assert application.name in html
    assert "openid profile email" in html
    assert body["id_token"] not in html
    assert (
        admin_browser.get(reverse(ID_TOKENS), {"q": str(id_token.jti)}).context["cl"].result_count
        == 1
    )
    assert admin_browser.get(reverse(ID_TOKENS), {"state": "live"}).context["cl"].result_count == 1

    detail = admin_browser.get(_change_url(get_id_token_model(), id_token.pk)).content.decode()
    assert f'<a href="{session_url}">{session.pk}</a>' in detail
    assert str(id_token.jti) in detail
    assert user.get_username() in detail
    assert body["id_token"] not in detail
    assert admin_browser.get(reverse("admin:oauth2_provider_idtoken_add")).status_code == 403


@pytest.mark.usefixtures("oidc")
def test_the_session_shows_its_id_token(admin_browser: Client, browser: Client) -> None:
    _, _, session = _signed_in_with_openid(browser)
    id_token = session.id_token
    assert id_token is not None
    page = admin_browser.get(_change_url(TokenSession, session.pk)).content.decode()
    link = f'<a href="{_change_url(get_id_token_model(), id_token.pk)}">{id_token.jti}</a>'
    assert link in page


def test_with_openid_connect_off_the_session_names_its_id_token_without_a_link(
    admin_browser: Client, browser: Client, settings: Any
) -> None:
    from tests.oidc_support import enable_oidc

    enable_oidc(settings)
    _, _, session = _signed_in_with_openid(browser)
    id_token = session.id_token
    assert id_token is not None
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ENABLED": False}

    page = admin_browser.get(_change_url(TokenSession, session.pk)).content.decode()
    assert str(id_token.jti) in page
    assert _change_url(get_id_token_model(), id_token.pk) not in page


@pytest.mark.usefixtures("oidc")
def test_revoking_an_id_token_signs_out_its_session_and_deletes_the_row(
    admin_browser: Client, browser: Client
) -> None:
    application, body, session = _signed_in_with_openid(browser)
    kept = oidc_tokens(browser, application)
    id_token = session.id_token
    assert id_token is not None

    response = admin_browser.post(
        reverse(ID_TOKENS), {"action": "revoke", "_selected_action": [id_token.pk]}, follow=True
    )
    assert "Revoked 1 sign-in." in response.content.decode()
    assert not get_id_token_model().objects.filter(pk=id_token.pk).exists()
    session.refresh_from_db()
    assert session.revoked is not None
    assert session.id_token is None  # the session stays, under the same id (the ID token's sid)
    whoami = {"HTTP_AUTHORIZATION": f"Bearer {body['access_token']}"}
    assert Client().get("/test-api/whoami/", **whoami).status_code == 401
    data = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    assert token_request(application.client_id, data).json()["error"] == "invalid_grant"
    # The other sign-in, and its ID token, are untouched.
    other = session_of(kept["refresh_token"])
    assert other.revoked is None
    assert other.id_token is not None


@pytest.mark.usefixtures("oidc")
def test_revoking_an_id_token_without_a_session_deletes_it(
    admin_browser: Client, browser: Client
) -> None:
    _, _, session = _signed_in_with_openid(browser)
    id_token = session.id_token
    assert id_token is not None
    session.delete()

    admin_browser.post(reverse(ID_TOKENS), {"action": "revoke", "_selected_action": [id_token.pk]})
    assert not get_id_token_model().objects.exists()


@pytest.mark.usefixtures("oidc")
def test_revoking_the_session_deletes_its_id_token(admin_browser: Client, browser: Client) -> None:
    _, _, session = _signed_in_with_openid(browser)
    admin_browser.post(reverse(SESSIONS), {"action": "revoke", "_selected_action": [session.pk]})
    assert not get_id_token_model().objects.exists()
    session.refresh_from_db()
    assert session.revoked is not None


@pytest.mark.usefixtures("oidc")
def test_revoking_an_id_token_needs_the_change_permission(browser: Client) -> None:
    _, _, session = _signed_in_with_openid(browser)
    id_token = session.id_token
    assert id_token is not None
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_idtoken"))
    viewer = signed_in_browser(staff)
    assert viewer.get(reverse(ID_TOKENS)).status_code == 200
    response = viewer.post(
        reverse(ID_TOKENS), {"action": "revoke", "_selected_action": [id_token.pk]}
    )
    assert response.status_code == 403
    assert get_id_token_model().objects.filter(pk=id_token.pk).exists()
    session.refresh_from_db()
    assert session.revoked is None
