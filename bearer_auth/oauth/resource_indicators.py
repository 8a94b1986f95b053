"""RFC 8707 resource indicators: which resource a token is for, decided before it is minted.

A client names the API it wants a token for with ``resource``, at the
authorization endpoint, the token endpoint, or both. bearer_auth issues
single-audience tokens: a request names at most one resource, and it must be
one the server issues tokens for (:mod:`bearer_auth.resources`): the default
resource or one of ``BEARER_AUTH["RESOURCES"]``. Anything else is
``invalid_target`` (RFC 8707 §2).

- **Authorization** (:func:`check_authorization_resource`, an oauthlib
  ``post_auth`` validator): the resource is checked before the consent page;
  DOT stores it on the grant.
- **Token** (:func:`choose_token_resource`, a ``post_token`` validator of
  every grant): a code exchange or a refresh may repeat its grant's resource
  or leave it out (the token is then for the grant's resource), never ask for
  another one (widening); a grant without a resource is for the default
  resource. A client-credentials request may name any known resource. The
  chosen identifier is ``request.bearer_resource``, which
  :func:`bearer_auth.oauth.generate_access_token` writes as ``aud``.

DOT itself checks the same at storage (its ``_save_bearer_token``) and keeps
the resource on the access and refresh tokens (their ``resource`` column),
so a refresh keeps the family's resource.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.utils.translation import gettext as _
from oauthlib.common import Request
from oauthlib.oauth2.rfc6749.errors import CustomOAuth2Error

from bearer_auth.resources import default_resource, find_resource

#: RFC 8707 §2's error for a resource the server will not issue a token for.
INVALID_TARGET = "invalid_target"


def check_authorization_resource(request: Request) -> dict[str, Any]:
    """Refuse an authorization request for several resources or an unknown one.

    An oauthlib ``post_auth`` validator: it runs once the client and its
    redirect URI are verified, so the refusal is redirected to the client.
    """
    requested = requested_resources(request, query=True)
    if requested:
        _known_resource(requested, request)
    return {}


def choose_token_resource(request: Request) -> None:
    """Decide the resource of the token about to be minted: ``request.bearer_resource``.

    An oauthlib ``post_token`` validator, run once the grant (code, refresh
    token or client) is verified: ``request.bearer_granted_resources`` (set by
    ``validate_code``) or the presented refresh token's ``resource`` is what
    the grant covers. ``None``: the default resource (``aud`` as before RFC 8707).
    """
    requested = requested_resources(request, query=False)
    if request.grant_type == "client_credentials":
        granted = None
    elif request.grant_type == "refresh_token":
        granted = list(request.refresh_token_instance.resource or [])
    else:
        granted = list(getattr(request, "bearer_granted_resources", None) or [])
    if granted is None:
        chosen = _known_resource(requested, request) if requested else None
    else:
        covered = granted or [default_resource().uri]
        if requested and requested[0] not in covered:
            raise CustomOAuth2Error(
                error=INVALID_TARGET,
                description=_(
                    "The resource is not one the grant covers: a token request cannot widen "
                    "its authorization (RFC 8707)."
                ),
                request=request,
            )
        # The grant's resource may have left RESOURCES since.
        chosen = _known_resource(granted, request) if granted else None
    request.bearer_resource = chosen


def requested_resources(request: Request, *, query: bool) -> list[str]:
    """Every ``resource`` value of the request: its query (authorization) or its form body.

    oauthlib keeps only the last value of a repeated parameter; DOT passes the
    authorization form's values as a list.
    """
    value = getattr(request, "resource", None)
    if isinstance(value, list):
        return [str(item) for item in value]
    if query:
        pairs = parse_qsl(urlsplit(request.uri).query, keep_blank_values=True)
    else:
        pairs = list(request.decoded_body or [])
    values = [str(item) for name, item in pairs if name == "resource"]
    if not values and isinstance(value, str):
        values = [value]
    return values


def _known_resource(requested: list[str], request: Request) -> str:
    if len(requested) > 1:
        raise CustomOAuth2Error(
            error=INVALID_TARGET,
            description=_("Name one resource: each access token is issued for one."),
            request=request,
        )
    resource = find_resource(requested[0])
    if resource is None:
        raise CustomOAuth2Error(
            error=INVALID_TARGET,
            description=_("The resource is unknown to this server."),
            request=request,
        )
    return resource.uri
