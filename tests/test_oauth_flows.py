"""End-to-end OAuth flows against the live test server, driven by requests-oauthlib."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
import requests
import time_machine
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from oauthlib.oauth2 import BackendApplicationClient
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from bearer_auth.jwt import token_checksum, user_subject
from tests.oauth_client import (
    LOOPBACK_CALLBACK,
    SECRET,
    code_flow_live,
    live_issuer,
    make_application,
)
from tests.refresh_entries import past_reuse_interval

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(live_server: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The live server, issuing tokens with its own URL as ``iss``; http allowed for oauthlib."""
    return live_issuer(live_server, settings, monkeypatch)


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def test_authorization_code_with_pkce_confidential_client(server: str, user: Any) -> None:
    application = make_application()
    oauth, token = code_flow_live(server, user, application, scope=["read", "notes:read"])

    assert token["token_type"] == "Bearer"
    assert token["refresh_token"]
    assert set(token["scope"]) == {"read", "notes:read"}
    claims = _claims(token["access_token"])
    assert jwt.get_unverified_header(token["access_token"])["typ"] == "at+jwt"
    assert claims["iss"] == server
    assert claims["sub"] == user_subject(user)
    assert claims["client_id"] == application.client_id
    assert claims["scope"] == "read notes:read"
    assert token["expires_in"] == 300

    api = oauth.get(f"{server}/test-api/whoami/", timeout=10)
    assert api.status_code == 200
    assert api.json()["user"] == str(user.pk)
    assert api.json()["scopes"] == ["notes:read", "read"]


def test_authorization_code_public_client_loopback_any_port(server: str, user: Any) -> None:
    application = make_application(client_type="public", redirect_uris=LOOPBACK_CALLBACK)
    oauth, token = code_flow_live(server, user, application, scope=["read"])
    assert _claims(token["access_token"])["client_id"] == application.client_id
    assert oauth.get(f"{server}/test-api/whoami/", timeout=10).status_code == 200


def test_refresh_rotates_and_reuse_revokes_the_family(server: str, user: Any) -> None:
    application = make_application()
    oauth, first = code_flow_live(server, user, application, scope=["read"])
    auth = HTTPBasicAuth(application.client_id, SECRET)

    second = oauth.refresh_token(f"{server}/o/token/", auth=auth, timeout=10)
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert _claims(second["access_token"])["sub"] == user_subject(user)

    replay = OAuth2Session(application.client_id, token=first)
    with past_reuse_interval():  # sooner, it could be a second tab: refused, family kept
        with pytest.raises(InvalidGrantError):
            replay.refresh_token(f"{server}/o/token/", auth=auth, timeout=10)

        # Reuse protection: the rotated-to token and its access token are dead too.
        assert not get_refresh_token_model().objects.filter(revoked__isnull=True).exists()
        assert not get_access_token_model().objects.exists()
        with pytest.raises(InvalidGrantError):
            oauth.refresh_token(f"{server}/o/token/", auth=auth, timeout=10)
        assert oauth.get(f"{server}/test-api/whoami/", timeout=10).status_code == 401


def test_revocation_by_the_owning_client(server: str, user: Any) -> None:
    application = make_application()
    other = make_application()
    oauth, token = code_flow_live(server, user, application, scope=["read"])

    # Another client "revokes" it: 200 (RFC 7009 §2.2) and nothing happens.
    response = requests.post(
        f"{server}/o/revoke_token/",
        data={"token": token["access_token"]},
        auth=(other.client_id, SECRET),
        timeout=10,
    )
    assert response.status_code == 200
    assert oauth.get(f"{server}/test-api/whoami/", timeout=10).status_code == 200

    response = requests.post(
        f"{server}/o/revoke_token/",
        data={"token": token["refresh_token"], "token_type_hint": "refresh_token"},
        auth=(application.client_id, SECRET),
        timeout=10,
    )
    assert response.status_code == 200
    assert oauth.get(f"{server}/test-api/whoami/", timeout=10).status_code == 401
    with pytest.raises(InvalidGrantError):
        oauth.refresh_token(
            f"{server}/o/token/", auth=HTTPBasicAuth(application.client_id, SECRET), timeout=10
        )


