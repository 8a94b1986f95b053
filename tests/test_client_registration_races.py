"""Registrations racing on PostgreSQL with real threads (one initial access token, many clients)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from oauth2_provider.models import get_application_model

from bearer_auth.models import ClientRegistration, InitialAccessToken
from bearer_auth.oauth.client_registration import issue_initial_access_token
from tests.threads import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

METADATA = {"redirect_uris": ["http://127.0.0.1/callback"], "token_endpoint_auth_method": "none"}


@pytest.fixture(autouse=True)
def _registration(settings: Any) -> None:
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "CLIENT_REGISTRATION": "initial_access_token",
        "REGISTRATION_SCOPES": ["read"],
        "REGISTRATION_THROTTLE_RATE": "1000/hour",
    }


def register(token: str) -> Any:
    return Client().post(
        "/o/register/",
        json.dumps(METADATA),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_the_last_use_of_an_initial_access_token_goes_to_one_registration() -> None:
    row, token = issue_initial_access_token(lifetime=timedelta(hours=1), max_uses=2)

    responses = run_together(*[lambda: register(token)] * 8)

    assert sorted(response.status_code for response in responses) == [201, 201] + [401] * 6
    assert get_application_model().objects.count() == 2
    assert ClientRegistration.objects.filter(initial_access_token=row).count() == 2
    assert InitialAccessToken.objects.get().uses == 2


def test_the_throttle_holds_under_parallel_open_registrations(settings: Any) -> None:
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "CLIENT_REGISTRATION": "open",
        "REGISTRATION_THROTTLE_RATE": "3/hour",
    }

    def open_registration() -> Any:
        return Client().post("/o/register/", json.dumps(METADATA), content_type="application/json")

    responses = run_together(*[open_registration] * 10)

    assert sorted(response.status_code for response in responses) == [201] * 3 + [429] * 7
    assert get_application_model().objects.count() == 3


def test_racing_updates_leave_the_application_and_its_metadata_in_step(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "CLIENT_REGISTRATION": "open"}
    created = Client().post("/o/register/", json.dumps(METADATA), content_type="application/json")
    info = created.json()

    def update(number: int) -> Any:
        body = {**METADATA, "client_id": info["client_id"]}
        body["redirect_uris"] = [f"http://127.0.0.1/callback{number}"]
        return Client().put(
            info["registration_client_uri"],
            json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {info['registration_access_token']}",
        )

    responses = run_together(*[lambda number=number: update(number) for number in range(8)])

    assert [response.status_code for response in responses] == [200] * 8
    registration = ClientRegistration.objects.select_related("application").get()
    assert registration.metadata["redirect_uris"] == [registration.application.redirect_uris]
