"""Drive bearer_auth's OAuth endpoints like a browser plus a client: the one place for it.

The browser side (signed-in session, consent form) is played with
``requests`` against the live server or with Django's test client. Against
the live server the OAuth client side is requests-oauthlib / oauthlib
(:func:`oauth_session`, :func:`approve_live`, :func:`fetch_token_live`,
:func:`code_flow_live`); in process, :func:`token_request` (HTTP Basic
client authentication) is what :func:`exchange` and
:func:`client_credentials_token` send.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from django.test import Client
from requests_oauthlib import OAuth2Session

from bearer_auth.models import ApplicationPolicy
from bearer_auth.settings import oauth2_provider_settings
from tests.factories import ApplicationFactory

SECRET = "client-secret-for-tests"
HTTPS_CALLBACK = "https://client.example/callback"
LOOPBACK_CALLBACK = "http://127.0.0.1/callback"
#: What a native client listening on a port of its choice sends for ``LOOPBACK_CALLBACK``.
LOOPBACK_CALLBACK_ON_A_PORT = "http://127.0.0.1:53682/callback"


class _FormInputs(HTMLParser):
    """Collect the ``<input>`` name/value pairs of the consent form."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "input" and attributes.get("name"):
            self.fields[str(attributes["name"])] = attributes.get("value") or ""


def form_fields(html: str) -> dict[str, str]:
    parser = _FormInputs()
    parser.feed(html)
    return parser.fields


def make_application(
    *,
    client_type: str = "confidential",
    grant_type: str = "authorization-code",
    redirect_uris: str = HTTPS_CALLBACK,
    allowed_scopes: str | None = "read notes:read notes:write",
    **kwargs: Any,
) -> Any:
    """Create a DOT application (secret ``SECRET``) and its bearer_auth policy."""
    application = ApplicationFactory(
        client_type=client_type,
        authorization_grant_type=grant_type,
        redirect_uris=redirect_uris,
        client_secret=SECRET,
        **kwargs,
    )
    if allowed_scopes is not None:
        ApplicationPolicy.objects.create(application=application, allowed_scopes=allowed_scopes)
    return application


def application_add_form(**overrides: str | None) -> dict[str, str]:
    """The admin's "add application" form as a browser posts it, policy box included.

    An override of ``None`` leaves the field out (an unticked checkbox).
    """
    data: dict[str, str | None] = {
        "name": "Note Taker",
        "client_id": "note-taker",
        "client_type": "confidential",
        "authorization_grant_type": "authorization-code",
        "redirect_uris": "https://notes.example/callback",
        "post_logout_redirect_uris": "",
        "bearer_policy-TOTAL_FORMS": "1",
        "bearer_policy-INITIAL_FORMS": "0",
        "bearer_policy-MIN_NUM_FORMS": "0",
        "bearer_policy-MAX_NUM_FORMS": "1",
        "bearer_policy-0-allowed_scopes": "notes:read",
        "bearer_policy-0-access_token_lifetime": "",
        "bearer_policy-0-openid_connect": "on",
        "bearer_policy-0-id_token_signed_response_alg": "",
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def pkce_pair() -> tuple[str, str]:
    """Return an RFC 7636 (verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def signed_in_browser(user: Any, *, enforce_csrf_checks: bool = False) -> Client:
    """Django's test client as ``user``'s browser: signed in, carrying a session cookie."""
    client = Client(enforce_csrf_checks=enforce_csrf_checks)
    client.force_login(user)
    return client


def browser_session(user: Any) -> requests.Session:
    """A ``requests`` session carrying ``user``'s Django session cookie."""
    client = signed_in_browser(user)
    session = requests.Session()
    session.cookies.set(
        settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value
    )
    return session


def consent_live(session: requests.Session, authorization_url: str, *, allow: bool = True) -> str:
    """Open the consent page on the live server, answer it, return the redirect ``Location``."""
    page = session.get(authorization_url, allow_redirects=False, timeout=10)
    assert page.status_code == 200, page.text
    fields = form_fields(page.text)
    if allow:
        fields["allow"] = "on"
    else:
        fields.pop("allow", None)
    answer = session.post(
        authorization_url.split("?")[0], data=fields, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 302, answer.text
    return str(answer.headers["Location"])


def consent(client: Client, params: dict[str, str], *, allow: bool = True) -> Any:
    """Open the consent page with Django's test client and answer it; return the POST response."""
    page = client.get("/o/authorize/", params)
    assert page.status_code == 200, page.content
    fields = form_fields(page.content.decode())
    if allow:
        fields["allow"] = "on"
    else:
        fields.pop("allow", None)
    return client.post("/o/authorize/", fields)


def authorization_params(
    application: Any, challenge: str | None = None, **overrides: str | None
) -> dict[str, str]:
    """Return an authorization request's query (PKCE S256); an override of ``None`` drops a key.

    Without a ``challenge``, one of a fresh verifier nobody keeps is sent.
    """
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": application.redirect_uris.split()[0],
        "scope": "read",
        "state": secrets.token_urlsafe(8),
        "code_challenge": challenge or pkce_pair()[1],
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {key: value for key, value in params.items() if value is not None}


def authorization_code(
    browser: Client, application: Any, **overrides: str | None
) -> tuple[str, str]:
    """Approve an authorization request on the consent page; return (code, verifier)."""
    verifier, challenge = pkce_pair()
    response = consent(browser, authorization_params(application, challenge, **overrides))
    assert response.status_code == 302, response.content
    params = query_of(response["Location"])
    assert "code" in params, params
    return params["code"], verifier


def basic_auth(client_id: str, secret: str = SECRET) -> str:
    raw = f"{client_id}:{secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def token_request(
    client_id: str,
    data: dict[str, str],
    *,
    secret: str | None = SECRET,
    remote_addr: str = "127.0.0.1",
) -> Any:
    """POST ``data`` to ``/o/token/`` as client ``client_id``, from ``remote_addr``.

    With a ``secret``, the client authenticates with HTTP Basic (RFC 6749
    §2.3.1); with ``None`` it only names itself, ``client_id`` in the body, as a
    public client does (§3.2.1).
    """
    if secret is None:
        return Client().post("/o/token/", {**data, "client_id": client_id}, REMOTE_ADDR=remote_addr)
    return Client().post(
        "/o/token/",
        data,
        HTTP_AUTHORIZATION=basic_auth(client_id, secret),
        REMOTE_ADDR=remote_addr,
    )


def exchange(
    application: Any,
    code: str,
    verifier: str | None,
    *,
    secret: str | None = SECRET,
    remote_addr: str = "127.0.0.1",
    **extra: str,
) -> Any:
    """Redeem ``code`` at ``/o/token/`` as ``application``.

    ``secret`` and ``remote_addr`` are as for :func:`token_request`;
    ``verifier=None`` leaves ``code_verifier`` out; ``extra`` adds or replaces
    fields.
    """
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": application.redirect_uris.split()[0],
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    data.update(extra)
    return token_request(application.client_id, data, secret=secret, remote_addr=remote_addr)


def client_credentials_token(application: Any | None = None, scope: str | None = "read") -> str:
    """Return a client-credentials access token of a confidential client (no scope: its default)."""
    application = application or make_application(grant_type="client-credentials")
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    response = token_request(application.client_id, data)
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])


