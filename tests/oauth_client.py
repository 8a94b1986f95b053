"""Drive bearer_auth's OAuth endpoints like a browser plus a real client library.

The browser side (signed-in session, consent form) is played with
``requests`` against the live server or with Django's test client; the OAuth
client side is requests-oauthlib / oauthlib, never hand-built token requests.
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


def browser_session(user: Any) -> requests.Session:
    """A ``requests`` session carrying ``user``'s Django session cookie."""
    client = Client()
    client.force_login(user)
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
    application: Any, challenge: str, **overrides: str | None
) -> dict[str, str]:
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": application.redirect_uris.split()[0],
        "scope": "read",
        "state": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {key: value for key, value in params.items() if value is not None}


def basic_auth(client_id: str, secret: str = SECRET) -> str:
    raw = f"{client_id}:{secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()
