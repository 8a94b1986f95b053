"""What a client sends to /o/token/, /o/revoke_token/ and /o/introspect/, and who may introspect.

RFC 6749 §3.1 (each parameter once), §2.3 (one client authentication method
per request), RFC 7662 §2.1 (introspection needs an authenticated caller: a
confidential client, or DOT's access token with the ``introspection`` scope).
The first-party token endpoints refuse a form field sent twice as well.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from oauth2_provider.models import get_access_token_model, get_grant_model

from bearer_auth.services import first_party_application
from tests.first_party import REFRESH_URL, REVOKE_URL, TOKEN_URL, refresh, sign_in
from tests.oauth_client import (
    SECRET,
    authorization_code,
    authorization_params,
    basic_auth,
    client_credentials_token,
    exchange,
    make_application,
)

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"


def _public_application(**kwargs: Any) -> Any:
    """A public client as bearer_auth and DOT store one: the hash of an empty secret."""
    application = make_application(client_type="public", **kwargs)
    application.client_secret = ""
    application.hash_client_secret = True
    application.save()
    return application


def _assert_refused_client(response: Any) -> None:
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_client"
    assert "active" not in response.json()
    assert response["WWW-Authenticate"] == 'Basic realm="oauth"'
    assert response["Cache-Control"] == "no-store"


def _assert_invalid_request(response: Any) -> None:
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request"
    assert response["Cache-Control"] == "no-store"


# Introspection: confidential clients only (issue 19 item 12)


@pytest.mark.parametrize("how", ["first-party client_id", "public client_id", "public Basic"])
def test_a_public_client_cannot_introspect(how: str) -> None:
    """``client_id`` alone (or ``Basic client_id:``) authenticates no one at /o/introspect/.

    A public client's secret is the hash of an empty string, which the
    client authentication of /o/token/ accepts; the first-party client id is
    in every first-party token.
    """
    token = client_credentials_token(
        make_application(grant_type="client-credentials", redirect_uris="")
    )
    data = {"token": token}
    headers: dict[str, str] = {}
    if how == "first-party client_id":
        data["client_id"] = first_party_application().client_id
    elif how == "public client_id":
        data["client_id"] = _public_application().client_id
    else:
        headers["HTTP_AUTHORIZATION"] = basic_auth(_public_application().client_id, "")
    _assert_refused_client(Client().post("/o/introspect/", data, **headers))


def test_a_confidential_client_introspects_with_basic_or_its_secret_in_the_body() -> None:
    caller = make_application(grant_type="client-credentials", redirect_uris="")
    token = client_credentials_token(caller)
    basic = Client().post(
        "/o/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic_auth(caller.client_id)
    )
    body = Client().post(
        "/o/introspect/", {"token": token, "client_id": caller.client_id, "client_secret": SECRET}
    )
    assert basic.json()["active"] is True
    assert body.json()["active"] is True


def _with_introspection_scope(settings: Any) -> None:
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "SCOPES": {**settings.OAUTH2_PROVIDER["SCOPES"], "introspection": "Introspect tokens"},
    }


def test_an_access_token_with_the_introspection_scope_of_a_confidential_client(
    settings: Any,
) -> None:
    """DOT's other way to authenticate at /o/introspect/ stays, for confidential clients."""
    _with_introspection_scope(settings)
    resource_server = make_application(
        grant_type="client-credentials", redirect_uris="", allowed_scopes="introspection"
    )
    caller = client_credentials_token(resource_server, scope="introspection")
    token = client_credentials_token(
        make_application(grant_type="client-credentials", redirect_uris="")
    )
    response = Client().post(
        "/o/introspect/", {"token": token}, HTTP_AUTHORIZATION=f"Bearer {caller}"
    )
    assert response.status_code == 200, response.content
    assert response.json()["active"] is True


def test_an_access_token_of_a_public_client_does_not_authenticate_at_introspection(
    settings: Any, browser: Client
) -> None:
    """A user's consent to the ``introspection`` scope does not make a public client a server."""
    _with_introspection_scope(settings)
    public = _public_application(allowed_scopes="introspection")
    code, verifier = authorization_code(browser, public, scope="introspection")
    caller = exchange(public, code, verifier, secret=None).json()["access_token"]
    response = Client().post(
        "/o/introspect/", {"token": caller}, HTTP_AUTHORIZATION=f"Bearer {caller}"
    )
    _assert_refused_client(response)


