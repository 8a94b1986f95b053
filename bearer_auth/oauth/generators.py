"""What oauthlib calls while minting: the access token (``ACCESS_TOKEN_GENERATOR``) and its life."""

from __future__ import annotations

from datetime import timedelta

from oauthlib.common import Request
from oauthlib.oauth2.rfc6749.tokens import random_token_generator

from bearer_auth import dpop, policy
from bearer_auth.jwt import mint_access_token
from bearer_auth.settings import bearer_settings


def access_token_lifetime(request: Request) -> timedelta:
    """Return the lifetime of the access token about to be issued for ``request``.

    The client's ``ApplicationPolicy.access_token_lifetime`` when set, else
    ``BEARER_AUTH["ACCESS_TOKEN_LIFETIME"]``.
    """
    return policy.access_token_lifetime(getattr(request, "client", None))


def access_token_expires_in(request: Request) -> int:
    """oauthlib's ``token_expires_in``: seconds until the new access token expires."""
    return int(access_token_lifetime(request).total_seconds())


def generate_access_token(request: Request) -> str:
    """Mint the RFC 9068 JWT for an oauthlib token request (DOT's ``ACCESS_TOKEN_GENERATOR``).

    oauthlib calls this after ``token_expires_in`` has set
    ``request.expires_in``; client-credentials tokens have no user. A token
    request with a DPoP proof gets a token bound to its key (``cnf``). With
    ``ACCESS_TOKEN_FORMAT = "opaque"`` it returns oauthlib's random token.
    """
    if bearer_settings.ACCESS_TOKEN_FORMAT == "opaque":
        return random_token_generator(request)  # type: ignore[no-any-return]
    user = None if request.grant_type == "client_credentials" else request.user
    proof = dpop.running_proof()
    return mint_access_token(
        user=user,
        client_id=request.client.client_id,
        scope=" ".join(request.scopes or ()),
        lifetime=timedelta(seconds=request.expires_in),
        request=request,
        # RFC 8707: chosen by bearer_auth.oauth.resource_indicators.
        resource=getattr(request, "bearer_resource", None),
        # RFC 9449: bound to the key of the token request's DPoP proof.
        confirmation=dpop.confirmation(proof) if proof is not None else None,
    ).token
