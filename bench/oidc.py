"""OpenID Connect: the code exchange with and without ``openid``, UserInfo against ``/auth/me/``.

The exchange cases redeem authorization codes at bearer_auth's ``/o/token/``
for a public client (PKCE, no secret: a confidential client's secret check is
a password hash, which would drown the difference measured). The only
difference between the two is ``openid`` in the scope, so their ratio is
what an ID token adds: its signature and its row. Each call spends a code,
so the codes are issued before each batch, outside the timed calls, by
bearer_auth's authorization view (the client skips the consent page, as a
first-party client may), each with a fresh PKCE pair and, for ``openid``, a
nonce; codes live ``AUTHORIZATION_CODE_EXPIRE_SECONDS`` (60 s), so they are
never issued far ahead.

UserInfo and ``/auth/me/`` are sent the same access token, from an ``openid``
exchange, so the two cases differ by their views alone.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.test import Client, RequestFactory
from oauth2_provider.models import get_application_model

from bearer_auth.models import ApplicationPolicy
from bearer_auth.views.oauth import AuthorizationView
from bench.cases import _get
from bench.fixtures import Fixtures
from bench.timing import Case

CLIENT_ID = "bench-oidc-client"
REDIRECT_URI = "https://client.example/callback"
#: The scope of the ``openid`` exchange; the other asks for the same without ``openid``.
OPENID_SCOPE = "openid profile email"
PLAIN_SCOPE = "profile email"
#: The most calls of one exchange batch (an exchange takes milliseconds: a
#: batch of ``batch_seconds`` is a few calls).
EXCHANGE_BATCH = 4
#: Codes issued each time a case's context is entered: a batch and its warm-up
#: call, or the calibration's five calls (``bench.timing.run_interleaved``).
_CODES_PER_ENTRY = max(EXCHANGE_BATCH + 1, 5)


def oidc_cases(fixtures: Fixtures) -> list[Case]:
    """The code exchange with and without ``openid``; UserInfo and ``/auth/me/``."""
    application = _application()
    codes = CodeIssuer(application, fixtures.user)
    client = Client()
    token = _exchange(client, codes.issue(OPENID_SCOPE))
    access_token = str(json.loads(token.content)["access_token"])
    return [
        _exchange_case(client, "oidc/exchange-openid", codes, OPENID_SCOPE),
        _exchange_case(client, "oidc/exchange", codes, PLAIN_SCOPE),
        _get(client, "oidc/userinfo", "/o/userinfo/", access_token),
        _get(client, "oidc/me", "/auth/me/", access_token),
    ]


class CodeIssuer:
    """Issues authorization codes through bearer_auth's authorization view, as the user.

    The view is called with a request from Django's ``RequestFactory``
    carrying the user (and an empty browser session), as the authentication
    and session middleware would set them: the benchmark's middleware is the
    API's (no sessions), so every other case crosses the same stack.
    """

    def __init__(self, application: Any, user: Any) -> None:
        self.application = application
        self.user = user
        self.view = AuthorizationView.as_view()
        self.factory = RequestFactory()

    def issue(self, scope: str) -> dict[str, str]:
        """Return one code's token request: ``code``, ``code_verifier`` and the rest."""
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest())
            .rstrip(b"=")
            .decode("ascii")
        )
        params = {
            "response_type": "code",
            "client_id": self.application.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "state": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        if "openid" in scope.split():
            params["nonce"] = secrets.token_urlsafe(8)
        request = self.factory.get("/o/authorize/", params)
        request.user = self.user
        request.session = {}  # type: ignore[assignment]  # no auth_time noted: last_login's
        response = self.view(request)
        location = response.get("Location", "")
        found = parse_qs(urlsplit(location).query).get("code")
        if response.status_code != 302 or not found:
            raise RuntimeError(f"no code issued: {response.status_code} {location or response!r}")
        return {
            "grant_type": "authorization_code",
            "code": found[0],
            "redirect_uri": REDIRECT_URI,
            "client_id": self.application.client_id,
            "code_verifier": verifier,
        }

    def batch(self, scope: str, pool: list[dict[str, str]]) -> AbstractContextManager[None]:
        """A case's context: ``pool`` holds codes for a batch while it is entered."""

        @contextmanager
        def filled() -> Iterator[None]:
            pool[:] = [self.issue(scope) for _ in range(_CODES_PER_ENTRY)]
            try:
                yield
            finally:
                pool.clear()  # unspent codes expire unused

        return filled()


def _exchange_case(client: Client, name: str, codes: CodeIssuer, scope: str) -> Case:
    """Redeem one code per call; the response must carry an ID token exactly with ``openid``."""
    pool: list[dict[str, str]] = []
    openid = "openid" in scope.split()

    def call() -> Any:
        return _exchange(client, pool.pop())

    def check(response: Any) -> bool:
        if response.status_code != 200:
            return False
        body = json.loads(response.content)
        return ("id_token" in body) is openid and set(body["scope"].split()) == set(scope.split())

    return Case(
        name,
        call,
        check,
        context=lambda: codes.batch(scope, pool),
        max_batch=EXCHANGE_BATCH,
    )


def _exchange(client: Client, data: dict[str, str]) -> Any:
    response = client.post("/o/token/", data)
    if response.status_code != 200:
        raise RuntimeError(f"code exchange failed: {response.status_code} {response.content!r}")
    return response


def _application() -> Any:
    """A public authorization-code client allowed the OpenID Connect scopes, consent skipped."""
    model = get_application_model()
    application = model.objects.create(
        client_id=CLIENT_ID,
        name=CLIENT_ID,
        client_type=model.CLIENT_PUBLIC,
        authorization_grant_type=model.GRANT_AUTHORIZATION_CODE,
        client_secret="",
        redirect_uris=REDIRECT_URI,
        skip_authorization=True,
    )
    ApplicationPolicy.objects.create(application=application, allowed_scopes=OPENID_SCOPE)
    return application
