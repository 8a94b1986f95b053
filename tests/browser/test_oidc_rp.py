"""mozilla-django-oidc, in a second Django project, signs a person in with bearer_auth, in Chromium.

bearer_auth is the OpenID Provider: pytest-django's live server with
OpenID Connect on and the live server's URL as its issuer. The relying party
is ``tests/oidc_rp`` (settings, URLs, one page) served by ``runserver`` in a
child process on a SQLite file of its own, on ``127.0.0.1`` while the provider
is on ``localhost``: two origins, two sets of cookies. mozilla-django-oidc
sends the authorization request (PKCE S256, nonce), redeems the code at
``/o/token/``, verifies the ID token against ``/.well-known/jwks.json``,
reads ``/o/userinfo/`` and creates its own user from the ``email`` claim; its
logout sends the browser to ``/o/logout/`` with the ID token as
``id_token_hint``.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from playwright.sync_api import expect

from bearer_auth import keys
from bearer_auth.jwt import decode_id_token, signing_algorithm, user_subject
from bearer_auth.models import TokenSession
from tests.oauth_client import SECRET, query_of
from tests.oidc_support import live_oidc_provider, make_oidc_application
from tests.processes import ROOT, child_env, free_port, stop_process_group, wait_for_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CLIENT_NAME = "Relying party (mozilla-django-oidc)"
#: How long the relying party may take to land the browser back on its page
#: (it calls the provider's token, JWKS and userinfo endpoints meanwhile).
LANDING_MS = 15_000


@dataclass(frozen=True)
class RelyingParty:
    url: str
    database: Path
    log: Path

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(self.database)) as connection:
            return list(connection.execute(sql, params))


@contextmanager
def run_relying_party(
    tmp_path: Path, port: int, *, provider: str, client_id: str, algorithm: str
) -> Iterator[RelyingParty]:
    """Migrate ``tests.oidc_rp``'s own SQLite file and serve it with ``runserver`` on ``port``."""
    environment = child_env(
        tmp_path,
        {
            "DJANGO_SETTINGS_MODULE": "tests.oidc_rp.settings",
            "OIDC_OP_URL": provider,
            "OIDC_RP_CLIENT_ID": client_id,
            "OIDC_RP_CLIENT_SECRET": SECRET,
            "OIDC_RP_SIGN_ALGO": algorithm,
        },
    )
    django = [sys.executable, "-m", "django"]
    log = tmp_path / "relying-party.log"
    with log.open("wb") as sink:
        subprocess.run(
            [*django, "migrate", "--noinput"],
            cwd=ROOT,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
            check=True,
        )
        process = subprocess.Popen(
            [*django, "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(f"{url}/", process, log, timeout=30)
        yield RelyingParty(url, tmp_path / "demo.sqlite3", log)
    except Exception:
        # What the relying party logged (mozilla-django-oidc's errors) beside the failure.
        print(f"relying party's log:\n{log.read_text()}")
        raise
    finally:
        stop_process_group(process)


def live_tokens(application: Any) -> tuple[int, int]:
    """How many access tokens and unrevoked refresh tokens ``application`` holds."""
    return (
        get_access_token_model().objects.filter(application=application).count(),
        get_refresh_token_model()
        .objects.filter(application=application, revoked__isnull=True)
        .count(),
    )


@pytest.fixture
def provider(live_server: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """bearer_auth on the live server: its own URL as issuer, OpenID Connect on."""
    url = live_oidc_provider(live_server, settings, monkeypatch)
    # Playwright's synchronous API keeps an asyncio loop in this thread, so
    # Django refuses the test's own queries between browser steps unless told
    # that this thread is not serving anything asynchronously (it is not).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    return url


#: mozilla-django-oidc verifies RS* and ES* signatures with the provider's JWKS
#: (any other ``alg`` it checks with the client secret, as HS256: not EdDSA).
ALGORITHMS = ("RS256", "ES256")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_mozilla_django_oidc_signs_in_and_out_with_bearer_auth(
    provider: str, algorithm: str, user: Any, password: str, tmp_path: Path, page: Any
) -> None:
    # The JWKS holds a retired key of the other algorithm beside the active one:
    # the relying party picks the signing key by ``kid``.
    (other,) = set(ALGORITHMS) - {algorithm}
    keys.rotate_signing_key(algorithm=other)
    keys.rotate_signing_key(algorithm=algorithm)
    port = free_port()
    rp_url = f"http://127.0.0.1:{port}"
    application = make_oidc_application(
        name=CLIENT_NAME,
        redirect_uris=f"{rp_url}/oidc/callback/",
        post_logout_redirect_uris=f"{rp_url}/",
        allowed_scopes="openid email profile",
    )
    with run_relying_party(
        tmp_path,
        port,
        provider=provider,
        client_id=application.client_id,
        algorithm=signing_algorithm(),  # what mozilla-django-oidc accepts, and nothing else
    ) as rp:
        page.goto(f"{rp.url}/")
        expect(page.locator("#status")).to_have_text("Signed out")
        page.get_by_role("link", name="Sign in with bearer_auth").click()

        # The provider's sign-in page, with the authorization request as ``next``.
        page.wait_for_url(re.compile(re.escape(f"{provider}/accounts/login/?next=")))
        authorization = urlsplit(parse_qs(urlsplit(page.url).query)["next"][0])
        params = {key: values[0] for key, values in parse_qs(authorization.query).items()}
        assert authorization.path == "/o/authorize/"
        assert params["client_id"] == application.client_id
        assert params["scope"] == "openid email profile"
        assert params["redirect_uri"] == f"{rp.url}/oidc/callback/"
        assert params["code_challenge_method"] == "S256"
        assert params["nonce"]

        page.get_by_label("Email address").fill(user.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(
            page.get_by_role("heading", name=f"Allow {CLIENT_NAME} to use your account?")
        ).to_be_visible()
        page.get_by_role("button", name="Allow").click()

        page.wait_for_url(f"{rp.url}/", timeout=LANDING_MS)
        expect(page.locator("#status")).to_have_text(f"Signed in as {user.email}")
        assert rp.query("SELECT email FROM auth_user") == [(user.email,)], rp.log.read_text()
        assert live_tokens(application) == (1, 1)

        # RP-initiated logout: mozilla-django-oidc ends its session and sends
        # the browser to the provider's end_session_endpoint.
        logout_requests: list[str] = []
        page.on(
            "request",
            lambda request: (
                logout_requests.append(request.url)
                if request.url.startswith(f"{provider}/o/logout/")
                else None
            ),
        )
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(re.compile(re.escape(f"{rp.url}/?state=")), timeout=LANDING_MS)
        expect(page.locator("#status")).to_have_text("Signed out")

        assert logout_requests, "the browser never reached the provider's /o/logout/"
        logout = query_of(logout_requests[0])
        assert logout["post_logout_redirect_uri"] == f"{rp.url}/"
        expect(page.locator("#returned-state")).to_have_text(logout["state"])
        # The hint is the ID token mozilla-django-oidc verified and stored: it
        # names this user, this client, and the provider's session (``sid``).
        id_token = decode_id_token(logout["id_token_hint"], audience=application.client_id)
        assert id_token["sub"] == user_subject(user)
        session = TokenSession.objects.get(pk=id_token["sid"])
        assert session.user == user
        assert session.application == application
        assert session.revoked is not None
        # The family's tokens went with it: no access token, no live refresh token.
        assert live_tokens(application) == (0, 0)

        # Signed out at the provider too: signing in again asks for the password.
        page.get_by_role("link", name="Sign in with bearer_auth").click()
        page.wait_for_url(re.compile(re.escape(f"{provider}/accounts/login/?next=")))
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
