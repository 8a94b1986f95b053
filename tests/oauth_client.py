"""Drive bearer_auth's OAuth endpoints like a browser plus a client: the one place for it.

The browser side (signed-in session, consent form) is played with
``requests`` against the live server or with Django's test client. Against
the live server the OAuth client side is requests-oauthlib / oauthlib; in
process, :func:`token_request` (HTTP Basic client authentication) is what
:func:`exchange` and :func:`client_credentials_token` send.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from django.conf import settings
from django.test import Client

from bearer_auth.models import ApplicationPolicy
from tests.factories import ApplicationFactory

SECRET = "client-secret-for-tests"
HTTPS_CALLBACK = "https://client.example/callback"
LOOPBACK_CALLBACK = "http://127.0.0.1/callback"


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


def token_request(client_id: str, data: dict[str, str], *, secret: str | None = SECRET) -> Any:
    """POST ``data`` to ``/o/token/`` as client ``client_id``.

    With a ``secret``, the client authenticates with HTTP Basic (RFC 6749
    §2.3.1); with ``None`` it only names itself, ``client_id`` in the body, as a
    public client does (§3.2.1).
    """
    if secret is None:
        return Client().post("/o/token/", {**data, "client_id": client_id})
    return Client().post("/o/token/", data, HTTP_AUTHORIZATION=basic_auth(client_id, secret))


def exchange(
    application: Any, code: str, verifier: str | None, *, secret: str | None = SECRET, **extra: str
) -> Any:
    """Redeem ``code`` at ``/o/token/`` as ``application``.

    ``secret`` is as for :func:`token_request`; ``verifier=None`` leaves
    ``code_verifier`` out; ``extra`` adds or replaces fields.
    """
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": application.redirect_uris.split()[0],
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    data.update(extra)
    return token_request(application.client_id, data, secret=secret)


def client_credentials_token(application: Any | None = None, scope: str | None = "read") -> str:
    """Return a client-credentials access token of a confidential client (no scope: its default)."""
    application = application or make_application(grant_type="client-credentials")
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    response = token_request(application.client_id, data)
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])
