"""One trivial DRF view per authentication class, and the no-authentication reference.

Every view answers the same small JSON body, so the only difference between
two cases is the authentication class (and, when it allows the request,
DRF's ``IsAuthenticated`` check).
"""

from __future__ import annotations

from typing import ClassVar

from oauth2_provider.contrib.rest_framework import OAuth2Authentication
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
    """The floor: PyJWT's RS256 decode with a prepared key, nothing more."""

    authentication_classes: ClassVar[list[type[BaseAuthentication]]] = [PyJWTAuthentication]
    permission_classes: ClassVar[list[type[BasePermission]]] = [IsAuthenticated]
