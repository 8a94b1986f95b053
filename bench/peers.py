"""The peers' authentication classes as a project would configure them, and the floor.

simplejwt reads one algorithm from ``SIMPLE_JWT`` (HS256 here); its RS256
case gets an access-token class with its own ``TokenBackend``, the way
simplejwt lets a project override ``token_backend``.
:class:`PyJWTAuthentication` is the whole-stack floor: nothing but the
in-process floor's ``jwt.decode``, so no verifier built on PyJWT costs less.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.models import TokenUser
from rest_framework_simplejwt.tokens import AccessToken, Token

from bearer_auth.jwt import audience, issuer


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


@dataclass(frozen=True)
class FloorCheck:
    """What the floor's ``jwt.decode`` is given: a key loaded once, the ``aud`` and ``iss``."""

    key: Any
    audience: str
    issuer: str


@cache
def rs256_floor_check() -> FloorCheck:
    """Load the benchmark's RSA public key (a ``cryptography`` object) once."""
    pem = settings.BENCH_KEY_FILES["RS256"].read_bytes()
    key = serialization.load_pem_private_key(pem, password=None).public_key()
    return FloorCheck(key=key, audience=audience(), issuer=issuer())


class PyJWTAuthentication(BaseAuthentication):
    """The floor of a stateless RS256 view: ``jwt.decode`` and nothing else.

    The same call as the in-process floor (a key loaded once, ``audience``,
    ``issuer``), after the least header handling that finds the token; the
    user is simplejwt's ``TokenUser`` over the claims. No header or claim
    checks beyond PyJWT's: a real authentication class can only cost more.
    """

    def authenticate(self, request: Request) -> tuple[TokenUser, None] | None:
        scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme != "Bearer":
            return None
        check = rs256_floor_check()
        claims = jwt.decode(
            token, check.key, algorithms=["RS256"], audience=check.audience, issuer=check.issuer
        )
        return TokenUser(claims), None  # type: ignore[arg-type]
