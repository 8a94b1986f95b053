"""Obtain real tokens the way clients do: first-party sign-in and the OAuth endpoints.

The OAuth steps themselves live in ``tests/oauth_client.py``; ``authorize``,
``exchange`` and ``client_credentials_token`` are importable from here too.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import serialization
from rest_framework.test import APIClient

from bearer_auth import keys
from tests.factories import UserFactory
from tests.first_party import REFRESH_URL, REVOKE_URL, sign_in
from tests.oauth_client import (
    SECRET,
    authorization_code,
    client_credentials_token,
    exchange,
    make_application,
    signed_in_browser,
)

__all__ = [
    "PASSWORD",
    "authorize",
    "client_credentials_token",
    "exchange",
    "hand_out_every_secret",
    "oauth_tokens",
    "private_key_bytes",
]

#: The password of the users :func:`hand_out_every_secret` creates.
PASSWORD = "a-password-nobody-should-find-9f2c"


def authorize(user: Any, application: Any, **overrides: str) -> tuple[str, str]:
    """Sign ``user`` in to the browser, approve the consent page; return (code, verifier)."""
    return authorization_code(signed_in_browser(user), application, **overrides)


def oauth_tokens(user: Any, application: Any | None = None, **overrides: str) -> dict[str, Any]:
    """Run the authorization-code + PKCE flow; return the token response."""
    application = application or make_application()
    code, verifier = authorize(user, application, **overrides)
    response = exchange(application, code, verifier)
    assert response.status_code == 200, response.content
    return dict(response.json())


def _private_key_forms() -> tuple[bytes, str, bytes]:
    """The active private key: PKCS#8 DER, PKCS#8 PEM and the private scalar ``d`` (bytes)."""
    private_key = keys.current_signing_key().private_key
    der = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    d = private_key.private_numbers().d
    return der, pem, d.to_bytes((d.bit_length() + 7) // 8, "big")


def private_key_bytes() -> dict[str, bytes]:
    """The active private key's raw bytes, as a binary column or a database file would hold them.

    Slices past the ASN.1 header every PKCS#8 key shares, so only this key's
    own bytes match.
    """
    der, _, d_bytes = _private_key_forms()
    return {"private key DER": der[40:120], "private key d": d_bytes[:32]}


def _private_key_material() -> dict[str, str]:
    """The active private key as an attacker would want it: PEM body, DER and JWK ``d``."""
    der, pem, d_bytes = _private_key_forms()
    return {
        "private key PEM line": pem.splitlines()[5],
        "private key DER (base64)": base64.b64encode(der).decode()[40:120],
        "private key d (base64url)": base64.urlsafe_b64encode(d_bytes).decode().rstrip("=")[:60],
        "private key d (hex)": d_bytes.hex()[:60],
        "private key d (decimal)": str(int.from_bytes(d_bytes, "big"))[:60],
    }


def hand_out_every_secret(*, leave_a_code_unredeemed: bool = False) -> dict[str, str]:
    """Drive every flow that stores something; return every secret handed out.

    A redeemed authorization code is deleted; an unredeemed one stays in the
    grant table (as a digest) until it expires and ``cleartokens`` removes it.
    """
    secrets: dict[str, str] = {"user password": PASSWORD}
    users = [UserFactory(password=PASSWORD) for _ in range(3)]
    first = sign_in(users[0], PASSWORD)
    second = sign_in(users[1], PASSWORD)
    rotated = (
        APIClient()
        .post(REFRESH_URL, {"refresh_token": first["refresh_token"]}, format="json")
        .json()
    )
    APIClient().post(REVOKE_URL, {"token": second["refresh_token"]}, format="json")
    for name, pair in {"sign-in": first, "revoked sign-in": second, "refresh": rotated}.items():
        secrets[f"{name} access token"] = pair["access_token"]
        secrets[f"{name} access token signature"] = pair["access_token"].rsplit(".", 1)[1]
        secrets[f"{name} refresh token"] = pair["refresh_token"]

    application = make_application()
    code, verifier = authorize(users[2], application)
    tokens = exchange(application, code, verifier).json()
    secrets["redeemed authorization code"] = code
    secrets["pkce code verifier"] = verifier
    secrets["oauth access token"] = tokens["access_token"]
    secrets["oauth access token signature"] = tokens["access_token"].rsplit(".", 1)[1]
    secrets["oauth refresh token"] = tokens["refresh_token"]
    if leave_a_code_unredeemed:
        secrets["unredeemed authorization code"] = authorize(users[2], application)[0]
    secrets["client secret"] = SECRET
    secrets["client-credentials access token"] = client_credentials_token()

    keys.rotate_signing_key()
    secrets.update(_private_key_material())
    return secrets
