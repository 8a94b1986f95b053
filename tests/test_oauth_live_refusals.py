"""Every OAuth refusal as a real client library meets it: requests-oauthlib, live server.

The in-process versions (every variant, and what is stored) are in
``tests/test_oauth_refusals.py``; here each refusal goes over HTTP through
``OAuth2Session`` and must come out as oauthlib's error with the RFC 6749
``error`` code: PKCE missing, ``plain`` or a wrong verifier (RFC 7636),
redirect URI variants (RFC 9700 §4.1.3, RFC 8252 §7.3), code reuse and a
code redeemed by another client (RFC 6749 §4.1.2, §10.5), a wrong client
secret, and scope escalation at each endpoint (RFC 6749 §3.3, §6).
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from oauth2_provider.models import get_access_token_model, get_grant_model
from oauthlib.oauth2 import (
    BackendApplicationClient,
    InvalidClientError,
    InvalidGrantError,
    InvalidScopeError,
    OAuth2Error,
)
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from tests.oauth_client import (
    HTTPS_CALLBACK,
    LOOPBACK_CALLBACK,
    SECRET,
    approve_live,
    authorization_answer_live,
    code_flow_live,
    fetch_token_live,
    live_issuer,
    make_application,
    oauth_session,
    pkce_pair,
    query_of,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(live_server: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    return live_issuer(live_server, settings, monkeypatch)


def _refused(error: pytest.ExceptionInfo[OAuth2Error], code: str) -> None:
    """Check that oauthlib raised the RFC error ``code``.

    Several oauthlib classes share ``invalid_request``; which one it picks is
    arbitrary, so the code is what is checked.
    """
    assert isinstance(error.value, OAuth2Error)
    assert error.value.error == code, error.value


def _whoami(server: str, access_token: str) -> int:
    response = requests.get(
        f"{server}/test-api/whoami/",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=10,
    )
    return response.status_code


def _explicit_pkce(application: Any, state: str, **kwargs: Any) -> OAuth2Session:
    """A session that sends the PKCE parameters the test gives it (the library adds none)."""
    return oauth_session(application, pkce=None, state=state, **kwargs)


def _approved_with_a_known_verifier(server: str, user: Any, application: Any) -> tuple[str, str]:
    """Approve a request with an S256 challenge of ours; return the callback URL and verifier.

    The verifier stays in the test's hands, to be sent (or not) by another session.
    """
    verifier, challenge = pkce_pair()
    oauth = _explicit_pkce(application, "approved")
    location, _ = approve_live(
        server, user, oauth, code_challenge=challenge, code_challenge_method="S256"
    )
    return location, verifier


# PKCE (RFC 7636, S256 only)


@pytest.mark.parametrize("method", [None, "plain"])
def test_authorization_without_an_s256_challenge_is_invalid_request(
    server: str, user: Any, method: str | None
) -> None:
    application = make_application()
    # Sent by hand: requests-oauthlib's pkce="plain" sends no challenge at all
    # (oauthlib 4.0's create_code_challenge returns None for "plain").
    verifier, _ = pkce_pair()
    plain = {"code_challenge": verifier, "code_challenge_method": "plain"} if method else {}
    oauth = oauth_session(application, pkce=None)
    answer, state = authorization_answer_live(server, user, oauth, **plain)
    sent = query_of(str(answer.request.url))
    assert sent.get("code_challenge_method") == method
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith(HTTPS_CALLBACK + "?")
    assert query_of(location)["state"] == state
    with pytest.raises(OAuth2Error) as refused:
        fetch_token_live(server, oauth, application, location)
    _refused(refused, "invalid_request")
    assert not get_grant_model().objects.exists()


def test_wrong_or_missing_code_verifier_is_refused_and_the_code_survives(
    server: str, user: Any
) -> None:
    application = make_application()
    location, verifier = _approved_with_a_known_verifier(server, user, application)
    oauth = _explicit_pkce(application, "approved")

    with pytest.raises(InvalidGrantError):
        fetch_token_live(server, oauth, application, location, code_verifier=pkce_pair()[0])
    with pytest.raises(OAuth2Error) as missing:
        fetch_token_live(server, oauth, application, location)
    _refused(missing, "invalid_request")
    assert not get_access_token_model().objects.exists()
    # Neither failure spent the code: its own verifier still redeems it.
    token = fetch_token_live(server, oauth, application, location, code_verifier=verifier)
    assert _whoami(server, token["access_token"]) == 200


# Redirect URIs (exact match; loopback: any port, RFC 8252)


@pytest.mark.parametrize(
    ("registered", "redirect_uri"),
    [
        (HTTPS_CALLBACK, "https://client.example/callback/"),
        (HTTPS_CALLBACK, "https://client.example/callback?next=1"),
        (HTTPS_CALLBACK, "http://client.example/callback"),
        (HTTPS_CALLBACK, "https://client.example.evil.example/callback"),
        (LOOPBACK_CALLBACK, "http://localhost:53682/callback"),
        (LOOPBACK_CALLBACK, "http://127.0.0.1:53682/other"),
    ],
)
def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(
    server: str, user: Any, registered: str, redirect_uri: str
) -> None:
    client_type = "public" if registered == LOOPBACK_CALLBACK else "confidential"
    application = make_application(client_type=client_type, redirect_uris=registered)
    answer, _ = authorization_answer_live(
        server, user, oauth_session(application, redirect_uri=redirect_uri)
    )
    # RFC 6749 §4.1.2.1: never redirect to an unverified URI; the user sees the error.
    assert answer.status_code == 400
    assert "Location" not in answer.headers
    assert not get_grant_model().objects.exists()


def test_token_request_with_another_registered_redirect_uri_is_refused(
    server: str, user: Any
) -> None:
    second = "https://client.example/second"
    application = make_application(redirect_uris=f"{HTTPS_CALLBACK} {second}")
    location, verifier = _approved_with_a_known_verifier(server, user, application)
    switched = _explicit_pkce(application, "approved", redirect_uri=second)
    with pytest.raises(OAuth2Error) as refused:
        fetch_token_live(server, switched, application, location, code_verifier=verifier)
    _refused(refused, "invalid_request")
    assert not get_access_token_model().objects.exists()


# Codes: single use, bound to the client they were issued to


def test_code_reuse_is_invalid_grant_and_kills_what_the_first_exchange_issued(
    server: str, user: Any
) -> None:
    application = make_application()
    oauth = oauth_session(application)
    location, _ = approve_live(server, user, oauth)
    first = fetch_token_live(server, oauth, application, location)
    assert _whoami(server, first["access_token"]) == 200

    with pytest.raises(InvalidGrantError):
        fetch_token_live(server, oauth, application, location)
    assert _whoami(server, first["access_token"]) == 401
    with pytest.raises(InvalidGrantError):
        oauth.refresh_token(
            f"{server}/o/token/",
            refresh_token=first["refresh_token"],
            auth=HTTPBasicAuth(application.client_id, SECRET),
            timeout=10,
        )


def test_code_redeemed_by_another_client_is_invalid_grant(server: str, user: Any) -> None:
    owner = make_application()
    thief = make_application()
    location, verifier = _approved_with_a_known_verifier(server, user, owner)
    # The thief has everything but the owner's secret: code, verifier, redirect URI.
    with pytest.raises(InvalidGrantError):
        fetch_token_live(
            server, _explicit_pkce(thief, "approved"), thief, location, code_verifier=verifier
        )
    assert not get_access_token_model().objects.exists()


def test_wrong_client_secret_is_invalid_client(server: str, user: Any) -> None:
    application = make_application()
    oauth = oauth_session(application)
    location, _ = approve_live(server, user, oauth)
    with pytest.raises(InvalidClientError):
        fetch_token_live(server, oauth, application, location, client_secret="not-the-secret")
    assert not get_access_token_model().objects.exists()


# Scope escalation


def test_authorization_request_beyond_the_allowed_scopes_is_invalid_scope(
    server: str, user: Any
) -> None:
    application = make_application(allowed_scopes="read")
    oauth = oauth_session(application, scope=["read", "notes:write"])
    answer, _ = authorization_answer_live(server, user, oauth)
    assert answer.status_code == 302
    with pytest.raises(InvalidScopeError):
        fetch_token_live(server, oauth, application, answer.headers["Location"])
    assert not get_grant_model().objects.exists()


def test_refresh_cannot_widen_the_scope(server: str, user: Any) -> None:
    application = make_application()
    oauth, token = code_flow_live(server, user, application, scope=["read"])
    oauth.scope = ["read", "notes:write"]
    with pytest.raises(InvalidScopeError):
        oauth.refresh_token(
            f"{server}/o/token/", auth=HTTPBasicAuth(application.client_id, SECRET), timeout=10
        )
    # The refused request spent nothing: the narrower refresh still works.
    oauth.scope = ["read"]
    refreshed = oauth.refresh_token(
        f"{server}/o/token/", auth=HTTPBasicAuth(application.client_id, SECRET), timeout=10
    )
    assert refreshed["refresh_token"] != token["refresh_token"]


def test_client_credentials_beyond_the_allowed_scopes_is_invalid_scope(server: str) -> None:
    application = make_application(
        grant_type="client-credentials", redirect_uris="", allowed_scopes="notes:read"
    )
    oauth = OAuth2Session(client=BackendApplicationClient(client_id=application.client_id))
    with pytest.raises(InvalidScopeError):
        oauth.fetch_token(
            f"{server}/o/token/",
            auth=HTTPBasicAuth(application.client_id, SECRET),
            scope=["notes:read", "notes:write"],
            timeout=10,
        )
    assert not get_access_token_model().objects.exists()
