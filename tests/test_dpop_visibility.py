"""DPoP (RFC 9449) where people and clients see it: the admin, the sessions API, the metadata.

The tokens themselves are bound at the token endpoints (tests elsewhere);
here a sign-in with a proof is the way to get a DPoP-bound session.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from oauth2_provider.models import get_application_model
from rest_framework.test import APIClient

from bearer_auth import services
from bearer_auth.admin.applications import DPOP_OFF
from bearer_auth.models import ApplicationPolicy, TokenSession
from tests.dpop_support import ProofKey
from tests.first_party import SESSIONS_URL, TOKEN_URL, bearer, session_of, sign_in
from tests.oauth_client import application_add_form

pytestmark = pytest.mark.django_db

ADD_APPLICATION = "admin:oauth2_provider_application_add"
SESSIONS = "admin:bearer_auth_tokensession_changelist"
CONFIGURED = ["ES256", "ES384", "EdDSA", "RS256", "PS256"]  # the default DPOP_SIGNING_ALGORITHMS
AS_METADATA = "/.well-known/oauth-authorization-server"
DISCOVERY = "/.well-known/openid-configuration"
RESOURCE_METADATA = "/.well-known/oauth-protected-resource"


def dpop_sign_in(user: Any, password: str, key: ProofKey | None = None) -> dict[str, Any]:
    """Sign in with a DPoP proof: the session's tokens are bound to ``key``."""
    client = APIClient()
    client.credentials(**(key or ProofKey()).headers("POST", TOKEN_URL))
    tokens = sign_in(user, password, client=client)
    assert tokens["token_type"] == "DPoP"
    return tokens


def dpop_off(settings: Any, **more: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "DPOP_SIGNING_ALGORITHMS": [], **more}


# The admin: the policy box


def test_policy_box_offers_dpop_required_and_saves_it(admin_browser: Client) -> None:
    page = admin_browser.get(reverse(ADD_APPLICATION))
    (policy_box,) = page.context["inline_admin_formsets"]
    assert "dpop_bound_access_tokens" in policy_box.formset.forms[0].fields
    html = page.content.decode()
    assert 'name="bearer_policy-0-dpop_bound_access_tokens"' in html
    assert "DPoP required" in html
    assert 'class="fieldset-heading">DPoP (RFC 9449)</h4>' in html
    assert str(DPOP_OFF) not in html

    admin_browser.post(
        reverse(ADD_APPLICATION),
        application_add_form(**{"bearer_policy-0-dpop_bound_access_tokens": "on"}),
    )
    application = get_application_model().objects.get(client_id="note-taker")
    assert ApplicationPolicy.objects.get(application=application).dpop_bound_access_tokens is True


def test_policy_box_leaves_dpop_off_when_unticked(admin_browser: Client) -> None:
    admin_browser.post(reverse(ADD_APPLICATION), application_add_form())
    application = get_application_model().objects.get(client_id="note-taker")
    assert ApplicationPolicy.objects.get(application=application).dpop_bound_access_tokens is False


@pytest.mark.parametrize(
    "off", [{"DPOP_SIGNING_ALGORITHMS": []}, {"ACCESS_TOKEN_FORMAT": "opaque"}], ids=str
)
def test_policy_box_says_when_the_server_has_dpop_off(
    settings: Any, admin_browser: Client, off: dict[str, Any]
) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, **off}
    html = admin_browser.get(reverse(ADD_APPLICATION)).content.decode()
    assert f'<div class="description">{DPOP_OFF}</div>' in html
    assert 'name="bearer_policy-0-dpop_bound_access_tokens"' in html  # kept, applies once on


# The admin: sessions


