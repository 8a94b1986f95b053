"""What every attack module sends and checks: requests to a protected view and their verdicts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.test import Client

from tests.issuing import b64url

WHOAMI = "/test-api/whoami/"
SCOPED = "/test-api/scoped/"
#: RFC 9728 §5.1: every challenge names the default resource's metadata.
RESOURCE_METADATA = 'resource_metadata="https://issuer.test/.well-known/oauth-protected-resource"'
#: RFC 9449 §7.1: while DPoP is on, the bare challenge also offers DPoP with its algorithms.
DPOP_OFFER = 'DPoP realm="api", algs="ES256 ES384 EdDSA RS256 PS256"'
BARE_CHALLENGE = f'Bearer realm="api", {RESOURCE_METADATA}, {DPOP_OFFER}'
INVALID_TOKEN_CHALLENGE = 'Bearer realm="api", error="invalid_token"'


def call(client: Client, token: str | None = None, *, header: str | None = None) -> Any:
    """GET the protected whoami view with ``Bearer <token>`` or a raw ``Authorization`` value."""
    extra: dict[str, str] = {}
    if header is not None:
        extra["HTTP_AUTHORIZATION"] = header
    elif token is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.get(WHOAMI, **extra)


def assert_invalid_token(response: Any) -> None:
    """401 with an RFC 6750 ``invalid_token`` challenge and body: the one verdict for forgeries."""
    assert response.status_code == 401, (response.status_code, response.content[:300])
    assert response["WWW-Authenticate"].startswith(INVALID_TOKEN_CHALLENGE)
    assert response.json()["error"] == "invalid_token"


def assert_refused(response: Any) -> None:
    """A 4xx that authenticates nobody: 400 ``invalid_request`` or 401."""
    assert response.status_code in {400, 401}, (response.status_code, response.content[:300])
    assert response["WWW-Authenticate"].startswith(BARE_CHALLENGE)
    assert b'"user"' not in response.content


def segment(value: Any) -> str:
    """base64url (unpadded) of ``value``: bytes as is, anything else as compact JSON."""
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return b64url(raw)


def compact(header: Mapping[str, Any] | bytes, payload: Mapping[str, Any] | bytes) -> str:
    """The JWS signing input ``b64(header).b64(payload)`` for raw JSON text or a mapping."""
    return f"{segment(header)}.{segment(payload)}"
