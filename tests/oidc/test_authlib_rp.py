"""authlib's OpenID Connect client against the live server: discovery, code + PKCE, ID tokens.

The relying party is authlib's own, assembled the way authlib's framework
integrations assemble theirs (``OAuth2Mixin`` + ``OpenIDMixin`` over
``authlib.integrations.requests_client.OAuth2Session``), without a framework:
it reads ``/.well-known/openid-configuration``, sends ``code_challenge``
(S256) and a ``nonce``, redeems the code with the verifier, and validates the
ID token with ``parse_id_token``: the signature with a key of ``jwks_uri``
(fetched again when the token's ``kid`` is not in the copy it holds), the
algorithm among ``id_token_signing_alg_values_supported``, then
:class:`authlib.oidc.core.CodeIDToken`'s checks (``nonce``, ``at_hash``,
``exp``, ``iat``, ``auth_time``, ``azp``) with ``iss`` and ``aud`` required.
"""

from __future__ import annotations

import time
from typing import Any

import jwt as pyjwt
import pytest
import requests
from authlib.integrations.base_client import (
    BaseApp,
    FrameworkIntegration,
    OAuth2Mixin,
    OpenIDMixin,
)
from authlib.integrations.requests_client import OAuth2Session
from joserfc.errors import InvalidClaimError

from bearer_auth import keys
from bearer_auth.jwt import user_subject
from tests.oauth_client import (
    HTTPS_CALLBACK,
    SECRET,
    browser_session,
    consent_live,
    query_of,
)
from tests.oidc_support import live_oidc_provider, make_oidc_application

pytestmark = pytest.mark.django_db(transaction=True)

SCOPE = "openid profile email"


class RelyingParty(OAuth2Mixin, OpenIDMixin, BaseApp):  # type: ignore[misc]
    """authlib's OpenID Connect client, as its Flask and Django integrations build it."""

    client_cls = OAuth2Session


