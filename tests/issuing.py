"""Issue real access tokens, and forge near-copies of them, for the tests.

A forged token differs from a valid one in exactly one property and is
stored in DOT's table like a real one, so a rejection can only come from that
property (never from a missing row).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

import jwt
from oauth2_provider.models import get_access_token_model, set_token_value

from bearer_auth import keys
from bearer_auth.jwt import mint_access_token
from tests.factories import ApplicationFactory


def store_token(token: str, *, user: Any, application: Any, scope: str, expires: datetime) -> Any:
    """Save a DOT access-token row for ``token`` the way DOT's validator does."""
    row = get_access_token_model()(user=user, application=application, scope=scope, expires=expires)
    set_token_value(row, token)
    row.save()
    return row


def store_live_token(token: str, *, user: Any, scope: str = "read", application: Any = None) -> str:
    """Store a row for ``token``, live for five minutes, and return ``token``.

    With its row in place a token can only be refused for what it carries,
    never for a missing row. ``application`` defaults to a new one.
    """
    store_token(
        token,
        user=user,
        application=application if application is not None else ApplicationFactory(),
        scope=scope,
        expires=datetime.now(tz=dt_timezone.utc) + timedelta(minutes=5),
    )
    return token


def issue_access_token(
    user: Any,
    *,
    scope: str = "read",
    application: Any = None,
    lifetime: timedelta | None = None,
    resource: str | None = None,
) -> str:
    """Mint a JWT access token (for ``resource``: its ``aud``) and store its row."""
    application = application or ApplicationFactory()
    minted = mint_access_token(
        user=user,
        client_id=application.client_id,
        scope=scope,
        lifetime=lifetime,
        resource=resource,
    )
    store_token(
        minted.token, user=user, application=application, scope=scope, expires=minted.expires_at
    )
    return minted.token


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def header_of(token: str) -> dict[str, Any]:
    return jwt.get_unverified_header(token)


def forge(
    valid_token: str,
    *,
    user: Any,
    claims: Mapping[str, Any] | None = None,
    drop_claims: Iterable[str] = (),
    headers: Mapping[str, Any] | None = None,
    drop_headers: Iterable[str] = (),
    key: Any = None,
    algorithm: str | None = None,
    store: bool = True,
) -> str:
    """Re-sign ``valid_token`` with one property changed, and store its row."""
    signing = keys.current_signing_key()
    payload = {**claims_of(valid_token), **(claims or {})}
    for name in drop_claims:
        payload.pop(name, None)
    header = {**header_of(valid_token), **(headers or {})}
    for name in drop_headers:
        header.pop(name, None)
    header["alg"] = algorithm or signing.algorithm
    token = sign(header, payload, key if key is not None else signing.private_key)
    if store and token != valid_token:
        store_live_token(token, user=user, scope=str(payload.get("scope", "")))
    return token


def sign(header: Mapping[str, Any], payload: Mapping[str, Any], key: Any) -> str:
    """Sign a compact JWS with PyJWT's algorithm objects, skipping its claim checks.

    ``jwt.encode`` refuses some hostile shapes (a list ``iss``, an integer
    ``kid``); the attack tests need exactly those.
    """
    algorithm = jwt.algorithms.get_default_algorithms()[header["alg"]]
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    signature = algorithm.sign(signing_input.encode(), algorithm.prepare_key(key))
    return f"{signing_input}.{b64url(signature)}"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(header: Mapping[str, Any], payload: Any, signature: bytes = b"sig") -> str:
    """Assemble a compact JWS by hand, for shapes PyJWT refuses to produce."""
    head = b64url(json.dumps(header).encode())
    body = b64url(payload if isinstance(payload, bytes) else json.dumps(payload).encode())
    return f"{head}.{body}.{b64url(signature)}"
