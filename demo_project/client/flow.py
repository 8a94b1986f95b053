"""The demo client's side of the authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636).

Every message to the authorization server goes through requests-oauthlib's
``OAuth2Session`` (``pkce="S256"``): the authorization URL, the token request
with HTTP Basic client authentication, and the bearer request to the notes
API. The access token is verified with PyJWT's ``PyJWKClient`` against the
server's JWKS. Nothing here touches the server's database: the client knows
only its registration and the server's URLs.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import jwt
import requests
from django.http import HttpRequest
from django.urls import reverse
from oauthlib.oauth2 import OAuth2Error
from requests_oauthlib import OAuth2Session

from demo_project.client.exchanges import HttpExchange
from demo_project.client.models import ClientRegistration

#: The scopes the demo client asks for: read and write the user's notes.
SCOPES: Final = ("notes:read", "notes:write")
#: What ``/client/oidc/`` asks for: sign the user in and release their email and name.
OPENID_SCOPES: Final = ("openid", "email", "profile")
#: Seconds the client waits for the server on each call.
TIMEOUT_SECONDS: Final = 10
#: Signature algorithms the client accepts on an access token (asymmetric only).
ACCEPTED_ALGORITHMS: Final = frozenset({"RS256", "ES256", "EdDSA"})
_REQUIRED_CLAIMS: Final = ["iss", "sub", "exp", "iat", "jti", "client_id"]


@dataclass(frozen=True)
class ServerEndpoints:
    """Where the client reaches the authorization server and the API."""

    authorization: str
    token: str
    jwks: str
    notes: str

    @classmethod
    def for_request(cls, request: HttpRequest) -> ServerEndpoints:
        """Use the origin the browser used for this page, so any host and port works."""
        return cls(
            authorization=request.build_absolute_uri(reverse("oauth2_provider:authorize")),
            token=request.build_absolute_uri(reverse("oauth2_provider:token")),
            jwks=request.build_absolute_uri(reverse("bearer_auth_well_known:jwks")),
            notes=request.build_absolute_uri(reverse("note-list")),
        )


@dataclass(frozen=True)
class AuthorizationRequest:
    """Step 3: where the browser is sent, and what the client keeps to finish the flow."""

    url: str
    state: str
    code_verifier: str
    code_challenge: str
    nonce: str | None


@dataclass(frozen=True)
class TokenExchange:
    """Steps 5 and 6: the token request as sent and answered, and its outcome."""

    exchange: HttpExchange | None
    access_token: str | None
    error: str | None
    #: The OpenID Connect ID token, when ``openid`` was granted.
    id_token: str | None = None


@dataclass(frozen=True)
class TokenCheck:
    """Step 6: the access token's header and claims, and whether its signature verified."""

    header: dict[str, Any]
    claims: dict[str, Any]
    verified: bool
    detail: str


def allow_http_on_loopback(url: str) -> None:
    """Let requests-oauthlib talk plain ``http`` to a loopback server, and only to one.

    oauthlib refuses ``http://`` URLs (RFC 6749 §3.1 requires TLS) unless
    ``OAUTHLIB_INSECURE_TRANSPORT`` is set. The demo serves on 127.0.0.1
    without TLS, where nothing leaves the machine, so the variable is set for
    loopback servers; for any other host it stays unset and oauthlib keeps
    insisting on ``https``. It is process-wide (oauthlib reads the
    environment) and never unset, so concurrent requests cannot race on it.
    """
    if _is_loopback(url):
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"


def _is_loopback(url: str) -> bool:
    hostname = urlsplit(url).hostname or ""
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _session(
    registration: ClientRegistration, *, redirect_uri: str, scope: list[str] | None
) -> OAuth2Session:
    return OAuth2Session(
        registration.client_id, redirect_uri=redirect_uri, scope=scope, pkce="S256"
    )


def start_authorization(
    registration: ClientRegistration,
    *,
    endpoints: ServerEndpoints,
    redirect_uri: str,
    scopes: tuple[str, ...] = SCOPES,
    nonce: str | None = None,
) -> AuthorizationRequest:
    """Build the authorization URL with a fresh ``state`` and an S256 PKCE pair (step 3).

    With a ``nonce`` (OpenID Connect Core §3.1.2.1) the URL carries it; the
    ID token must bring it back.
    """
    allow_http_on_loopback(endpoints.authorization)
    oauth = _session(registration, redirect_uri=redirect_uri, scope=list(scopes))
    extra = {"nonce": nonce} if nonce is not None else {}
    url, state = oauth.authorization_url(endpoints.authorization, **extra)
    # requests-oauthlib keeps the PKCE verifier on the session object, which
    # does not outlive this HTTP request: the client keeps it for step 5.
    verifier: str = oauth._code_verifier
    challenge = parse_qs(urlsplit(url).query)["code_challenge"][0]
    return AuthorizationRequest(
        url=url, state=state, code_verifier=verifier, code_challenge=challenge, nonce=nonce
    )


