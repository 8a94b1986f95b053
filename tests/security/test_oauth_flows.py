"""OAuth flow attacks (RFC 6749 §10, RFC 7636, RFC 9700 §4; RFC 8252 §8).

``tests/test_oauth_refusals.py`` and ``tests/test_consent.py`` cover PKCE
methods and verifiers, the basic redirect-URI mismatches, code reuse, expiry
and theft, client authentication, scopes, grants and throttling. Added here:
more redirect-URI smuggling, server-side request forgery through URLs a
request may carry (``request_uri``, URL-shaped ``client_id``), mixing two
client authentication methods, clickjacking and caching of the consent page,
and where an anonymous visitor is sent.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from oauth2_provider.models import get_access_token_model, get_grant_model

from tests.oauth_client import (
    HTTPS_CALLBACK,
    SECRET,
    authorization_params,
    exchange,
    form_fields,
    make_application,
)
from tests.security.conftest import NetworkGuard
from tests.security.flows import authorize

pytestmark = pytest.mark.django_db


def _assert_no_redirect_elsewhere(response: Any) -> None:
    location = response.get("Location", "")
    assert not location or location.startswith(HTTPS_CALLBACK + "?"), location


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://client.example@attacker.example/callback",
        "https://client.example/callback@attacker.example",
        "https://client.example/callback/../../attacker",
        "https://client.example/callback/..%2F..%2Fattacker",
        "https://client.example/callback%2F..%2F",
        "https://client.example/callback#fragment",
        "https://client.example/callback#",
        "https://client.example/callback;param",
        "https://client.example/callback\\@attacker.example",
        "https://client.example\\@attacker.example/callback",
        "https://client.ex\u0430mple/callback",  # Cyrillic a
        "https://client.example./callback",
        "https://client.example%2eattacker.example/callback",
        "https:/client.example/callback",
        "https:client.example/callback",
        "javascript:alert(1)//https://client.example/callback",
        "data:text/html,https://client.example/callback",
        " https://client.example/callback",
        "https://client.example/callback ",
        "https://client.example/callback\x00",
        "https://client.example/callback\r\nSet-Cookie: x=1",
    ],
)
def test_smuggled_redirect_uris_are_never_followed(browser: Client, redirect_uri: str) -> None:
    application = make_application(redirect_uris=HTTPS_CALLBACK)
    params = authorization_params(application, redirect_uri=redirect_uri)
    response = browser.get("/o/authorize/", params)
    assert 400 <= response.status_code < 500, response.status_code
    _assert_no_redirect_elsewhere(response)
    assert not get_grant_model().objects.exists()


def test_redirect_uri_smuggled_into_the_consent_post_issues_no_code(browser: Client) -> None:
    """The consent form is re-validated on POST: a tampered ``redirect_uri`` gets no code."""
    application = make_application(redirect_uris=HTTPS_CALLBACK)
    page = browser.get("/o/authorize/", authorization_params(application))
    fields = form_fields(page.content.decode())
    fields.update(allow="on", redirect_uri="https://attacker.example/callback")
    response = browser.post("/o/authorize/", fields)
    _assert_no_redirect_elsewhere(response)
    assert not get_grant_model().objects.exists()


@pytest.mark.parametrize(
    "extra",
    [
        {"request_uri": "https://attacker.example/request.jwt"},
        {"request": "eyJhbGciOiJub25lIn0.eyJyZWRpcmVjdF91cmkiOiJodHRwczovL2F0dGFja2VyIn0."},
        {"client_id": "https://attacker.example/client-metadata.json"},
        {"id_token_hint": "eyJhbGciOiJub25lIn0.e30."},
        {"resource": "https://attacker.example/api"},
        {"registration": '{"jwks_uri": "https://attacker.example/jwks"}'},
    ],
    ids=lambda extra: next(iter(extra)),
)
def test_urls_in_an_authorization_request_are_never_fetched(
    browser: Client, no_outbound: NetworkGuard, extra: dict[str, str]
) -> None:
    """No JAR/PAR, no client metadata documents, no dynamic registration: no SSRF.

    An unknown RFC 8707 resource is refused before anything is fetched:
    ``invalid_target``, sent to the client's own redirect URI.
    """
    application = make_application()
    params = {**authorization_params(application), **extra}
    response = browser.get("/o/authorize/", params)
    if "resource" in extra:
        assert response.status_code == 302
        assert "error=invalid_target" in response["Location"]
    else:
        assert response.status_code in {200, 400}
    _assert_no_redirect_elsewhere(response)
    if "client_id" in extra:
        assert response.status_code == 400


def test_anonymous_visitor_is_sent_to_a_local_sign_in_page(no_outbound: NetworkGuard) -> None:
    application = make_application()
    response = Client().get("/o/authorize/", authorization_params(application))
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert target.scheme == ""
    assert target.netloc == ""
    assert target.path == "/accounts/login/"


def test_sign_in_page_does_not_follow_an_external_next(user: Any, password: str) -> None:
    response = Client().post(
        "/accounts/login/?next=https://attacker.example/phish",
        {"username": user.get_username(), "password": password},
    )
    assert response.status_code == 302
    assert urlsplit(response["Location"]).netloc in {"", "testserver"}


def test_consent_page_cannot_be_framed_or_cached(browser: Client) -> None:
    application = make_application()
    response = browser.get("/o/authorize/", authorization_params(application))
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    cache_control = response["Cache-Control"]
    assert "no-store" in cache_control or "no-cache" in cache_control
    assert "private" in cache_control or "no-store" in cache_control


@pytest.mark.parametrize("body_client", ["another client", "the same client"])
def test_two_client_authentication_methods_at_once_are_refused(user: Any, body_client: str) -> None:
    """RFC 6749 §2.3: one method per request: Basic plus a secret in the body, whoever's."""
    owner = make_application()
    other = make_application() if body_client == "another client" else owner
    code, verifier = authorize(user, owner)
    response = exchange(owner, code, verifier, client_id=other.client_id, client_secret=SECRET)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request"
    assert not get_access_token_model().objects.exists()
    # The code is still unspent: the same client, one method, redeems it.
    assert exchange(owner, code, verifier).status_code == 200