def test_introspection_of_active_revoked_and_unknown_tokens(server: str, user: Any) -> None:
    application = make_application()
    resource_server = make_application(grant_type="client-credentials", redirect_uris="")
    _, token = code_flow_live(server, user, application, scope=["read"])
    caller = (resource_server.client_id, SECRET)

    active = requests.post(
        f"{server}/o/introspect/", data={"token": token["access_token"]}, auth=caller, timeout=10
    )
    assert active.status_code == 200
    assert active.headers["Cache-Control"] == "no-store"
    body = active.json()
    claims = _claims(token["access_token"])
    assert body == {
        "active": True,
        "token_type": "Bearer",
        "scope": "read",
        "client_id": application.client_id,
        "exp": claims["exp"],
        "iat": claims["iat"],
        "iss": server,
        "sub": user_subject(user),
        "aud": claims["aud"],
        "jti": claims["jti"],
    }

    unknown = requests.post(
        f"{server}/o/introspect/", data={"token": "not-a-token"}, auth=caller, timeout=10
    )
    assert unknown.json() == {"active": False}
    refresh = requests.post(
        f"{server}/o/introspect/", data={"token": token["refresh_token"]}, auth=caller, timeout=10
    )
    assert refresh.json() == {"active": False}

    requests.post(
        f"{server}/o/revoke_token/",
        data={"token": token["access_token"]},
        auth=(application.client_id, SECRET),
        timeout=10,
    )
    revoked = requests.post(
        f"{server}/o/introspect/", data={"token": token["access_token"]}, auth=caller, timeout=10
    )
    assert revoked.json() == {"active": False}


def test_introspection_of_an_expired_jwt_answers_only_inactive(server: str, user: Any) -> None:
    """RFC 7662 §2.2: an expired token is ``{"active": false}``, nothing else."""
    application = make_application()
    resource_server = make_application(grant_type="client-credentials", redirect_uris="")
    _, token = code_flow_live(server, user, application, scope=["read"])
    # The row is still there: the answer comes from the expiry, not from a missing token.
    assert (
        get_access_token_model()
        .objects.filter(token_checksum=token_checksum(token["access_token"]))
        .exists()
    )
    expires = _claims(token["access_token"])["exp"]
    with time_machine.travel(expires + 1):
        response = requests.post(
            f"{server}/o/introspect/",
            data={"token": token["access_token"]},
            auth=(resource_server.client_id, SECRET),
            timeout=10,
        )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json() == {"active": False}


def test_introspection_needs_an_authenticated_caller(server: str, user: Any) -> None:
    application = make_application()
    _, token = code_flow_live(server, user, application, scope=["read"])
    for auth in (None, (application.client_id, "wrong-secret")):
        response = requests.post(
            f"{server}/o/introspect/", data={"token": token["access_token"]}, auth=auth, timeout=10
        )
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert "active" not in response.json()
    get = requests.get(
        f"{server}/o/introspect/",
        params={"token": token["access_token"]},
        auth=(application.client_id, SECRET),
        timeout=10,
    )
    assert get.status_code == 405


def test_client_credentials_for_a_confidential_client(server: str) -> None:
    application = make_application(grant_type="client-credentials", redirect_uris="")
    oauth = OAuth2Session(client=BackendApplicationClient(client_id=application.client_id))
    token = oauth.fetch_token(
        f"{server}/o/token/",
        auth=HTTPBasicAuth(application.client_id, SECRET),
        scope=["notes:read"],
        timeout=10,
    )
    assert "refresh_token" not in token
    claims = _claims(token["access_token"])
    assert claims["sub"] == application.client_id
    assert claims["client_id"] == application.client_id
    assert claims["scope"] == "notes:read"
    assert claims["iss"] == server

    introspection = requests.post(
        f"{server}/o/introspect/",
        data={"token": token["access_token"]},
        auth=(application.client_id, SECRET),
        timeout=10,
    )
    assert introspection.json()["sub"] == application.client_id
