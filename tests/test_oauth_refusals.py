"""Every refusal of the OAuth endpoints: PKCE, redirect URIs, codes, clients, scopes, grants."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from bearer_auth.oauth import OAuth2Validator
from tests.oauth_client import (
    HTTPS_CALLBACK,
    LOOPBACK_CALLBACK,
    authorization_code,
    authorization_params,
    basic_auth,
    consent,
    exchange,
    form_fields,
    make_application,
    query_of,
    token_request,
)

pytestmark = pytest.mark.django_db


def _error_redirect(response: Any) -> dict[str, str]:
    assert response.status_code == 302
    return query_of(response["Location"])


# PKCE


def test_missing_code_challenge_is_refused(browser: Client) -> None:
    application = make_application()
    params = authorization_params(application, "x", code_challenge=None, code_challenge_method=None)
    response = browser.get("/o/authorize/", params)
    error = _error_redirect(response)
    assert error["error"] == "invalid_request"
    assert error["state"] == params["state"]
    assert not get_grant_model().objects.exists()


@pytest.mark.parametrize("method", ["plain", None, "S512"])
def test_code_challenge_method_other_than_s256_is_refused(
    browser: Client, method: str | None
) -> None:
    application = make_application()
    params = authorization_params(application, code_challenge_method=method)
    error = _error_redirect(browser.get("/o/authorize/", params))
    assert error["error"] == "invalid_request"
    assert "consent" not in error
    assert not get_grant_model().objects.exists()


def test_tampered_consent_form_without_s256_issues_no_code(browser: Client) -> None:
    application = make_application()
    params = authorization_params(application)
    page = browser.get("/o/authorize/", params)
    assert page.status_code == 200
    fields = {**form_fields(page.content.decode()), "allow": "on"}
    for method in ("plain", ""):
        response = browser.post("/o/authorize/", {**fields, "code_challenge_method": method})
        assert _error_redirect(response)["error"] == "invalid_request"
    assert not get_grant_model().objects.exists()


def test_wrong_or_missing_code_verifier_is_refused(browser: Client) -> None:
    application = make_application()
    code, verifier = authorization_code(browser, application)
    wrong = exchange(application, code, verifier[:-1] + ("A" if verifier[-1] != "A" else "B"))
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    missing = exchange(application, code, None)
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"
    assert not get_access_token_model().objects.exists()
    # The code was not consumed by the failures: the right verifier still works.
    assert exchange(application, code, verifier).status_code == 200


# Redirect URIs


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://client.example/callback/",
        "https://client.example/callback?x=1",
        "https://client.example/other",
        "https://client.example:8443/callback",
        "http://client.example/callback",
        "https://evil.example/callback",
        "https://client.example.evil.example/callback",
        "https://user@client.example/callback",
        "//evil.example/callback",
    ],
)
def test_redirect_uri_must_match_exactly(browser: Client, redirect_uri: str) -> None:
    application = make_application(redirect_uris=HTTPS_CALLBACK)
    response = browser.get(
        "/o/authorize/", authorization_params(application, redirect_uri=redirect_uri)
    )
    # A fatal error: shown to the user, never redirected to the unregistered URI.
    assert response.status_code == 400
    assert "Location" not in response
    assert b"invalid_request" in response.content or b"Mismatching" in response.content
    assert not get_grant_model().objects.exists()


@pytest.mark.parametrize(
    ("redirect_uri", "allowed"),
    [
        ("http://127.0.0.1/callback", True),
        ("http://127.0.0.1:53682/callback", True),
        ("http://127.0.0.1:1/callback", True),
        ("http://127.0.0.1:53682/other", False),
        ("http://localhost:53682/callback", False),
        ("https://127.0.0.1:53682/callback", False),
        ("http://127.0.0.2:53682/callback", False),
    ],
)
def test_loopback_redirect_uri_any_port_rfc8252(
    browser: Client, redirect_uri: str, allowed: bool
) -> None:
    application = make_application(client_type="public", redirect_uris=LOOPBACK_CALLBACK)
    params = authorization_params(application, redirect_uri=redirect_uri)
    if allowed:
        response = consent(browser, params)
        assert response.status_code == 302
        assert response["Location"].startswith(redirect_uri + "?code=")
    else:
        assert browser.get("/o/authorize/", params).status_code == 400


def test_token_request_redirect_uri_must_equal_the_authorized_one(browser: Client) -> None:
    application = make_application(redirect_uris=f"{HTTPS_CALLBACK} https://client.example/second")
    code, verifier = authorization_code(browser, application)
    response = exchange(application, code, verifier, redirect_uri="https://client.example/second")
    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_request", "invalid_grant"}
    assert not get_access_token_model().objects.exists()


# Codes


def test_code_reuse_is_refused_and_revokes_what_the_first_exchange_issued(browser: Client) -> None:
    application = make_application()
    code, verifier = authorization_code(browser, application)
    first = exchange(application, code, verifier)
    assert first.status_code == 200
    assert get_access_token_model().objects.count() == 1

    second = exchange(application, code, verifier)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert not get_access_token_model().objects.exists()
    assert not get_refresh_token_model().objects.filter(revoked__isnull=True).exists()
    refresh = token_request(
        application.client_id,
        {"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]},
    )
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"


def test_racing_exchanges_of_one_code_are_both_revoked(browser: Client) -> None:
    """The loser of a race validated the code before the winner deleted it."""
    application = make_application()
    code, verifier = authorization_code(browser, application)
    grant = get_grant_model().objects.get()
    first = exchange(application, code, verifier)
    assert first.status_code == 200
    # Replay the race: the second exchange validates the code and saves its
    # tokens while the grant row still exists; the first deletes the row
    # before the second comes to spend it.
    grant.pk = None
    grant.save()
    invalidate = OAuth2Validator.invalidate_authorization_code

    def spent_by_the_winner_meanwhile(self: Any, *args: Any, **kwargs: Any) -> None:
        get_grant_model().objects.filter(pk=grant.pk).delete()
        invalidate(self, *args, **kwargs)

    with mock.patch.object(
        OAuth2Validator, "invalidate_authorization_code", spent_by_the_winner_meanwhile
    ):
        second = exchange(application, code, verifier)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert second["Cache-Control"] == "no-store"
    assert not get_access_token_model().objects.exists()
    assert not get_refresh_token_model().objects.filter(revoked__isnull=True).exists()


def test_code_expires_after_60_seconds(browser: Client) -> None:
    application = make_application()
    code, verifier = authorization_code(browser, application)
    grant = get_grant_model().objects.get()
    assert grant.expires - grant.created <= timedelta(seconds=60)
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        response = exchange(application, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_issued_to_another_client_is_refused(browser: Client) -> None:
    owner = make_application()
    thief = make_application()
    code, verifier = authorization_code(browser, owner)
    response = exchange(thief, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert not get_access_token_model().objects.exists()


def test_wrong_client_secret_is_invalid_client(browser: Client) -> None:
    application = make_application()
    code, verifier = authorization_code(browser, application)
    response = exchange(application, code, verifier, secret="wrong")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["Cache-Control"] == "no-store"


# Scopes


def test_scope_outside_the_allowed_set_is_invalid_scope(browser: Client) -> None:
    application = make_application(allowed_scopes="read")
    for scope in ("read notes:write", "unknown"):
        response = browser.get("/o/authorize/", authorization_params(application, scope=scope))
        assert _error_redirect(response)["error"] == "invalid_scope"


def test_application_without_policy_is_refused_only_undefined_scopes(browser: Client) -> None:
    # No policy row: every scope OAUTH2_PROVIDER["SCOPES"] defines (tests/test_scopes.py).
    application = make_application(allowed_scopes=None)
    response = browser.get("/o/authorize/", authorization_params(application, scope="write admin"))
    assert _error_redirect(response)["error"] == "invalid_scope"
    code, verifier = authorization_code(browser, application, scope="write")
    assert exchange(application, code, verifier).json()["scope"] == "write"


def test_refresh_cannot_widen_the_scope(browser: Client) -> None:
    application = make_application()
    code, verifier = authorization_code(browser, application, scope="read")
    tokens = exchange(application, code, verifier).json()
    response = token_request(
        application.client_id,
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "scope": "read notes:write",
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_client_credentials_scope_escalation_is_invalid_scope() -> None:
    application = make_application(
        grant_type="client-credentials", redirect_uris="", allowed_scopes="notes:read"
    )
    response = token_request(
        application.client_id,
        {"grant_type": "client_credentials", "scope": "notes:read notes:write"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_client_credentials_without_scope_and_no_allowed_default_is_invalid_scope() -> None:
    """Never an empty-scope token: no default the client is allowed means ``invalid_scope``."""
    application = make_application(
        grant_type="client-credentials", redirect_uris="", allowed_scopes="notes:read"
    )
    response = token_request(application.client_id, {"grant_type": "client_credentials"})
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_scope"
    assert not get_access_token_model().objects.exists()


# Grants that are not offered


def test_client_credentials_refused_for_public_clients() -> None:
    application = make_application(
        client_type="public", grant_type="client-credentials", redirect_uris=""
    )
    response = token_request(application.client_id, {"grant_type": "client_credentials"})
    assert response.status_code in {400, 401}
    assert response.json()["error"] in {"unauthorized_client", "invalid_client"}
    assert not get_access_token_model().objects.exists()


def test_client_credentials_refused_for_authorization_code_clients() -> None:
    application = make_application()
    response = token_request(application.client_id, {"grant_type": "client_credentials"})
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


def test_password_grant_is_not_offered(user: Any, password: str) -> None:
    application = make_application(grant_type="password", redirect_uris="")
    response = token_request(
        application.client_id,
        {"grant_type": "password", "username": user.get_username(), "password": password},
    )
    assert response.status_code == 400
    assert response.json()["error"] in {"unauthorized_client", "unsupported_grant_type"}
    assert not get_access_token_model().objects.exists()


@pytest.mark.parametrize("response_type", ["token", "id_token token", "code token"])
def test_implicit_and_hybrid_response_types_are_not_offered(
    browser: Client, response_type: str
) -> None:
    application = make_application(grant_type="implicit")
    response = browser.get(
        "/o/authorize/", authorization_params(application, response_type=response_type)
    )
    assert response.status_code in {302, 400}
    if response.status_code == 302:
        location = response["Location"]
        assert "access_token" not in location
        assert query_of(location)["error"] in {"unsupported_response_type", "unauthorized_client"}
    assert not get_access_token_model().objects.exists()


def test_device_grant_type_is_an_error_not_a_crash() -> None:
    application = make_application()
    response = token_request(
        application.client_id, {"grant_type": "urn:ietf:params:oauth:grant-type:device_code"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


# Throttling


def test_failed_token_requests_are_throttled_with_retry_after(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "OAUTH_THROTTLE_RATES": {"token": "3/min"}}
    application = make_application()
    client = Client()
    wrong = {"HTTP_AUTHORIZATION": basic_auth(application.client_id, "wrong")}
    statuses = [
        client.post("/o/token/", {"grant_type": "client_credentials"}, **wrong).status_code
        for _ in range(3)
    ]
    assert statuses == [401, 401, 401]
    throttled = client.post("/o/token/", {"grant_type": "client_credentials"}, **wrong)
    assert throttled.status_code == 429
    assert throttled.json()["error"] == "slow_down"
    assert 1 <= int(throttled["Retry-After"]) <= 60
    # Also the right secret is refused now: the IP is over its failure budget.
    right = client.post(
        "/o/token/",
        {"grant_type": "authorization_code", "code": "x"},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )
    assert right.status_code == 429
    # Another IP is not affected, and the budget comes back after the window.
    other = client.post(
        "/o/token/", {"grant_type": "client_credentials"}, REMOTE_ADDR="10.0.0.9", **wrong
    )
    assert other.status_code == 401
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert (
            client.post("/o/token/", {"grant_type": "client_credentials"}, **wrong).status_code
            == 401
        )


def test_successful_token_requests_are_not_counted(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "OAUTH_THROTTLE_RATES": {"token": "2/min"}}
    application = make_application(grant_type="client-credentials", redirect_uris="")
    client = Client()
    for _ in range(5):
        response = client.post(
            "/o/token/",
            {"grant_type": "client_credentials"},
            HTTP_AUTHORIZATION=basic_auth(application.client_id),
        )
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert response["Cache-Control"] == "no-store"
        assert response["Pragma"] == "no-cache"


def test_token_scanning_through_introspection_is_throttled(settings: Any) -> None:
    # The caller authenticated: its inactive answers spend its own budget.
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "OAUTH_CLIENT_THROTTLE_RATES": {"introspect": "3/min"},
    }
    caller = make_application(grant_type="client-credentials", redirect_uris="")
    client = Client()
    auth = {"HTTP_AUTHORIZATION": basic_auth(caller.client_id)}
    answers = [client.post("/o/introspect/", {"token": f"guess-{n}"}, **auth) for n in range(3)]
    assert [answer.json() for answer in answers] == [{"active": False}] * 3
    throttled = client.post("/o/introspect/", {"token": "guess-4"}, **auth)
    assert throttled.status_code == 429
    assert "Retry-After" in throttled


def test_failed_revocation_client_authentication_is_throttled(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "OAUTH_THROTTLE_RATES": {"revoke": "2/min"}}
    application = make_application()
    client = Client()
    wrong = {"HTTP_AUTHORIZATION": basic_auth(application.client_id, "wrong")}
    assert [
        client.post("/o/revoke_token/", {"token": "t"}, **wrong).status_code for _ in range(2)
    ] == [401, 401]
    assert client.post("/o/revoke_token/", {"token": "t"}, **wrong).status_code == 429


def test_client_ip_header_is_used_only_when_configured(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "OAUTH_THROTTLE_RATES": {"token": "1/min"}}
    application = make_application()
    client = Client()
    wrong = {"HTTP_AUTHORIZATION": basic_auth(application.client_id, "wrong")}
    assert (
        client.post("/o/token/", {"grant_type": "client_credentials"}, **wrong).status_code == 401
    )
    # A spoofed X-Forwarded-For does not buy a fresh budget...
    spoofed = client.post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_X_FORWARDED_FOR="10.9.9.9", **wrong
    )
    assert spoofed.status_code == 429
    # ...unless the project says a trusted proxy sets it.
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR",
    }
    proxied = client.post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_X_FORWARDED_FOR="10.9.9.9, 10.0.0.1",
        **wrong,
    )
    assert proxied.status_code == 401


# Client authentication failures (RFC 6749 §5.2) and caching (RFC 6749 §5.1, RFC 7009)


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/o/token/", {"grant_type": "client_credentials"}),
        ("/o/revoke_token/", {"token": "anything"}),
    ],
)
def test_failed_basic_client_authentication_is_challenged_with_basic(
    url: str, data: dict[str, str]
) -> None:
    application = make_application(grant_type="client-credentials", redirect_uris="")
    response = Client().post(
        url, data, HTTP_AUTHORIZATION=basic_auth(application.client_id, "wrong")
    )
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"] == 'Basic realm="oauth"'
    assert response["Cache-Control"] == "no-store"


def test_revocation_answers_are_never_cached() -> None:
    application = make_application(grant_type="client-credentials", redirect_uris="")
    response = Client().post(
        "/o/revoke_token/",
        {"token": "not-a-token"},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