def test_code_of_a_confidential_client_needs_its_secret(user: Any) -> None:
    """Code + verifier alone (a stolen pair) do not redeem without client authentication."""
    application = make_application()
    code, verifier = authorize(user, application)
    response = exchange(application, code, verifier, secret=None)
    assert response.status_code in {400, 401}
    assert not get_access_token_model().objects.exists()
    assert exchange(application, code, verifier).status_code == 200


def test_public_client_code_is_bound_to_its_verifier(user: Any) -> None:
    """Code injection (RFC 9700 §4.5): the attacker's code with the victim's verifier fails."""
    application = make_application(client_type="public")
    victim_code, victim_verifier = authorize(user, application)
    attacker_code, _attacker_verifier = authorize(user, application)
    response = exchange(application, attacker_code, victim_verifier, secret=None)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert victim_code != attacker_code


def test_urls_in_a_registration_are_stored_never_fetched(
    settings: Any, no_outbound: NetworkGuard
) -> None:
    """RFC 7591 metadata URLs (jwks_uri, logo_uri, client_uri...) are never fetched: no SSRF."""
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "CLIENT_REGISTRATION": "open",
        "REGISTRATION_SCOPES": ["read"],
    }
    metadata = {
        "redirect_uris": ["https://attacker.example/callback"],
        "client_uri": "https://attacker.example/",
        "logo_uri": "https://attacker.example/logo.png",
        "jwks_uri": "https://attacker.example/jwks",
        "policy_uri": "https://attacker.example/policy",
        "tos_uri": "https://attacker.example/tos",
        "sector_identifier_uri": "https://attacker.example/sector.json",
        "software_statement": "eyJhbGciOiJub25lIn0.eyJqd2tzX3VyaSI6Imh0dHBzOi8vYXR0YWNrZXIifQ.",
    }
    response = Client().post("/o/register/", metadata, content_type="application/json")
    assert response.status_code == 201, response.content