# The live server, driven by requests-oauthlib


def use_issuer(settings: Any, issuer: str) -> None:
    """Make ``issuer`` the ``BEARER_AUTH["ISSUER"]``, and DOT's settings follow it.

    ``settings`` is pytest-django's fixture. ``OAUTH2_PROVIDER`` is rebuilt
    from the new ``BEARER_AUTH`` as a project's settings module builds it,
    keeping the test settings' scopes.
    """
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "ISSUER": issuer}
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        **oauth2_provider_settings(settings.BEARER_AUTH),
    }


def live_issuer(live_server: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """Make the live server issue tokens with its own URL as ``iss``; let oauthlib use http.

    Return the server's URL. ``settings`` is pytest-django's fixture.
    """
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    use_issuer(settings, live_server.url)
    return str(live_server.url)


def oauth_session(
    application: Any,
    *,
    scope: list[str] | None = None,
    pkce: str | None = "S256",
    redirect_uri: str | None = None,
    state: str | None = None,
) -> OAuth2Session:
    """Return requests-oauthlib's client for ``application``.

    The redirect URI is the application's first one (on a port of its own
    when that is the loopback one, RFC 8252) unless given; ``pkce`` is the
    library's PKCE method (``None``: the library sends no challenge).
    """
    if redirect_uri is None:
        redirect_uri = application.redirect_uris.split()[0]
        if redirect_uri == LOOPBACK_CALLBACK:
            redirect_uri = LOOPBACK_CALLBACK_ON_A_PORT
    return OAuth2Session(
        application.client_id,
        redirect_uri=redirect_uri,
        scope=scope or ["read"],
        pkce=pkce,
        state=state,
    )


def authorization_answer_live(
    server: str, user: Any, oauth: OAuth2Session, **extra: str
) -> tuple[requests.Response, str]:
    """Open ``oauth``'s authorization URL (``extra`` parameters added) as ``user``'s browser.

    Return the server's answer, no redirect followed, and the request's state.
    """
    authorization_url, state = oauth.authorization_url(f"{server}/o/authorize/", **extra)
    answer = browser_session(user).get(authorization_url, allow_redirects=False, timeout=10)
    return answer, state


def approve_live(server: str, user: Any, oauth: OAuth2Session, **extra: str) -> tuple[str, str]:
    """Have ``user`` allow ``oauth``'s authorization request on the consent page.

    Return the URL the browser is sent back to (the authorization response:
    a code, or an error) and the request's state.
    """
    authorization_url, state = oauth.authorization_url(f"{server}/o/authorize/", **extra)
    return consent_live(browser_session(user), authorization_url), state


def fetch_token_live(
    server: str, oauth: OAuth2Session, application: Any, authorization_response: str, **kwargs: Any
) -> dict[str, Any]:
    """Redeem the code in ``authorization_response`` with requests-oauthlib as ``application``.

    A confidential client authenticates with HTTP Basic and ``SECRET`` (or
    ``client_secret`` in ``kwargs``), a public one names itself in the body.
    Refusals raise oauthlib's typed errors (``error`` is the RFC code).
    """
    confidential = application.client_type == "confidential"
    kwargs.setdefault("client_secret", SECRET if confidential else None)
    token: dict[str, Any] = oauth.fetch_token(
        f"{server}/o/token/",
        authorization_response=authorization_response,
        include_client_id=not confidential,
        timeout=10,
        **kwargs,
    )
    return token


def code_flow_live(
    server: str, user: Any, application: Any, *, scope: list[str]
) -> tuple[OAuth2Session, dict[str, Any]]:
    """Authorization code + PKCE S256 through the consent page; return the session and token."""
    oauth = oauth_session(application, scope=scope)
    location, state = approve_live(server, user, oauth)
    assert location.startswith(str(oauth.redirect_uri) + "?")
    params = query_of(location)
    assert params["state"] == state
    assert params["iss"] == server  # RFC 9207, equal to the token issuer
    return oauth, fetch_token_live(server, oauth, application, location)
