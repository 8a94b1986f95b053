"""The token store: DOT's ``AccessToken`` / ``RefreshToken`` rows, written and revoked.

Tokens are minted exactly as for OAuth clients (oauthlib's ``BearerToken``
with DOT's configured generators: bearer_auth's JWT and a random refresh
token) and stored in DOT's tables by DOT's validator, hashed (RFC 9700
storage). A *family* is the chain of refresh tokens of one sign-in or one
OAuth authorization; :func:`revoke_family` ends all of it.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from django.core.signals import setting_changed
from django.db import DatabaseError
from django.db.models import Subquery
from django.dispatch import receiver
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_refresh_token_model,
)
from oauth2_provider.oauth2_backends import get_oauthlib_core
from oauthlib.common import Request as OAuthlibRequest

from bearer_auth.exceptions import ServiceUnavailable
from bearer_auth.models import TokenSession
from bearer_auth.prepared import (
    BoundWrite,
    Param,
    PreparedInsert,
    PreparedSelect,
    PreparedUpdate,
)
from bearer_auth.settings import bearer_settings

#: The name the built-in first-party application is created with.
FIRST_PARTY_APPLICATION_NAME: Final = "First-party sign-in"
#: What oauthlib sees as the grant of a first-party sign-in (it mints the tokens only).
SIGN_IN_GRANT: Final = "password"
# oauthlib wants a URI for every request it builds; nothing reads it back.
_TOKEN_URI: Final = "/auth/token/"
# What a rotation rewrites in the family's access-token row.
_ROTATED_ACCESS_TOKEN_FIELDS: Final = (
    "token",
    "token_checksum",
    "expires",
    "scope",
    "source_refresh_token",
    "updated",
)


@dataclass(frozen=True)
class TokenPair:
    """An RFC 6749 §5.1 token response."""

    access_token: str
    refresh_token: str
    expires_in: int
    scope: str
    token_type: str = "Bearer"

    @classmethod
    def from_token(cls, token: Mapping[str, Any]) -> TokenPair:
        """Build the pair from oauthlib's token dictionary."""
        return cls(
            access_token=str(token["access_token"]),
            refresh_token=str(token["refresh_token"]),
            expires_in=int(token["expires_in"]),
            scope=str(token.get("scope", "")),
        )

    def as_response(self) -> dict[str, Any]:
        """Return the JSON body of the token response."""
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
        }


def first_party_application() -> Any:
    """Return the built-in first-party DOT application, creating it on first use.

    A public client (no secret) whose ``client_id`` is ``FIRST_PARTY_CLIENT_ID``,
    fetched with its ``ApplicationPolicy`` (scopes, lifetime) in one prepared
    query (every sign-in asks).
    ``get_or_create`` is race-safe: ``client_id`` is unique, and a concurrent
    creator's row is fetched after the losing insert rolls back its savepoint.
    """
    application_model = get_application_model()
    client_id = bearer_settings.FIRST_PARTY_CLIENT_ID
    application = _APPLICATION_WITH_POLICY.first(client_id=client_id)
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


def _application_with_policy() -> Any:
    model = get_application_model()
    return model.objects.select_related("bearer_policy").filter(
        client_id=Param("client_id", model._meta.get_field("client_id"))
    )[:1]


_APPLICATION_WITH_POLICY: Final = PreparedSelect(_application_with_policy)


@functools.cache
def oauth_server() -> Any:
    """DOT's configured oauthlib server (validator, token generators), built once.

    DOT builds a new one, with every grant type, per request; nothing in it
    holds per-request state, and rebuilding it twice per refresh was 4% of
    the refresh. Rebuilt after a change of ``OAUTH2_PROVIDER`` or ``BEARER_AUTH``.
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


def token_request(application: Any, *, user: Any = None, scopes: list[str] | None = None) -> Any:
    """Return the oauthlib request a first-party token is minted for."""
    request = OAuthlibRequest(_TOKEN_URI, http_method="POST")
    request.client = application
    request.client_id = application.client_id
    request.user = user
    request.grant_type = SIGN_IN_GRANT
    request.scopes = scopes
    return request


def validate_scopes(request: Any, scopes: list[str]) -> bool:
    """Ask DOT's validator (bearer_auth's policy) whether the client may have ``scopes``."""
    validator = oauth_server().request_validator
    client = request.client
    return bool(scopes) and bool(
        validator.validate_scopes(client.client_id, scopes, client, request)
    )


def mint_tokens(request: Any) -> dict[str, Any]:
    """Mint an access + refresh token for ``request`` with DOT's configured generators."""
    token_type = oauth_server().default_token_type
    return dict(token_type.create_token(request, refresh_token=True))


def new_family_writes(token: Mapping[str, Any], request: Any) -> tuple[uuid.UUID, list[BoundWrite]]:
    """The writes that store a freshly minted pair as the first tokens of a new family.

    Returns the new family and the two inserts (access token, then refresh
    token), bound, not run: the caller runs them in its transaction with its
    own writes (``execute_together``, one round trip on PostgreSQL). The rows
    are built as DOT's validator builds them (``_create_access_token``,
    ``_create_refresh_token``: the same fields, the values hashed by its
    ``_set_token_value``); the refresh row finds its access token by that
    token's unique digest, in the same statement, so nothing is read back.
    Like :func:`rotation_writes` they send no ``pre_save``/``post_save``.
    """
    if token.get("id_token"):
        # Only OpenID Connect grants add one; a first-party sign-in never does.
        raise ValueError("a new family's tokens cannot carry an ID token")
    validator = oauth_server().request_validator
    access_token = get_access_token_model()(
        user=request.user,
        scope=token["scope"],
        expires=_expiry(token),
        application=request.client,
        resource=getattr(request, "resource", []),  # RFC 8707, as DOT
    )
    validator._set_token_value(access_token, token["access_token"])
    family = uuid.uuid4()
    refresh_token = _refresh_row(request, token["refresh_token"], family=family)
    insert_access_token = _INSERT_ACCESS_TOKEN.bind(access_token)  # sets its digest
    digest = access_token.token_checksum
    return family, [
        insert_access_token,
        _INSERT_FIRST_REFRESH_TOKEN.bind(refresh_token, access_token_checksum=digest),
    ]


