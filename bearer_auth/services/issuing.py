"""Issuing tokens on DOT's store: the first-party application, the oauthlib server, new families.

Every token pair is minted by oauthlib's ``BearerToken`` with DOT's configured
generators (bearer_auth's JWT and a random refresh token) and stored by
DOT's validator (``save_bearer_token``), first-party sign-ins included: one
write path for every token row, DOT's model signals sent for each.
A *family* is the chain of refresh tokens of one sign-in or one OAuth
authorization.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from django.core.signals import setting_changed
from django.db import DatabaseError
from django.dispatch import receiver
from oauth2_provider.models import get_application_model, get_refresh_token_model
from oauth2_provider.oauth2_backends import get_oauthlib_core
from oauthlib.common import Request as OAuthlibRequest

from bearer_auth.exceptions import ServiceUnavailable
from bearer_auth.jwt import token_checksum
from bearer_auth.settings import bearer_settings

#: The name the built-in first-party application is created with.
FIRST_PARTY_APPLICATION_NAME: Final = "First-party sign-in"
#: What oauthlib and DOT see as the grant of a first-party sign-in. oauthlib's
#: password grant itself is not offered (RFC 9700 §2.4): bearer_auth checks
#: the password, oauthlib only mints the pair and DOT stores it.
SIGN_IN_GRANT: Final = "password"
#: The request META entries an oauthlib request built here carries: what a
#: session records (client IP, user agent).
_CLIENT_HEADERS: Final = ("REMOTE_ADDR", "HTTP_USER_AGENT")


@dataclass(frozen=True)
class TokenPair:
    """An RFC 6749 §5.1 token response; ``token_type`` ``DPoP`` for tokens bound to a key."""

    access_token: str
    refresh_token: str
    expires_in: int
    scope: str
    token_type: str = "Bearer"
    #: When the session the pair belongs to ends (its absolute lifetime):
    #: the refresh cookie's lifetime. ``None`` for a family without a session.
    session_expires: datetime | None = None

    @classmethod
    def from_token(
        cls, token: Mapping[str, Any], *, session_expires: datetime | None = None
    ) -> TokenPair:
        """Build the pair from oauthlib's token dictionary."""
        return cls(
            access_token=str(token["access_token"]),
            refresh_token=str(token["refresh_token"]),
            expires_in=int(token["expires_in"]),
            scope=str(token.get("scope", "")),
            token_type=str(token.get("token_type", "Bearer")),
            session_expires=session_expires,
        )

    def as_response(self, *, refresh_token: bool = True) -> dict[str, Any]:
        """Return the JSON body of the token response; without the refresh token in cookie mode."""
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
        }
        if not refresh_token:
            del body["refresh_token"]
        return body


def first_party_application() -> Any:
    """Return the built-in first-party DOT application, creating it on first use.

    A public client (no secret) whose ``client_id`` is ``FIRST_PARTY_CLIENT_ID``,
    fetched with its ``ApplicationPolicy`` (scopes, lifetime) in one query.
    ``get_or_create`` is race-safe: ``client_id`` is unique, and a concurrent
    creator's row is fetched after the losing insert rolls back its savepoint.
    """
    application_model = get_application_model()
    client_id = bearer_settings.FIRST_PARTY_CLIENT_ID
    application = (
        application_model.objects.select_related("bearer_policy")
        .filter(client_id=client_id)
        .first()
    )
    if application is None:
        application, _created = application_model.objects.get_or_create(
            client_id=client_id,
            defaults={
                "name": FIRST_PARTY_APPLICATION_NAME,
                "client_type": application_model.CLIENT_PUBLIC,
                "authorization_grant_type": application_model.GRANT_PASSWORD,
                "client_secret": "",
                "redirect_uris": "",
                "skip_authorization": True,
            },
        )
    return application


@functools.cache
def oauth_server() -> Any:
    """DOT's configured oauthlib server (validator, token generators), built once.

    DOT builds a new one per request; nothing in it holds per-request state.
    Rebuilt after a change of ``OAUTH2_PROVIDER`` or ``BEARER_AUTH``.
    """
    return get_oauthlib_core().server


@receiver(setting_changed)
def _rebuild_oauth_server(*, setting: str, **kwargs: Any) -> None:
    if setting in ("OAUTH2_PROVIDER", "BEARER_AUTH"):
        oauth_server.cache_clear()


@contextmanager
def token_store() -> Iterator[None]:
    """Turn a database failure into 503 ``temporarily_unavailable``: fail closed, write nothing."""
    try:
        yield
    except DatabaseError as exc:
        raise ServiceUnavailable from exc


def client_headers(meta: Mapping[str, Any]) -> dict[str, str]:
    """The entries of a request's ``META`` an oauthlib request carries for the session record."""
    names = {*_CLIENT_HEADERS, bearer_settings.CLIENT_IP_HEADER or "REMOTE_ADDR"}
    return {name: str(meta[name]) for name in names if name in meta}


def token_request(
    application: Any,
    *,
    user: Any = None,
    scopes: list[str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> OAuthlibRequest:
    """Return the oauthlib request a first-party sign-in's tokens are minted and stored for."""
    request = OAuthlibRequest("", http_method="POST", headers=dict(headers or {}))
    request.client = application
    request.client_id = application.client_id
    request.user = user
    request.grant_type = SIGN_IN_GRANT
    request.scopes = scopes
    return request


def validate_scopes(request: OAuthlibRequest, scopes: list[str]) -> bool:
    """Ask DOT's validator (bearer_auth's policy) whether the client may have ``scopes``.

    No scope at all is refused there too, for every grant.
    """
    validator = oauth_server().request_validator
    client = request.client
    return bool(validator.validate_scopes(client.client_id, scopes, client, request))


def issue_new_family(request: OAuthlibRequest) -> dict[str, Any]:
    """Mint an access and a refresh token for ``request`` and store them as a new family.

    oauthlib's ``BearerToken`` mints them with DOT's configured generators;
    DOT's validator stores them (``save_bearer_token``), and bearer_auth's
    validator records the family's session there. Call it in a transaction.
    """
    server = oauth_server()
    token = dict(server.default_token_type.create_token(request, refresh_token=True))
    server.request_validator.save_bearer_token(token, request)
    return token


def stored_family(raw_refresh_token: str) -> tuple[uuid.UUID, int]:
    """Return the family and access-token id of the live refresh token just stored, by its digest.

    DOT's validator does not hand back the rows it saved (nor the family it
    drew); the digest is unique among live refresh tokens.
    """
    found: tuple[uuid.UUID, int] = (
        get_refresh_token_model()
        .objects.filter(token_checksum=token_checksum(raw_refresh_token), revoked__isnull=True)
        .values_list("token_family", "access_token_id")
        .get()
    )
    return found
