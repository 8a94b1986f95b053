"""docs/oauth.md, "Dynamic client registration": the registration answer shown is the real one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.docs.markdown import sample
from tests.docs.replay import assert_like

PAGE = "docs/oauth.md"
ANSWER = sample(PAGE, "registration-answer")

pytestmark = pytest.mark.django_db


def test_an_open_registration_answers_what_the_page_shows(settings: Any) -> None:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "issuer.example"]
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "ISSUER": "https://issuer.example",
        "CLIENT_REGISTRATION": "open",
        "REGISTRATION_SCOPES": ["notes:read", "notes:write"],
    }
    shown = json.loads(ANSWER.block.text)
    metadata = {
        name: shown[name]
        for name in ("redirect_uris", "grant_types", "response_types", "scope", "client_name")
    }
    metadata["token_endpoint_auth_method"] = shown["token_endpoint_auth_method"]
    # registration_client_uri is on the issuer's origin (DOT's OIDC_ISS_ENDPOINT).
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "OIDC_ISS_ENDPOINT": settings.BEARER_AUTH["ISSUER"],
    }
    response = Client().post(
        "/o/register/",
        json.dumps(metadata),
        content_type="application/json",
        HTTP_HOST="issuer.example",
        secure=True,
    )
    assert response.status_code == 201, response.content
    actual = response.json()
    # The time of issue differs on every run: an integer.
    assert isinstance(actual["client_id_issued_at"], int)
    shown["client_id_issued_at"] = actual["client_id_issued_at"]
    assert_like(shown, actual, learned={})
