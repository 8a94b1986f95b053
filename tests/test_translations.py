"""The French catalogue: error descriptions follow the active language; the .mo is current."""

from __future__ import annotations

import ast
import gettext
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from oauth2_provider.models import get_access_token_model
from rest_framework.test import APIClient

from bearer_auth.exceptions import InvalidToken
from tests.issuing import issue_access_token

LOCALE = Path(__file__).resolve().parent.parent / "bearer_auth" / "locale" / "fr" / "LC_MESSAGES"
REVOKED_FR = "Le jeton d\u2019accès a été révoqué."
BAD_CREDENTIALS_FR = "L\u2019adresse e-mail ou le mot de passe est incorrect."


def _po_catalogue(path: Path) -> dict[str, str]:
    """Read the singular entries of a .po file: ``{msgid: msgstr}``."""
    entries: dict[str, str] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            if line.startswith('"') and key:
                fields[key] += ast.literal_eval(line)
            else:
                key, _, value = line.partition(" ")
                fields[key] = ast.literal_eval(value)
        if fields.get("msgid") and "msgstr" in fields:
            entries[fields["msgid"]] = fields["msgstr"]
    return entries


def test_every_message_is_translated_and_the_committed_mo_matches_the_po() -> None:
    po = _po_catalogue(LOCALE / "django.po")
    assert len(po) > 50
    assert all(po.values()), [msgid for msgid, msgstr in po.items() if not msgstr]
    with (LOCALE / "django.mo").open("rb") as mo_file:
        mo = gettext.GNUTranslations(mo_file)
    for msgid, msgstr in po.items():
        assert mo.gettext(msgid) == msgstr, msgid


def test_error_description_follows_the_active_language() -> None:
    with translation.override("fr"):
        assert InvalidToken().description == "Le jeton d\u2019accès est invalide."
    with translation.override("en"):
        assert InvalidToken().description == "The access token is invalid."


@pytest.mark.django_db
def test_resource_server_error_in_french(user: Any) -> None:
    token = issue_access_token(user)
    get_access_token_model().objects.all().delete()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    with translation.override("fr"):
        response = client.get("/test-api/whoami/")
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token", "error_description": REVOKED_FR}
    # RFC 6750 §3: the challenge's error_description is ASCII only, so it
    # stays English while the body is translated.
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="invalid_token", '
        'error_description="The access token was revoked."'
    )


@pytest.mark.django_db
def test_accept_language_selects_french_through_locale_middleware(user: Any, settings: Any) -> None:
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[:2],
        "django.middleware.locale.LocaleMiddleware",
        *settings.MIDDLEWARE[2:],
    ]
    body = {"email": user.get_username(), "password": "wrong password"}
    french = APIClient().post("/auth/token/", body, format="json", HTTP_ACCEPT_LANGUAGE="fr")
    english = APIClient().post("/auth/token/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert french.status_code == english.status_code == 400
    assert french.json() == {"error": "invalid_grant", "error_description": BAD_CREDENTIALS_FR}
    assert english.json()["error_description"] == "The email or password is incorrect."