def test_sessions_admin_shows_which_sessions_are_dpop_bound(
    admin_browser: Client, user: Any, password: str
) -> None:
    key = ProofKey()
    bound = session_of(dpop_sign_in(user, password, key)["refresh_token"])
    plain = session_of(sign_in(user, password)["refresh_token"])
    assert bound.dpop_jkt == key.jkt
    assert plain.dpop_jkt == ""

    changelist = admin_browser.get(reverse(SESSIONS))
    assert changelist.status_code == 200
    html = changelist.content.decode()
    assert "DPoP-bound" in html
    # Django's boolean icons, one per row: the bound session's and the other's.
    assert html.count('alt="True"') == 1
    assert html.count('alt="False"') == 1
    assert key.jkt not in html  # the thumbprint is on the detail page only

    by_filter = {
        value: [
            row.pk
            for row in admin_browser.get(reverse(SESSIONS), {"dpop": value})
            .context["cl"]
            .result_list
        ]
        for value in ("yes", "no")
    }
    assert by_filter == {"yes": [bound.pk], "no": [plain.pk]}

    detail = admin_browser.get(reverse("admin:bearer_auth_tokensession_change", args=[bound.pk]))
    page = detail.content.decode()
    assert key.jkt in page
    assert "DPoP key thumbprint" in page
    assert 'name="dpop_jkt"' not in page  # read-only, like every field of a session


# The sessions API


def test_sessions_api_says_which_sessions_are_dpop_bound(user: Any, password: str) -> None:
    dpop_sign_in(user, password)
    current = sign_in(user, password)

    response = bearer(current["access_token"]).get(SESSIONS_URL)

    assert response.status_code == 200
    sessions = response.json()
    assert [(s["current"], s["dpop_bound"]) for s in sessions] == [(True, False), (False, True)]


def test_list_sessions_reads_the_binding_with_the_rows(
    django_assert_num_queries: Any, user: Any, password: str
) -> None:
    bound = session_of(dpop_sign_in(user, password)["refresh_token"])
    sign_in(user, password)
    with django_assert_num_queries(1):
        listed = services.list_sessions(user, current_family=bound.token_family)
    assert {(info.id, info.current, info.dpop_bound) for info in listed} == {
        (bound.pk, True, True),
        (TokenSession.objects.exclude(pk=bound.pk).get().pk, False, False),
    }


# Metadata: RFC 8414 (and OpenID Connect Discovery), RFC 9728


def test_authorization_server_metadata_names_the_proof_algorithms() -> None:
    data = Client().get(AS_METADATA).json()
    assert data["dpop_signing_alg_values_supported"] == CONFIGURED


def test_the_metadata_follow_the_configured_algorithms(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "DPOP_SIGNING_ALGORITHMS": ["EdDSA", "ES256"]}
    assert Client().get(AS_METADATA).json()["dpop_signing_alg_values_supported"] == [
        "EdDSA",
        "ES256",
    ]
    resource = Client().get(RESOURCE_METADATA).json()
    assert resource["dpop_signing_alg_values_supported"] == ["EdDSA", "ES256"]


@pytest.mark.usefixtures("oidc")
def test_openid_configuration_names_them_too() -> None:
    data = Client().get(DISCOVERY).json()
    assert data["dpop_signing_alg_values_supported"] == CONFIGURED


@pytest.mark.parametrize(
    "off", [{"DPOP_SIGNING_ALGORITHMS": []}, {"ACCESS_TOKEN_FORMAT": "opaque"}], ids=str
)
def test_with_dpop_off_no_metadata_mentions_it(settings: Any, off: dict[str, Any]) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, **off}
    for url in (AS_METADATA, RESOURCE_METADATA):
        data = Client().get(url).json()
        assert not [name for name in data if name.startswith("dpop_")], url


@pytest.mark.usefixtures("oidc")
def test_with_dpop_off_discovery_does_not_mention_it(settings: Any) -> None:
    dpop_off(settings)
    assert "dpop_signing_alg_values_supported" not in Client().get(DISCOVERY).json()


def test_protected_resource_metadata_names_the_algorithms_without_requiring_dpop() -> None:
    with CaptureQueriesContext(connection) as queries:
        response = Client().get(RESOURCE_METADATA)
    assert len(queries) == 0
    data = response.json()
    assert data["dpop_signing_alg_values_supported"] == CONFIGURED
    # Bearer tokens are accepted too: only a bound token needs its proof.
    assert data["dpop_bound_access_tokens_required"] is False
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "max-age=300" in response["Cache-Control"]