# One client authentication method per request (issue 19 item 14, RFC 6749 §2.3)


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/o/token/", {"grant_type": "client_credentials"}),
        ("/o/revoke_token/", {"token": "anything"}),
        ("/o/introspect/", {"token": "anything"}),
    ],
)
def test_basic_and_the_secret_in_the_body_at_once_are_refused_even_for_one_client(
    url: str, data: dict[str, str]
) -> None:
    application = make_application(grant_type="client-credentials", redirect_uris="")
    response = Client().post(
        url,
        {**data, "client_id": application.client_id, "client_secret": SECRET},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )
    _assert_invalid_request(response)
    assert "access_token" not in response.json()
    assert "active" not in response.json()
    assert not get_access_token_model().objects.exists()


def test_a_bearer_token_and_the_secret_in_the_body_at_once_are_refused_at_introspection() -> None:
    application = make_application(grant_type="client-credentials", redirect_uris="")
    token = client_credentials_token(application)
    response = Client().post(
        "/o/introspect/",
        {"token": token, "client_id": application.client_id, "client_secret": SECRET},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    _assert_invalid_request(response)
    assert "active" not in response.json()


def test_client_id_beside_basic_names_the_client_and_is_accepted() -> None:
    """RFC 6749 §3.2.1: ``client_id`` in the body identifies; it is not a second method."""
    application = make_application(grant_type="client-credentials", redirect_uris="")
    response = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "client_id": application.client_id},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )
    assert response.status_code == 200, response.content


# Each parameter once (issue 19 item 14, RFC 6749 §3.1)


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/o/token/", "grant_type=password&grant_type=client_credentials"),
        ("/o/token/", "grant_type=client_credentials&scope=read&scope=notes:read"),
        ("/o/revoke_token/", "token=one&token=two"),
        ("/o/introspect/", "token=one&token=two"),
    ],
)
def test_a_parameter_sent_twice_is_invalid_request(url: str, body: str) -> None:
    application = make_application(
        grant_type="client-credentials", redirect_uris="", allowed_scopes="read notes:read"
    )
    response = Client().post(
        url, body, content_type=FORM, HTTP_AUTHORIZATION=basic_auth(application.client_id)
    )
    _assert_invalid_request(response)
    assert "sent more than once" in response.json()["error_description"]
    assert not get_access_token_model().objects.exists()


def test_a_parameter_sent_twice_counts_against_the_throttle(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "OAUTH_THROTTLE_RATES": {"token": "2/min"}}
    body = "grant_type=client_credentials&grant_type=client_credentials"
    client = Client()
    statuses = [client.post("/o/token/", body, content_type=FORM).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]


@pytest.mark.parametrize(
    "name",
    [
        "client_id",
        "response_type",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
    ],
)
def test_an_authorization_request_parameter_sent_twice_is_an_error_page(
    browser: Client, name: str
) -> None:
    """A fatal ``invalid_request`` page, never a redirect nor a consent page.

    oauthlib refuses the first five itself; it read the last PKCE value.
    """
    application = make_application()
    params = authorization_params(application)
    query = urlencode([*params.items(), (name, params[name])])
    response = browser.get(f"/o/authorize/?{query}")
    assert response.status_code == 400, response.content
    assert "Location" not in response
    assert b"invalid_request" in response.content
    assert not get_grant_model().objects.exists()


# The first-party token endpoints read form bodies the same way (RFC 6749 §3.1)


@pytest.mark.parametrize(
    ("url", "field"),
    [(TOKEN_URL, "password"), (REFRESH_URL, "refresh_token"), (REVOKE_URL, "token")],
)
def test_a_first_party_form_field_sent_twice_is_invalid_request(
    user: Any, password: str, url: str, field: str
) -> None:
    refresh_token = sign_in(user, password)["refresh_token"]
    values = {"password": password, "refresh_token": refresh_token, "token": refresh_token}
    body = urlencode([("email", user.get_username()), (field, "wrong"), (field, values[field])])
    response = Client().post(url, body, content_type=FORM)
    _assert_invalid_request(response)
    assert "sent more than once" in response.json()["error_description"]
    # Nothing was done with either value: the refresh token still refreshes.
    assert refresh(refresh_token).status_code == 200