@pytest.fixture
def server(live_server: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    url = live_oidc_provider(live_server, settings, monkeypatch)
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    return url


def relying_party(server: str, application: Any) -> RelyingParty:
    return RelyingParty(
        FrameworkIntegration("bearer_auth"),
        client_id=application.client_id,
        client_secret=SECRET,
        server_metadata_url=f"{server}/.well-known/openid-configuration",
        client_kwargs={
            "scope": SCOPE,
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
            "timeout": 10,
        },
    )


def claims_options(rp: RelyingParty) -> dict[str, Any]:
    """``iss`` and ``aud`` required to be the provider's and this client's; the dates present."""
    return {
        "iss": {"essential": True, "value": rp.load_server_metadata()["issuer"]},
        "aud": {"essential": True, "value": rp.client_id},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "auth_time": {"essential": True},
    }


def sign_in(rp: RelyingParty, user: Any, **params: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the code flow through the consent page as ``user``; return authlib's request and token.

    The request is what authlib generated and would keep in the browser's
    session: ``url``, ``state``, ``code_verifier`` and ``nonce``.
    """
    request: dict[str, Any] = rp.create_authorization_url(redirect_uri=HTTPS_CALLBACK, **params)
    sent = query_of(request["url"])
    assert sent["code_challenge_method"] == "S256"
    assert sent["nonce"] == request["nonce"]
    location = consent_live(browser_session(user), request["url"])
    assert location.startswith(HTTPS_CALLBACK + "?")
    # RFC 9207: the authorization response names the issuer discovery gave.
    assert query_of(location)["iss"] == rp.load_server_metadata()["issuer"]
    token: dict[str, Any] = rp.fetch_access_token(
        redirect_uri=HTTPS_CALLBACK,
        authorization_response=location,
        state=request["state"],
        code_verifier=request["code_verifier"],
    )
    return request, token


def validated(rp: RelyingParty, token: dict[str, Any], nonce: str) -> dict[str, Any]:
    """authlib's validation of ``token``'s ID token; return the claims (a ``UserInfo``)."""
    userinfo: dict[str, Any] = rp.parse_id_token(
        token, nonce=nonce, claims_options=claims_options(rp), leeway=0
    )
    return userinfo


def _kid(id_token: str) -> str:
    return str(pyjwt.get_unverified_header(id_token)["kid"])


def test_discovery_names_this_server(server: str) -> None:
    application = make_oidc_application()
    metadata = relying_party(server, application).load_server_metadata()
    assert metadata["issuer"] == server
    assert metadata["authorization_endpoint"] == f"{server}/o/authorize/"
    assert metadata["token_endpoint"] == f"{server}/o/token/"
    assert metadata["jwks_uri"] == f"{server}/.well-known/jwks.json"
    assert "S256" in metadata["code_challenge_methods_supported"]
    assert "openid" in metadata["scopes_supported"]


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_authlib_signs_in_and_validates_the_id_token(
    server: str, user: Any, algorithm: str
) -> None:
    keys.rotate_signing_key(algorithm=algorithm)
    application = make_oidc_application()
    rp = relying_party(server, application)
    assert rp.load_server_metadata()["id_token_signing_alg_values_supported"] == [algorithm]

    before = int(time.time())
    request, token = sign_in(rp, user)
    claims = validated(rp, token, request["nonce"])

    header = pyjwt.get_unverified_header(token["id_token"])
    assert header["alg"] == algorithm
    assert header["kid"] == keys.current_signing_key().kid
    assert claims["iss"] == server
    assert claims["aud"] == application.client_id
    assert claims["sub"] == user_subject(user)
    assert claims["nonce"] == request["nonce"]
    assert claims["email"] == user.email
    # at_hash was checked by authlib against the access token, with the alg's hash.
    assert "at_hash" in claims
    assert claims["auth_time"] <= claims["iat"]
    assert before - 5 <= claims["iat"] <= int(time.time()) + 5
    assert claims["exp"] > claims["iat"]


def test_authlib_refuses_the_id_token_with_another_access_token(server: str, user: Any) -> None:
    """``at_hash`` binds the ID token to the access token it came with."""
    application = make_oidc_application()
    rp = relying_party(server, application)
    request, token = sign_in(rp, user)
    _other_request, other = sign_in(rp, user)
    mixed = {**token, "access_token": other["access_token"]}
    with pytest.raises(InvalidClaimError, match="at_hash"):
        validated(rp, mixed, request["nonce"])


def test_authlib_refuses_an_id_token_of_another_sign_in(server: str, user: Any) -> None:
    """The nonce this flow sent is the one the ID token must carry (a replayed token is not)."""
    application = make_oidc_application()
    rp = relying_party(server, application)
    _first_request, first = sign_in(rp, user)
    second_request, second = sign_in(rp, user)
    validated(rp, second, second_request["nonce"])
    with pytest.raises(InvalidClaimError, match="nonce"):
        validated(rp, first, second_request["nonce"])


def test_an_id_token_from_before_a_rotation_validates_after_it(server: str, user: Any) -> None:
    application = make_oidc_application()
    rp = relying_party(server, application)
    old_request, old_token = sign_in(rp, user)
    old_kid = _kid(old_token["id_token"])
    validated(rp, old_token, old_request["nonce"])  # the RP now holds the JWKS of the old key

    new_key = keys.rotate_signing_key()
    assert new_key.kid != old_kid

    # A relying party that fetches everything afresh still verifies the old token.
    fresh = relying_party(server, application)
    assert validated(fresh, old_token, old_request["nonce"])["sub"] == user_subject(user)
    jwks = requests.get(fresh.load_server_metadata()["jwks_uri"], timeout=10).json()
    assert {old_kid, new_key.kid} <= {key["kid"] for key in jwks["keys"]}

    # The new ID token is signed by the new kid; the RP holding the old JWKS
    # meets an unknown kid, fetches jwks_uri again, and accepts it.
    assert new_key.kid not in {key["kid"] for key in rp.server_metadata["jwks"]["keys"]}
    new_request, new_token = sign_in(rp, user)
    assert _kid(new_token["id_token"]) == new_key.kid
    assert validated(rp, new_token, new_request["nonce"])["sub"] == user_subject(user)
    assert new_key.kid in {key["kid"] for key in rp.server_metadata["jwks"]["keys"]}
    # And the old one, with the JWKS fetched again.
    validated(rp, old_token, old_request["nonce"])


def test_an_id_token_from_before_a_rotation_to_another_algorithm_validates_after_it(
    server: str, user: Any
) -> None:
    """authlib accepts only the algorithms discovery lists: the retired key's stays listed."""
    keys.rotate_signing_key(algorithm="RS256")
    application = make_oidc_application()
    rp = relying_party(server, application)
    old_request, old_token = sign_in(rp, user)

    keys.rotate_signing_key(algorithm="ES256")
    fresh = relying_party(server, application)
    # The active key's algorithm first, then the retired key's, still in the JWKS.
    supported = fresh.load_server_metadata()["id_token_signing_alg_values_supported"]
    assert supported == ["ES256", "RS256"]
    assert validated(fresh, old_token, old_request["nonce"])["sub"] == user_subject(user)
    new_request, new_token = sign_in(fresh, user)
    assert pyjwt.get_unverified_header(new_token["id_token"])["alg"] == "ES256"
    validated(fresh, new_token, new_request["nonce"])
