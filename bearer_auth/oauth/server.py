"""The oauthlib server DOT runs (``OAUTH2_SERVER_CLASS``): only the grants bearer_auth offers."""

from __future__ import annotations

from typing import Any

from oauthlib.oauth2 import (
    AuthorizationEndpoint,
    BearerToken,
    ClientCredentialsGrant,
    IntrospectEndpoint,
    RefreshTokenGrant,
    ResourceEndpoint,
    RevocationEndpoint,
    TokenEndpoint,
)
from oauthlib.openid.connect.core.grant_types import AuthorizationCodeGrant

from bearer_auth import dpop
from bearer_auth.oauth.generators import access_token_expires_in
from bearer_auth.oauth.resource_indicators import (
    check_authorization_resource,
    choose_token_resource,
)


class TokenType(BearerToken):  # type: ignore[misc]  # oauthlib is untyped
    """oauthlib's ``BearerToken``, which answers ``"token_type": "DPoP"`` for a bound token.

    A token request with a verified DPoP proof (:func:`bearer_auth.dpop.running_proof`)
    gets an access token bound to the proof's key (RFC 9449 §5); everything
    else is oauthlib's.
    """

    def create_token(self, request: Any, refresh_token: bool = False, **kwargs: Any) -> Any:
        token = super().create_token(request, refresh_token=refresh_token, **kwargs)
        if dpop.running_proof() is not None:
            token["token_type"] = dpop.SCHEME
        return token


def require_client_proof(request: Any) -> None:
    """Refuse a token request without a DPoP proof from a client whose policy requires one.

    An oauthlib ``post_token`` validator of every grant (the client is known by then).
    """
    refusal = dpop.client_refusal(request.client, dpop.running_proof())
    if refusal is not None:
        raise dpop.oauth_refusal(refusal, request)


class Server(
    AuthorizationEndpoint,  # type: ignore[misc]  # oauthlib is untyped (Any to mypy)
    IntrospectEndpoint,  # type: ignore[misc]
    TokenEndpoint,  # type: ignore[misc]
    ResourceEndpoint,  # type: ignore[misc]
    RevocationEndpoint,  # type: ignore[misc]
):
    """oauthlib's endpoints with the authorization-code, client-credentials and refresh grants.

    Assembled from oauthlib's public endpoint and grant classes, as its own
    pre-configured servers are. The password and implicit grants are neither
    offered nor advertised (RFC 9700 §2.4, §2.1.2), nor the device grant
    (no device endpoints are mounted); the one response type is ``code``.
    The authorization-code grant is oauthlib's OpenID Connect one: with
    ``openid`` in the granted scope it adds an ID token (the validator signs
    it, :mod:`bearer_auth.oidc.validator`); without, it is the plain OAuth
    grant, with no extra query (oauthlib's dispatcher, which picks a grant by
    reading the code's scope first, is not used). Each grant checks RFC 8707's
    ``resource`` (:mod:`bearer_auth.oauth.resource_indicators`) and, for a
    client that must use DPoP, the proof (:func:`require_client_proof`).
    DOT passes its ``ACCESS_TOKEN_EXPIRE_SECONDS`` (10 hours by default) as
    ``token_expires_in``: the lifetime is bearer_auth's (``BEARER_AUTH`` and
    the client's policy) instead, and DOT's device-flow arguments have no
    grant to go to.
    """

    def __init__(
        self,
        request_validator: Any,
        token_expires_in: Any = None,
        token_generator: Any = None,
        refresh_token_generator: Any = None,
        **kwargs: Any,
    ) -> None:
        # RFC 8707: the resource is checked before consent and chosen before
        # the token is minted (oauthlib's custom validators).
        token_checks = {"post_token": [choose_token_resource, require_client_proof]}
        self.auth_grant = AuthorizationCodeGrant(
            request_validator, post_auth=[check_authorization_resource], **token_checks
        )
        self.credentials_grant = ClientCredentialsGrant(request_validator, **token_checks)
        self.refresh_grant = RefreshTokenGrant(request_validator, **token_checks)
        self.bearer = TokenType(
            request_validator, token_generator, access_token_expires_in, refresh_token_generator
        )
        AuthorizationEndpoint.__init__(
            self,
            default_response_type="code",
            response_types={"code": self.auth_grant},
            default_token_type=self.bearer,
        )
        TokenEndpoint.__init__(
            self,
            default_grant_type="authorization_code",
            grant_types={
                "authorization_code": self.auth_grant,
                "client_credentials": self.credentials_grant,
                "refresh_token": self.refresh_grant,
            },
            default_token_type=self.bearer,
        )
        ResourceEndpoint.__init__(self, default_token="Bearer", token_types={"Bearer": self.bearer})
        RevocationEndpoint.__init__(self, request_validator)
        IntrospectEndpoint.__init__(self, request_validator)
