"""The signed-in user's account: ``/auth/me/`` and the sessions API.

Authenticated by :class:`~bearer_auth.authentication.BearerTokenAuthentication`
in strict mode whatever ``VERIFY_MODE`` says: these endpoints live beside the
token store, show or end the user's sessions, and the sessions API needs the
token's database row to know which session is the current one. A server in
stateless mode (its own API checked without the database) still answers them.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bearer_auth import browser, services
from bearer_auth.authentication import BearerTokenAuthentication
from bearer_auth.exceptions import InvalidToken
from bearer_auth.jwt import user_subject


class AccountView(APIView):
    """Base: bearer tokens only, checked in strict mode; a signed-in user with a database row."""

    authentication_classes = (BearerTokenAuthentication,)
    permission_classes = (IsAuthenticated,)

    def get_authenticators(self) -> list[BaseAuthentication]:
        # The same class (one OpenAPI security scheme), in strict mode whatever VERIFY_MODE.
        authenticators = super().get_authenticators()
        for authenticator in authenticators:
            if isinstance(authenticator, BearerTokenAuthentication):
                authenticator.verify_mode = "strict"
        return authenticators

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if getattr(request.auth, "token_row", None) is None:
            # Only a subclass's own authentication class can leave no row to act on.
            raise InvalidToken(_("This endpoint needs a user's token checked in strict mode."))


class MeView(AccountView):
    """``GET /auth/me/``: who the token belongs to."""

    def get(self, request: Request) -> Response:
        user: Any = request.user
        email_field = user.get_email_field_name()
        return Response(
            {
                "id": user_subject(user),
                "username": user.get_username(),
                "email": getattr(user, email_field, "") or "",
                "full_name": _call(user, "get_full_name"),
                "short_name": _call(user, "get_short_name"),
                "date_joined": getattr(user, "date_joined", None),
            }
        )


class SessionsView(AccountView):
    """``GET /auth/sessions/`` lists sign-ins; ``DELETE`` signs out everywhere."""

    def get(self, request: Request) -> Response:
        current = services.token_family_of(request.auth.token_row)  # type: ignore[union-attr]
        sessions = services.list_sessions(request.user, current_family=current)  # type: ignore[arg-type]
        return Response(
            [
                {
                    "id": str(session.id),
                    "client_name": session.client_name,
                    "created": session.created,
                    "last_used": session.last_used,
                    "expires": session.expires,
                    "ip_address": session.ip_address,
                    "user_agent": session.user_agent,
                    "current": session.current,
                    "dpop_bound": session.dpop_bound,
                }
                for session in sessions
            ]
        )

    def delete(self, request: Request) -> Response:
        services.sign_out_everywhere(request.user)  # type: ignore[arg-type]
        response = Response(status=204)
        if browser.refresh_cookie(request) is not None:
            # A browser app in cookie mode: its refresh cookie is now worth nothing.
            browser.clear_refresh_cookie(response, request)
        return response


class SessionDetailView(AccountView):
    """``DELETE /auth/sessions/<id>/``: sign out one session (404 if not the user's)."""

    def delete(self, request: Request, session_id: uuid.UUID) -> Response:
        if not services.sign_out_session(request.user, session_id):  # type: ignore[arg-type]
            raise NotFound
        return Response(status=204)


def _call(user: Any, method: str) -> str:
    """Call an optional name method of the user model (any AUTH_USER_MODEL)."""
    function = getattr(user, method, None)
    return str(function()) if callable(function) else ""
