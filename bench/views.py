"""A trivial DRF view per authentication class, a no-authentication one, DOT's own token view.

Every DRF view answers the same small JSON body, so the only difference
between two cases is the authentication class (and, when it allows the
request, DRF's ``IsAuthenticated`` check).
"""

from __future__ import annotations

from typing import ClassVar

from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.views import TokenView
from oauthlib.oauth2 import Server
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import (
    JWTAuthentication,
    JWTStatelessUserAuthentication,
)

from bearer_auth.authentication import BearerTokenAuthentication
from bench.peers import PyJWTAuthentication, SimpleJWTRS256Authentication


class NoAuthView(APIView):
    """The reference: DRF with no authentication at all."""

    authentication_classes: ClassVar[list[type[BaseAuthentication]]] = []
    permission_classes: ClassVar[list[type[BasePermission]]] = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class BearerView(NoAuthView):
    authentication_classes: ClassVar[list[type[BaseAuthentication]]] = [BearerTokenAuthentication]
    permission_classes: ClassVar[list[type[BasePermission]]] = [IsAuthenticated]


class SimpleJWTView(NoAuthView):
    authentication_classes: ClassVar[list[type[BaseAuthentication]]] = [JWTAuthentication]
    permission_classes: ClassVar[list[type[BasePermission]]] = [IsAuthenticated]


class SimpleJWTRS256View(NoAuthView):
    authentication_classes: ClassVar[list[type[BaseAuthentication]]] = [
        SimpleJWTRS256Authentication
    ]
    permission_classes: ClassVar[list[type[BasePermission]]] = [IsAuthenticated]


class SimpleJWTStatelessView(NoAuthView):
    authentication_classes: ClassVar[list[type[BaseAuthentication]]] = [
        JWTStatelessUserAuthentication
    ]
    permission_classes: ClassVar[list[type[BasePermission]]] = [IsAuthenticated]


class DOTView(NoAuthView):
    authentication_classes: ClassVar[list[type[BaseAuthentication]]] = [OAuth2Authentication]
    permission_classes: ClassVar[list[type[BasePermission]]] = [IsAuthenticated]


class PyJWTView(NoAuthView):
    """The floor: PyJWT's RS256 decode with a key loaded once, nothing more."""

    authentication_classes: ClassVar[list[type[BaseAuthentication]]] = [PyJWTAuthentication]
    permission_classes: ClassVar[list[type[BasePermission]]] = [IsAuthenticated]


class DOTTokenView(TokenView):  # type: ignore[misc]  # DOT is untyped
    """DOT's token endpoint as DOT ships it: oauthlib's ``Server``, DOT's ``OAuth2Validator``.

    The project's ``OAUTH2_PROVIDER`` (``oauth2_provider_settings()``) names
    bearer_auth's server and validator; DOT's documented ``server_class`` and
    ``validator_class`` attributes put DOT's own back for this view alone. The
    rest of ``OAUTH2_PROVIDER`` still applies: the access token is bearer_auth's
    JWT (``ACCESS_TOKEN_GENERATOR``), refresh tokens rotate, rows are hashed.
    """

    server_class = Server
    validator_class = OAuth2Validator
