"""Protected views the test suite calls (the tests never import demo_project)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bearer_auth.authentication import BearerTokenAuthentication
from bearer_auth.permissions import HasReadWriteScope, HasScope

#: The resource ``ResourceView`` protects (tests add it to ``RESOURCES``).
OTHER_RESOURCE = "https://issuer.test/mcp"


def _describe(request: Request) -> dict[str, Any]:
    token = request.auth
    return {
        "user": str(request.user.pk) if request.user.is_authenticated else None,
        "scopes": sorted(token.scopes),
        "client_id": token.client_id,
        "jti": token.jti,
    }


class WhoAmIView(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response(_describe(request))


class ScopedView(APIView):
    permission_classes = [HasScope]
    required_scopes = ["notes:read", "profile"]

    def get(self, request: Request) -> Response:
        return Response(_describe(request))


class ReadWriteView(APIView):
    permission_classes = [IsAuthenticated, HasReadWriteScope]
    read_scope = "notes:read"
    write_scope = "notes:write"

    def get(self, request: Request) -> Response:
        return Response(_describe(request))

    def post(self, request: Request) -> Response:
        return Response(_describe(request), status=201)


class ResourceView(APIView):
    """A view of another resource than the default one: it accepts tokens for it alone."""

    authentication_classes = [BearerTokenAuthentication.for_resource(OTHER_RESOURCE)]
    permission_classes = [HasScope]
    required_scopes = ["notes:read"]

    def get(self, request: Request) -> Response:
        return Response(_describe(request))
