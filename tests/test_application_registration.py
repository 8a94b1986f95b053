"""Registering clients (issue 19 item 20): no ``client_id`` that is a user's ``sub``; loopback URIs.

A client-credentials token's ``sub`` is its ``client_id``: one equal to a
user's ``sub`` is refused by the admin, ``bearer_application``, DOT's
``createapplication`` and any other save. ``bearer_application create``
registers a native app's ``http`` loopback redirect URI (RFC 8252 §7.3),
which DOT's ``createapplication`` refuses.
"""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from oauth2_provider.models import get_application_model

from bearer_auth.jwt import user_subject
from tests.oauth_client import LOOPBACK_CALLBACK, token_request

pytestmark = pytest.mark.django_db

ADD_APPLICATION = "admin:oauth2_provider_application_add"


def _add_form(client_id: str) -> dict[str, str]:
    return {
        "name": "Impostor",
        "client_id": client_id,
        "client_type": "confidential",
        "authorization_grant_type": "client-credentials",
        "redirect_uris": "",
        "bearer_policy-TOTAL_FORMS": "1",
        "bearer_policy-INITIAL_FORMS": "0",
        "bearer_policy-MIN_NUM_FORMS": "0",
        "bearer_policy-MAX_NUM_FORMS": "1",
        "bearer_policy-0-allowed_scopes": "read",
        "bearer_policy-0-access_token_lifetime": "",
    }


def _bearer_application(*args: str) -> str:
    out = StringIO()
    call_command("bearer_application", "create", *args, stdout=out)
    return out.getvalue()


# A client_id that is a user's sub


def test_the_admin_refuses_a_client_id_that_is_a_users_sub(
    admin_browser: Client, user: Any
) -> None:
    response = admin_browser.post(reverse(ADD_APPLICATION), _add_form(user_subject(user)))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["client_id"]
    assert not get_application_model().objects.filter(client_id=user_subject(user)).exists()
    # Any other client_id is registered.
    admin_browser.post(reverse(ADD_APPLICATION), _add_form("reporting-service"))
    assert get_application_model().objects.filter(client_id="reporting-service").exists()


def test_no_save_stores_a_client_id_that_is_a_users_sub(user: Any) -> None:
    """Programmatic creation (and so DOT's own code paths) gets the same ValidationError."""
    with pytest.raises(ValidationError) as refused:
        get_application_model().objects.create(
            name="Impostor",
            client_id=user_subject(user),
            client_type="confidential",
            authorization_grant_type="client-credentials",
        )
    assert "client_id" in refused.value.message_dict
    assert not get_application_model().objects.filter(client_id=user_subject(user)).exists()


def test_renaming_an_application_to_a_users_sub_is_refused(user: Any) -> None:
    application = get_application_model().objects.create(
        name="Reports", client_id="reports", authorization_grant_type="client-credentials"
    )
    application.client_id = user_subject(user)
    with pytest.raises(ValidationError):
        application.save()
    # Saves that leave client_id alone are not checked (no query).
    application.refresh_from_db()
    application.name = "Reports v2"
    application.save(update_fields=["name"])


def test_dots_createapplication_cannot_register_a_users_sub(user: Any) -> None:
    with pytest.raises(ValidationError):
        call_command(
            "createapplication",
            "confidential",
            "client-credentials",
            "--client-id",
            user_subject(user),
            stdout=StringIO(),
        )
    assert not get_application_model().objects.filter(client_id=user_subject(user)).exists()


def test_bearer_application_refuses_a_users_sub(user: Any) -> None:
    with pytest.raises(CommandError, match="client_id"):
        _bearer_application(
            "Impostor", "--grant-type", "client-credentials", "--client-id", user_subject(user)
        )
    assert not get_application_model().objects.filter(client_id=user_subject(user)).exists()


# The command line: loopback redirect URIs, secrets shown once


def test_bearer_application_registers_a_native_apps_loopback_redirect_uri() -> None:
    output = _bearer_application(
        "Desktop notes",
        "--client-type",
        "public",
        "--redirect-uri",
        LOOPBACK_CALLBACK,
        "--scope",
        "read notes:read",
    )
    application = get_application_model().objects.get(name="Desktop notes")
    assert application.redirect_uris == LOOPBACK_CALLBACK
    assert application.client_type == "public"
    assert application.bearer_policy.allowed_scopes == "notes:read read"
    assert application.bearer_policy.openid_connect  # the model's default, as in the admin
    assert f"client_id: {application.client_id}" in output
    assert "client_secret" not in output


def test_dots_createapplication_refuses_the_loopback_uri_bearer_application_accepts() -> None:
    """Why the command exists: DOT's model validation knows https only."""
    out = StringIO()
    call_command(
        "createapplication",
        "public",
        "authorization-code",
        "--redirect-uris",
        LOOPBACK_CALLBACK,
        stdout=out,
    )
    assert "Please correct the following errors" in out.getvalue()
    assert not get_application_model().objects.exists()


def test_bearer_application_prints_a_confidential_clients_secret_once() -> None:
    output = _bearer_application(
        "Reports", "--grant-type", "client-credentials", "--client-id", "reports"
    )
    secret = re.search(r"client_secret: (\S+)", output)
    assert secret is not None
    application = get_application_model().objects.get(client_id="reports")
    assert secret.group(1) not in application.client_secret  # only its hash is stored
    grant = {"grant_type": "client_credentials", "scope": "read"}
    assert token_request("reports", grant, secret=secret.group(1)).status_code == 200
    assert token_request("reports", grant, secret="wrong").status_code == 401


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("--redirect-uri", "http://notes.example/callback"), "redirect_uris"),
        (("--redirect-uri", "https://*.notes.example/callback"), "redirect_uris"),
        ((), "redirect_uris"),
        (("--grant-type", "client-credentials", "--client-type", "public"), "client_type"),
        (("--redirect-uri", LOOPBACK_CALLBACK, "--scope", "admin"), "allowed_scopes"),
    ],
)
def test_bearer_application_refuses_what_the_admin_refuses(
    args: tuple[str, ...], field: str
) -> None:
    with pytest.raises(CommandError, match=field):
        _bearer_application("Refused", *args)
    assert not get_application_model().objects.exists()
