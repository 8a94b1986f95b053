"""DPoP end to end (RFC 9449) with requests-oauth2client, a client library nobody here wrote.

The live server is driven over HTTP: the library signs every proof, sends
``dpop_jkt`` at /o/authorize/, binds the code, refreshes with the same key,
obeys ``DPoP-Nonce`` challenges and calls the test project's protected API
(``/test-api/whoami/``, strict mode) with ``Authorization: DPoP``. The browser
side (the consent page) is tests.oauth_client's. Each request the library
sends is recorded by a transport adapter (:class:`Recorder`), which sees the
library's own nonce retries too. The refusals are plain ``requests`` with the
tokens the library obtained: what a thief holding them could send.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from joserfc import jwk as joserfc_jwk
from requests.adapters import HTTPAdapter
from requests_oauth2client import (
    AuthorizationResponse,
    DPoPKey,
    DPoPToken,
    OAuth2Client,
)

from tests.dpop_support import OMIT, ProofKey
from tests.oauth_client import (
    SECRET,
    browser_session,
    consent_live,
    live_issuer,
    make_application,
    query_of,
)
from tests.views import OTHER_RESOURCE

pytestmark = pytest.mark.django_db(transaction=True)

API = "/test-api/whoami/"
#: The API of another resource (tests.views.ResourceView): no user needed.
OTHER_API = "/test-api/other-resource/"


@pytest.fixture
def server(live_server: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The live server, issuing tokens with its own URL as ``iss``; http allowed for oauthlib."""
    return live_issuer(live_server, settings, monkeypatch)


class Recorder(HTTPAdapter):
    """A transport that records each exchange: the request sent and the status answered.

    The library's nonce retry at a resource goes through ``response.connection``
    (this adapter) without the session's hooks: only the transport sees it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []
        self.received: list[requests.Response] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        # One connection per exchange, closed by both ends: a kept-alive one
        # would hold a live-server thread (and its database connection) past the test.
        request.headers["Connection"] = "close"
        response = super().send(request, *args, **kwargs)
        _ = response.content
        self.poolmanager.clear()
        self.sent.append(request)
        self.received.append(response)
        return response

    @property
    def answers(self) -> list[tuple[str, str, int]]:
        """(method, path, status) of each exchange, in order."""
        return [
            (str(request.method), urlsplit(str(request.url)).path, response.status_code)
            for request, response in zip(self.sent, self.received, strict=True)
        ]

    def proofs_to(self, path: str) -> list[str]:
        """The DPoP proofs sent to ``path``, in order."""
        return [
            str(request.headers["DPoP"])
            for request in self.sent
            if urlsplit(str(request.url)).path == path and "DPoP" in request.headers
        ]


@dataclass
class Party:
    """A client application as the library sees it, with its recorded transport."""

    client: OAuth2Client
    session: requests.Session
    recorder: Recorder
    application: Any

    def api(self, token: DPoPToken, server: str, path: str = API) -> requests.Response:
        """Call the protected API at ``path`` the library's way (``DPoPToken`` as auth)."""
        return self.session.get(f"{server}{path}", auth=token, timeout=10)


def _party(
    server: str, *, client_type: str = "public", grant_type: str = "authorization-code"
) -> Party:
    """A client of ``client_type``, as the library runs it, always asking for DPoP tokens."""
    if grant_type == "client-credentials":
        application = make_application(
            client_type=client_type, grant_type=grant_type, redirect_uris=""
        )
    else:
        application = make_application(client_type=client_type, grant_type=grant_type)
    recorder = Recorder()
    session = requests.Session()
    session.mount("http://", recorder)
    client = OAuth2Client(
        token_endpoint=f"{server}/o/token/",
        authorization_endpoint=f"{server}/o/authorize/",
        redirect_uri=application.redirect_uris.split()[0] if application.redirect_uris else None,
        issuer=server,
        client_id=application.client_id,
        client_secret=SECRET if client_type == "confidential" else None,
        session=session,
        dpop_bound_access_tokens=True,
        testing=True,  # the live server is http://localhost
    )
    return Party(client, session, recorder, application)


def _authorized(server: str, user: Any, party: Party) -> AuthorizationResponse:
    """Have ``user`` approve the library's DPoP authorization request; return its response."""
    request = party.client.authorization_request(scope="read notes:read")
    assert request.dpop_key is not None
    assert query_of(str(request.uri))["dpop_jkt"] == request.dpop_key.dpop_jkt
    location = consent_live(browser_session(user), str(request.uri))
    response: AuthorizationResponse = request.validate_callback(location)  # state and iss
    return response


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def _code_flow(server: str, user: Any, party: Party) -> DPoPToken:
    authorized = _authorized(server, user, party)
    token = party.client.authorization_code(authorized)
    assert isinstance(token, DPoPToken)
    assert authorized.dpop_key is not None
    assert token.dpop_key is authorized.dpop_key
    return token


