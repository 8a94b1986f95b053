"""The data every case needs: a user, an application per product, and live tokens.

Tokens are made the way each product makes them: bearer_auth's with
:func:`bearer_auth.jwt.mint_access_token` and DOT's token row, simplejwt's
with its ``AccessToken.for_user``, DOT's opaque ones with oauthlib's
generator and DOT's hashed row.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_refresh_token_model,
    set_token_value,
)
from oauthlib.common import generate_token
from rest_framework_simplejwt.tokens import AccessToken

from bearer_auth.jwt import audience, issuer, mint_access_token, password_fingerprint
from bearer_auth.models import TokenSession
from bearer_auth.services import ClientInfo, start_session
from bench.peers import RS256AccessToken

ALGORITHMS = ("RS256", "ES256", "EdDSA")
PASSWORD = "bench correct horse battery staple"
SCOPE = "read write"
_LIFETIME = timedelta(hours=6)


@dataclass(frozen=True)
class Fixtures:
    """Live credentials of one benchmark user, one per case."""

    user: Any
    bearer: dict[str, str]  # algorithm -> stored RFC 9068 JWT
    opaque: str  # a DOT opaque token, accepted by bearer_auth (ACCEPT_OPAQUE_TOKENS)
    dot: str  # a DOT opaque token, for OAuth2Authentication
    simplejwt_hs256: str
    simplejwt_rs256: str
    floor_tokens: dict[str, str]  # algorithm -> token with bearer_auth's claims
    floor_keys: dict[str, Any]  # algorithm -> verification key object
    dot_client_id: str  # a public client of DOT's refresh grant
    audience: str
    issuer: str


def create_fixtures() -> Fixtures:
    """Create the user, applications and one live token per case."""
    user = get_user_model().objects.create_user(email="bench@example.com", password=PASSWORD)
    application = _application("bench-oauth-client")
    bearer = {algorithm: _bearer_token(user, application, algorithm) for algorithm in ALGORITHMS}
    floor_keys: dict[str, Any] = {algorithm: _public_key(algorithm) for algorithm in ALGORITHMS}
    claims = jwt.decode(bearer["RS256"], options={"verify_signature": False})
    floor_keys["HS256"] = settings.BENCH_HS256_SECRET
    floor_tokens = {**bearer, "HS256": jwt.encode(claims, floor_keys["HS256"], "HS256")}
    return Fixtures(
        user=user,
        bearer=bearer,
        opaque=store_access_token(generate_token(), user=user, application=application),
        dot=store_access_token(generate_token(), user=user, application=application),
        simplejwt_hs256=str(AccessToken.for_user(user)),
        simplejwt_rs256=str(RS256AccessToken.for_user(user)),
        floor_tokens=floor_tokens,
        floor_keys=floor_keys,
        dot_client_id=application.client_id,
        audience=audience(),
        issuer=issuer(),
    )


def store_access_token(
    token: str,
    *,
    user: Any,
    application: Any,
    expires: datetime | None = None,
    resource: str | None = None,
) -> str:
    """Save DOT's row for ``token``, hashed with DOT's ``set_token_value``; return ``token``.

    ``resource``: the RFC 8707 resource the token was issued for, in the
    row's ``resource`` as DOT saves it.
    """
    row = get_access_token_model()(
        user=user,
        application=application,
        scope=SCOPE,
        expires=expires or timezone.now() + _LIFETIME,
        resource=[resource] if resource else [],
    )
    set_token_value(row, token)
    row.save()
    return token


def dot_refresh_token(fixtures: Fixtures) -> str:
    """A live refresh token of the benchmark's OAuth client, in a family without a session.

    The access and refresh rows DOT's own validator saves for a new pair: what
    DOT's refresh grant (``refresh/dot``) starts from.
    """
    return _oauth_family(fixtures)[0]


def oauth_refresh_token(fixtures: Fixtures) -> str:
    """A live refresh token of the benchmark's OAuth client, in a family with its session.

    What an authorization-code exchange at bearer_auth's ``/o/token/``
    leaves: DOT's access and refresh rows, and the family's ``TokenSession``
    (:func:`bearer_auth.services.start_session`).
    """
    raw, family = _oauth_family(fixtures)
    start_session(
        family,
        user=fixtures.user,
        application=get_application_model().objects.get(client_id=fixtures.dot_client_id),
        client=ClientInfo(ip_address="127.0.0.1", user_agent=""),
    )
    return raw


def _oauth_family(fixtures: Fixtures) -> tuple[str, uuid.UUID]:
    """Store a new pair of the OAuth client, hashed; return the raw refresh token and its family."""
    application = get_application_model().objects.get(client_id=fixtures.dot_client_id)
    access = get_access_token_model()(
        user=fixtures.user,
        application=application,
        scope=SCOPE,
        expires=timezone.now() + _LIFETIME,
    )
    set_token_value(access, generate_token())
    access.save()
    raw = generate_token()
    family = uuid.uuid4()
    row = get_refresh_token_model()(
        user=fixtures.user,
        application=application,
        access_token=access,
        token_family=family,
    )
    set_token_value(row, raw)
    row.save()
    return raw, family


@contextmanager
def signing_with(algorithm: str) -> Iterator[None]:
    """Make the key of ``algorithm`` the signing one (the first of ``SIGNING_KEYS``)."""
    first = str(settings.BENCH_KEY_FILES[algorithm])
    others = [str(path) for alg, path in settings.BENCH_KEY_FILES.items() if alg != algorithm]
    with override_settings(BEARER_AUTH={**settings.BEARER_AUTH, "SIGNING_KEYS": [first, *others]}):
        yield


def seed_sessions(count: int, *, batch: int = 2000) -> None:
    """Bulk-insert ``count`` first-party sign-ins: session, access and refresh rows.

    Spread over a hundred users; each family has the rows a real sign-in leaves.
    """
    from bearer_auth.services import first_party_application

    application = first_party_application()
    user_model = get_user_model()
    prefix = secrets.token_hex(4)
    users = user_model.objects.bulk_create(
        [
            user_model(email=f"seed-{prefix}-{index}@example.com", password="!")  # unusable
            for index in range(100)
        ]
    )
    fingerprints = [password_fingerprint(user) for user in users]
    now = timezone.now()
    for start in range(0, count, batch):
        size = min(batch, count - start)
        owners = [users[(start + index) % len(users)] for index in range(size)]
        accesses = []
        for owner in owners:
            access = get_access_token_model()(
                user=owner, application=application, scope=SCOPE, expires=now + _LIFETIME
            )
            set_token_value(access, secrets.token_urlsafe(32))
            accesses.append(access)
        accesses = get_access_token_model().objects.bulk_create(accesses)
        families = [uuid.uuid4() for _ in range(size)]
        refreshes = []
        for owner, access, family in zip(owners, accesses, families, strict=True):
            refresh = get_refresh_token_model()(
                user=owner, application=application, access_token=access, token_family=family
            )
            set_token_value(refresh, secrets.token_urlsafe(32))
            refreshes.append(refresh)
        get_refresh_token_model().objects.bulk_create(refreshes)
        TokenSession.objects.bulk_create(
            TokenSession(
                token_family=family,
                user=owner,
                application=application,
                created=now,
                last_used=now,
                expires=now + timedelta(days=14),
                password_fingerprint=fingerprints[(start + index) % len(users)],
            )
            for index, (owner, family) in enumerate(zip(owners, families, strict=True))
        )


def _application(client_id: str) -> Any:
    """A public authorization-code client: it may use DOT's refresh grant without a secret."""
    model = get_application_model()
    return model.objects.create(
        client_id=client_id,
        name=client_id,
        client_type=model.CLIENT_PUBLIC,
        authorization_grant_type=model.GRANT_AUTHORIZATION_CODE,
        client_secret="",
        redirect_uris="https://client.example/callback",
    )


def _bearer_token(user: Any, application: Any, algorithm: str) -> str:
    with signing_with(algorithm):
        minted = mint_access_token(user=user, client_id=application.client_id, scope=SCOPE)
    return store_access_token(
        minted.token, user=user, application=application, expires=minted.expires_at
    )


def _public_key(algorithm: str) -> Any:
    pem = settings.BENCH_KEY_FILES[algorithm].read_bytes()
    return serialization.load_pem_private_key(pem, password=None).public_key()