def rotation_writes(
    token: Mapping[str, Any], request: Any, *, spent: Any, now: datetime
) -> list[BoundWrite]:
    """The writes that store ``token`` as the successor of the refresh row ``spent``.

    ``spent`` must be locked and have its ``access_token`` loaded. The spent
    refresh token is revoked and unlinked; the family's one access-token row
    is rewritten in place with the new token (its old value stops working
    at once, as DOT's own non-rotating branch does it), and a new refresh
    row of the same family points to it: three statements, no re-reads, in
    that order. They are returned bound, not run: the caller runs them in
    its transaction, with its own writes (``execute_together``, one round
    trip on PostgreSQL). Like ``QuerySet.update()`` and ``bulk_create()``
    they send no ``pre_save``/``post_save`` for DOT's token rows, and the
    new row's primary key is not read back.
    """
    access_token = spent.access_token
    oauth_server().request_validator._set_token_value(access_token, token["access_token"])
    access_token.expires = _expiry(token, now=now)
    access_token.scope = token["scope"]
    access_token.source_refresh_token_id = spent.pk
    access_token.updated = now
    # What save(update_fields=...) would write: each field's pre_save value
    # (the checksum field derives the digest from the new token there).
    rewritten = {
        name: access_token._meta.get_field(name).pre_save(access_token, False)
        for name in _ROTATED_ACCESS_TOKEN_FIELDS
    }
    successor = _refresh_row(
        request, token["refresh_token"], family=spent.token_family, access_token=access_token
    )
    return [
        # First: the access-token link is unique, and the successor takes it.
        _SPEND_REFRESH_TOKEN.bind(pk=spent.pk, now=now),
        _REWRITE_ACCESS_TOKEN.bind(pk=access_token.pk, **rewritten),
        _INSERT_REFRESH_TOKEN.bind(successor),
    ]


def _refresh_row(
    request: Any, raw_token: str, *, family: uuid.UUID, access_token: Any = None
) -> Any:
    """An unsaved refresh token of ``family``, built as DOT's ``_create_refresh_token`` builds it.

    The same fields from the same sources, and the value set by the
    validator's ``_set_token_value`` (DOT's RFC 9700 storage: the digest,
    not the token); only the ``save()`` is left to :data:`_INSERT_REFRESH_TOKEN`
    or, for a new family's, whose access token has no primary key yet,
    :data:`_INSERT_FIRST_REFRESH_TOKEN`.
    """
    refresh_token = get_refresh_token_model()(
        user=request.user,
        application=request.client,
        access_token=access_token,
        token_family=family,
        resource=getattr(request, "resource", []),  # RFC 8707, as DOT
    )
    oauth_server().request_validator._set_token_value(refresh_token, raw_token)
    return refresh_token


def _spend_refresh_token() -> tuple[Any, dict[str, Any]]:
    model = get_refresh_token_model()
    field = model._meta.get_field
    changes = {
        "revoked": Param("now", field("revoked")),
        "updated": Param("now", field("updated")),
        "access_token": None,
    }
    return model.objects.filter(pk=Param("pk", model._meta.pk)), changes


def _rewrite_access_token() -> tuple[Any, dict[str, Any]]:
    model = get_access_token_model()
    changes = {
        name: Param(name, model._meta.get_field(name)) for name in _ROTATED_ACCESS_TOKEN_FIELDS
    }
    return model.objects.filter(pk=Param("pk", model._meta.pk)), changes


#: Revoke a spent refresh token and unlink it from the family's access token.
_SPEND_REFRESH_TOKEN: Final = PreparedUpdate(_spend_refresh_token)
#: Write a rotation's new access token into the family's access-token row.
_REWRITE_ACCESS_TOKEN: Final = PreparedUpdate(_rewrite_access_token)


def _access_token_by_digest() -> dict[str, Any]:
    model = get_access_token_model()
    digest = Param("access_token_checksum", model._meta.get_field("token_checksum"))
    return {
        "access_token_id": Subquery(model.objects.filter(token_checksum=digest).values("pk")[:1])
    }


#: Insert a rotation's new refresh token (``save()`` built the statement on every refresh).
_INSERT_REFRESH_TOKEN: Final = PreparedInsert(get_refresh_token_model)
#: Insert a new family's access token (``save()`` built the statement on every sign-in).
_INSERT_ACCESS_TOKEN: Final = PreparedInsert(get_access_token_model)
#: Insert a new family's refresh token, linked to the access token with the given
#: digest (inserted just before it, in the same round trip: its key is not read back).
_INSERT_FIRST_REFRESH_TOKEN: Final = PreparedInsert(
    get_refresh_token_model, computed=_access_token_by_digest
)


def revoke_family(family: Any) -> None:
    """Revoke a whole family: DOT's family revocation, then its session row."""
    get_refresh_token_model().revoke_family(family)
    TokenSession.objects.filter(token_family=family, revoked__isnull=True).update(
        revoked=timezone.now()
    )


def _expiry(token: Mapping[str, Any], *, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(seconds=int(token["expires_in"]))