def _assert_dpop_challenge(response: requests.Response, error: str) -> None:
    """RFC 9449 §7.1: 401 with a ``DPoP`` challenge naming ``error``."""
    assert response.status_code == 401, response.text
    assert response.json()["error"] == error
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("DPoP "), challenge
    assert f'error="{error}"' in challenge
    assert "algs=" in challenge


def _assert_token_refusal(response: requests.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_dpop_proof"
    assert "access_token" not in response.json()


# The library's flows


def test_code_flow_with_pkce_dpop_jkt_api_calls_and_refresh(server: str, user: Any) -> None:
    party = _party(server)
    token = _code_flow(server, user, party)
    assert token.token_type == "DPoP"
    assert _claims(token.access_token)["cnf"] == {"jkt": token.dpop_key.dpop_jkt}
    assert token.refresh_token

    first = party.api(token, server)
    assert first.status_code == 200, first.text
    assert first.json()["user"] == str(user.pk)

    refreshed = party.client.refresh_token(token)
    assert isinstance(refreshed, DPoPToken)
    assert refreshed.dpop_key is token.dpop_key
    assert refreshed.access_token != token.access_token
    assert _claims(refreshed.access_token)["cnf"] == {"jkt": token.dpop_key.dpop_jkt}
    again = party.api(refreshed, server)
    assert again.status_code == 200, again.text

    assert party.recorder.answers == [
        ("POST", "/o/token/", 200),
        ("GET", API, 200),
        ("POST", "/o/token/", 200),
        ("GET", API, 200),
    ]


def test_the_library_obeys_nonces_at_the_token_endpoint_and_the_resource(
    server: str, user: Any, settings: Any
) -> None:
    """One round trip more at each place, the first time; the nonce is kept afterwards."""
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "DPOP_NONCE_REQUIRED": ["token", "resource"]}
    party = _party(server)
    token = _code_flow(server, user, party)
    assert party.recorder.answers == [("POST", "/o/token/", 400), ("POST", "/o/token/", 200)]
    challenge = party.recorder.received[0]
    assert challenge.json()["error"] == "use_dpop_nonce"  # RFC 9449 §8
    assert token.dpop_key.as_nonce == challenge.headers["DPoP-Nonce"]

    assert party.api(token, server).status_code == 200
    assert party.recorder.answers[2:] == [("GET", API, 401), ("GET", API, 200)]
    challenge = party.recorder.received[2]
    _assert_dpop_challenge(challenge, "use_dpop_nonce")  # RFC 9449 §9
    assert token.dpop_key.rs_nonce == challenge.headers["DPoP-Nonce"]

    refreshed = party.client.refresh_token(token)
    assert party.api(refreshed, server).status_code == 200
    assert party.recorder.answers[4:] == [("POST", "/o/token/", 200), ("GET", API, 200)]
    # Every proof after a challenge carried the nonce the server had just given.
    for proof in party.recorder.proofs_to("/o/token/")[1:] + party.recorder.proofs_to(API)[1:]:
        assert _claims(proof)["nonce"]


def test_client_credentials_with_dpop(server: str, settings: Any) -> None:
    """A confidential client's own token, for an API that needs no user (RFC 8707 resource)."""
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "RESOURCES": {OTHER_RESOURCE: {"scopes": ["notes:read"]}},
    }
    party = _party(server, client_type="confidential", grant_type="client-credentials")
    token = party.client.client_credentials(scope="notes:read", dpop=True, resource=OTHER_RESOURCE)
    assert isinstance(token, DPoPToken)
    assert token.token_type == "DPoP"
    claims = _claims(token.access_token)
    assert claims["cnf"] == {"jkt": token.dpop_key.dpop_jkt}
    assert claims["sub"] == party.application.client_id
    response = party.api(token, server, OTHER_API)
    assert response.status_code == 200, response.text
    assert response.json()["client_id"] == party.application.client_id
    assert party.recorder.answers == [("POST", "/o/token/", 200), ("GET", OTHER_API, 200)]
    # The same token without its key is worth nothing.
    stolen = requests.get(
        f"{server}{OTHER_API}",
        headers={"Authorization": f"Bearer {token.access_token}"},
        timeout=10,
    )
    _assert_dpop_challenge(stolen, "invalid_token")


# What a thief holding the library's tokens can send


