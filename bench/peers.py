"""The peers' authentication classes as a project would configure them.

simplejwt reads one algorithm from ``SIMPLE_JWT`` (HS256 here); its RS256
case gets an access-token class with its own ``TokenBackend``, the way
simplejwt lets a project override ``token_backend``.
"""

from __future__ import annotations

from functools import cache

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.tokens import AccessToken, Token


@cache
def rs256_backend() -> TokenBackend:
    """Return simplejwt's backend for the benchmark's RSA key (it prepares keys once)."""
    pem = settings.BENCH_KEY_FILES["RS256"].read_bytes()
    private_key = serialization.load_pem_private_key(pem, password=None)
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return TokenBackend("RS256", signing_key=pem.decode(), verifying_key=public_pem.decode())


class RS256AccessToken(AccessToken):
    """simplejwt's access token, signed and verified with RS256."""

    @property
    def token_backend(self) -> TokenBackend:
        return rs256_backend()


class SimpleJWTRS256Authentication(JWTAuthentication):
    """simplejwt's ``JWTAuthentication`` accepting :class:`RS256AccessToken` only."""

    def get_validated_token(self, raw_token: bytes) -> Token:
        try:
            return RS256AccessToken(raw_token)
        except TokenError as exc:
            raise InvalidToken({"detail": str(exc)}) from exc
