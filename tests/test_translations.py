"""The French catalogue: messages follow the active language; the .po and .mo are current."""

from __future__ import annotations

import ast
import gettext
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import translation
from oauth2_provider.models import get_access_token_model
from rest_framework.test import APIClient

from bearer_auth.exceptions import InvalidToken
from tests.issuing import issue_access_token
from tests.oauth_client import signed_in_browser
from tests.oidc_support import make_oidc_application
from tests.security.probes import RESOURCE_METADATA

PACKAGE = Path(__file__).resolve().parent.parent / "bearer_auth"
LOCALE = PACKAGE / "locale" / "fr" / "LC_MESSAGES"
REVOKED_FR = "Le jeton d\u2019accès a été révoqué."
BAD_CREDENTIALS_FR = "L\u2019adresse e-mail ou le mot de passe est incorrect."


def _po_entries(path: Path) -> list[dict[str, str]]:
    """Read the entries of a .po file: each one's fields (``msgid``, ``msgstr`` or
    ``msgstr[n]``...) and, under ``"#,"``, its flags (``fuzzy``, ``python-format``)."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {"#,": ""}
        key = None
        for line in block.splitlines():
            if line.startswith("#,"):
                fields["#,"] += line[2:]
            elif line.startswith("#"):
                fields.setdefault("#", "")
                fields["#"] += line
            elif line.startswith('"') and key:
                fields[key] += ast.literal_eval(line)
            else:
                key, _, value = line.partition(" ")
                fields[key] = ast.literal_eval(value)
        if fields.get("msgid"):
            entries.append(fields)
    return entries


def _po_catalogue(path: Path) -> dict[str, str]:
    """The singular entries of a .po file: ``{msgid: msgstr}``."""
    return {e["msgid"]: e["msgstr"] for e in _po_entries(path) if "msgstr" in e}


def test_every_message_is_translated_and_the_committed_mo_matches_the_po() -> None:
    po = _po_catalogue(LOCALE / "django.po")
    assert len(po) > 50
    assert all(po.values()), [msgid for msgid, msgstr in po.items() if not msgstr]
    with (LOCALE / "django.mo").open("rb") as mo_file:
        mo = gettext.GNUTranslations(mo_file)
    for msgid, msgstr in po.items():
        assert mo.gettext(msgid) == msgstr, msgid


def test_the_po_is_what_makemessages_makes_and_every_entry_is_translated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The catalogue is made in bearer_auth/ with
    # ``django-admin makemessages -l fr --add-location=file``: run it on a copy
    # of the package, so a string added or changed in the code or templates
    # since the last run shows up here as a missing or fuzzy entry.
    shutil.copytree(PACKAGE, tmp_path / "bearer_auth", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(tmp_path / "bearer_auth")
    call_command("makemessages", locale=["fr"], add_location="file", verbosity=0)
    made_po = tmp_path / "bearer_auth" / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    made = _po_entries(made_po)

    untranslated = [
        e["msgid"]
        for e in made
        if "fuzzy" in e["#,"] or not all(v for k, v in e.items() if k.startswith("msgstr"))
    ]
    assert not untranslated
    assert "\n#~ " not in made_po.read_text(encoding="utf-8")  # no obsolete entry
    assert made == _po_entries(LOCALE / "django.po")


@pytest.mark.usefixtures("oidc")
@pytest.mark.django_db
def test_the_logout_pages_in_french_by_ui_locales(user: Any) -> None:
    application = make_oidc_application(name="Photos")
    browser = signed_in_browser(user)
    page = browser.get("/o/logout/", {"client_id": application.client_id, "ui_locales": "fr"})
    assert page.status_code == 200
    html = page.content.decode()
    assert '<html lang="fr"' in html
    assert "<title>Se déconnecter ?</title>" in html
    assert '<h1 id="logout-heading">Se déconnecter ?</h1>' in html
    assert f"Vous êtes connecté en tant que <strong>{user.get_username()}</strong>." in html
    assert "Photos vous demande de vous déconnecter." in html
    assert '<button type="submit" name="confirm" value="on">Se déconnecter</button>' in html
    assert "Si vous n\u2019avez pas demandé à vous déconnecter, fermez cette page" in html
    assert "Sign out" not in html

    error = browser.get("/o/logout/", {"client_id": "nobody", "ui_locales": "fr"})
    assert error.status_code == 400
    html = error.content.decode()
    assert "<title>Échec de la déconnexion</title>" in html
    assert "<h1>Cette demande de déconnexion ne peut pas aboutir</h1>" in html
    assert "Le client_id ne désigne aucun client enregistré." in html
    assert "Revenez à l\u2019application" in html

    signed_out = Client().get("/o/logout/", {"ui_locales": "fr"})
    assert "<h1>Vous êtes déconnecté</h1>" in signed_out.content.decode()


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
        'error_description="The access token was revoked.", ' + RESOURCE_METADATA
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