def exchange_code(
    registration: ClientRegistration,
    *,
    endpoints: ServerEndpoints,
    redirect_uri: str,
    code: str,
    code_verifier: str,
) -> TokenExchange:
    """POST the code and the PKCE verifier to the token endpoint (steps 5 and 6).

    The client authenticates with HTTP Basic (``client_secret_basic``), the
    method requests-oauthlib uses when given a secret. Errors the server
    answers (RFC 6749 §5.2) are returned, not raised, so the page can show them.
    """
    allow_http_on_loopback(endpoints.token)
    # No scope here: the token request does not repeat it, and the server may
    # grant fewer scopes than step 3 asked for (RFC 6749 §3.3), which
    # oauthlib would otherwise raise as a Warning. The response shows the grant.
    oauth = _session(registration, redirect_uri=redirect_uri, scope=None)
    oauth._code_verifier = code_verifier  # kept in the visitor's session since step 3
    answered: list[requests.Response] = []

    def keep_response(response: requests.Response) -> requests.Response:
        answered.append(response)
        return response

    oauth.register_compliance_hook("access_token_response", keep_response)
    try:
        token = oauth.fetch_token(
            endpoints.token,
            code=code,
            client_secret=registration.client_secret,
            timeout=TIMEOUT_SECONDS,
        )
    except OAuth2Error as error:
        return TokenExchange(_exchange(answered), None, f"{error.error}: {error.description}")
    except (requests.RequestException, ValueError) as error:
        return TokenExchange(_exchange(answered), None, f"The token request failed: {error}")
    id_token = token.get("id_token")
    return TokenExchange(
        _exchange(answered),
        str(token["access_token"]),
        None,
        id_token=str(id_token) if id_token else None,
    )


def _exchange(answered: list[requests.Response]) -> HttpExchange | None:
    return HttpExchange.from_response(answered[0]) if answered else None


def verify_access_token(access_token: str, *, jwks_url: str, issuer: str | None) -> TokenCheck:
    """Decode the access token and verify it against the server's JWKS (step 6).

    The key is the JWKS entry whose ``kid`` the token header names; the
    algorithm must be asymmetric and the key's own; ``typ`` must be
    ``at+jwt`` (RFC 9068 §2.1); ``exp`` must be in the future; ``iss`` must be
    the issuer the server named in its authorization response (RFC 9207), when
    it named one. ``aud`` is shown, not checked: it names the API, not this client.
    """
    try:
        header: dict[str, Any] = jwt.get_unverified_header(access_token)
        unverified: dict[str, Any] = jwt.decode(access_token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        return TokenCheck({}, {}, False, f"Not a JWT: {error}")
    try:
        claims = _verified_claims(access_token, header, jwks_url=jwks_url, issuer=issuer)
    except jwt.PyJWTError as error:
        return TokenCheck(header, unverified, False, f"Not verified: {error}")
    return TokenCheck(
        header,
        claims,
        True,
        f"Signature verified with key {header['kid']} from {jwks_url}",
    )


def _verified_claims(
    access_token: str, header: dict[str, Any], *, jwks_url: str, issuer: str | None
) -> dict[str, Any]:
    if header.get("typ") != "at+jwt":
        raise jwt.InvalidTokenError(f"typ is {header.get('typ')!r}, not 'at+jwt'")
    if header.get("alg") not in ACCEPTED_ALGORITHMS:
        raise jwt.InvalidAlgorithmError(f"alg {header.get('alg')!r} is not accepted")
    jwks = jwt.PyJWKClient(jwks_url, cache_keys=False, timeout=TIMEOUT_SECONDS)
    signing_key = jwks.get_signing_key_from_jwt(access_token)
    claims: dict[str, Any] = jwt.decode(
        access_token,
        signing_key,
        algorithms=[signing_key.algorithm_name],
        issuer=issuer,
        options={"verify_aud": False, "require": _REQUIRED_CLAIMS},
    )
    return claims


def call_notes_api(
    access_token: str, *, endpoints: ServerEndpoints, title: str | None
) -> HttpExchange:
    """Call ``/api/notes/`` with ``Authorization: Bearer …`` (step 7).

    ``GET`` lists the user's notes (scope ``notes:read``); with a ``title``
    the client first ``POST``s a new note (``notes:write``) and shows that answer.
    """
    allow_http_on_loopback(endpoints.notes)
    oauth = OAuth2Session(token={"access_token": access_token, "token_type": "Bearer"})
    if title:
        response = oauth.post(endpoints.notes, json={"title": title}, timeout=TIMEOUT_SECONDS)
    else:
        response = oauth.get(endpoints.notes, timeout=TIMEOUT_SECONDS)
    return HttpExchange.from_response(response)