def _resource(
    server: str,
    token: str,
    *,
    scheme: str = "DPoP",
    proof: str | None = None,
) -> requests.Response:
    """``GET`` the protected API with ``token`` and ``proof``, as anyone holding them could."""
    headers = {"Authorization": f"{scheme} {token}"}
    if proof is not None:
        headers["DPoP"] = proof
    return requests.get(f"{server}{API}", headers=headers, timeout=10)


def test_a_stolen_access_token_is_refused_without_its_key(server: str, user: Any) -> None:
    party = _party(server)
    token = _code_flow(server, user, party)
    url = f"{server}{API}"
    access = token.access_token
    thief = ProofKey()
    assert party.api(token, server).status_code == 200
    sent_by_the_library = party.recorder.proofs_to(API)[-1]

    as_bearer = _resource(server, access, scheme="Bearer")
    _assert_dpop_challenge(as_bearer, "invalid_token")
    _assert_dpop_challenge(_resource(server, access), "invalid_dpop_proof")
    from_another_key = thief.proof("GET", url, access_token=access)
    _assert_dpop_challenge(_resource(server, access, proof=from_another_key), "invalid_dpop_proof")
    # The exact proof the library sent, sent again with the token it was for.
    _assert_dpop_challenge(
        _resource(server, access, proof=sent_by_the_library), "invalid_dpop_proof"
    )
    assert party.api(token, server).status_code == 200  # the holder of the key goes on


def _library_key(key: DPoPKey) -> ProofKey:
    """The library's DPoP key pair, signing with joserfc: what a thief who copied it holds."""
    signer = ProofKey(key.alg, key=joserfc_jwk.import_key(key.private_key.to_dict()))
    assert signer.jkt == key.dpop_jkt
    return signer


@pytest.mark.parametrize("what", ["another method", "another URL", "stale", "without ath"])
def test_a_proof_from_the_right_key_for_something_else_is_refused(
    server: str, user: Any, what: str
) -> None:
    """Each proof is signed with the library's own key and differs from a good one in one way."""
    party = _party(server)
    token = _code_flow(server, user, party)
    signer = _library_key(token.dpop_key)
    access = token.access_token
    url = f"{server}{API}"
    if what == "another method":
        proof = signer.proof("POST", url, access_token=access)
    elif what == "another URL":
        proof = signer.proof("GET", f"{server}/test-api/scoped/", access_token=access)
    elif what == "stale":
        proof = signer.proof(
            "GET", url, access_token=access, claims={"iat": int(time.time()) - 600}
        )
    else:
        proof = signer.proof("GET", url, access_token=access, claims={"ath": OMIT})
    _assert_dpop_challenge(_resource(server, access, proof=proof), "invalid_dpop_proof")
    # The same key with a right proof is accepted: the refusal was for that one difference.
    good = signer.proof("GET", url, access_token=access)
    assert _resource(server, access, proof=good).status_code == 200


def test_a_stolen_refresh_token_needs_the_key(server: str, user: Any) -> None:
    """A public client's refresh token needs its DPoP key; the thief's attempts spend nothing."""
    party = _party(server)
    token = _code_flow(server, user, party)
    endpoint = f"{server}/o/token/"
    data = {
        "grant_type": "refresh_token",
        "refresh_token": str(token.refresh_token),
        "client_id": party.application.client_id,
    }
    _assert_token_refusal(requests.post(endpoint, data=data, timeout=10))
    other_key = {"DPoP": ProofKey().proof("POST", endpoint)}
    _assert_token_refusal(requests.post(endpoint, data=data, headers=other_key, timeout=10))

    refreshed = party.client.refresh_token(token)
    assert isinstance(refreshed, DPoPToken)
    assert party.api(refreshed, server).status_code == 200


def test_a_code_bound_by_dpop_jkt_needs_that_key(server: str, user: Any) -> None:
    party = _party(server)
    authorized = _authorized(server, user, party)
    endpoint = f"{server}/o/token/"
    data = {
        "grant_type": "authorization_code",
        "code": authorized.code,
        "code_verifier": str(authorized.code_verifier),
        "redirect_uri": str(authorized.redirect_uri),
        "client_id": party.application.client_id,
    }
    _assert_token_refusal(
        requests.post(
            endpoint, data=data, headers={"DPoP": ProofKey().proof("POST", endpoint)}, timeout=10
        )
    )
    _assert_token_refusal(requests.post(endpoint, data=data, timeout=10))
    # Refused without being spent: the client holding the key still redeems it.
    token = party.client.authorization_code(authorized)
    assert isinstance(token, DPoPToken)
