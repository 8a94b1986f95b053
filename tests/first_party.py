"""Helpers for the first-party endpoint tests: sign in, refresh, look at DOT's rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from rest_framework.test import APIClient

from bearer_auth.jwt import token_checksum
from bearer_auth.models import TokenSession
from tests.factories import ApplicationFactory

TOKEN_URL = "/auth/token/"
REFRESH_URL = "/auth/token/refresh/"
REVOKE_URL = "/auth/token/revoke/"
ME_URL = "/auth/me/"
SESSIONS_URL = "/auth/sessions/"


def sign_in(user: Any, password: str, *, client: APIClient | None = None, **extra: Any) -> dict:
    """Sign ``user`` in through the endpoint and return the token response."""
    client = client or APIClient()
    response = client.post(
        TOKEN_URL, {"email": user.get_username(), "password": password, **extra}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def refresh(
    refresh_token: str,
    *,
    client: APIClient | None = None,
    headers: dict[str, str] | None = None,
    **data: Any,
) -> Any:
    """POST to the refresh endpoint; ``headers`` are WSGI environ keys (``HTTP_…``)."""
    return (client or APIClient()).post(
        REFRESH_URL, {"refresh_token": refresh_token, **data}, format="json", **(headers or {})
    )


def preflight(path: str, origin: str, headers: str, *, client: APIClient | None = None) -> Any:
    """The CORS preflight a browser sends before a cross-origin ``POST`` with ``headers``."""
    return (client or APIClient()).options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers,
        secure=True,
    )


def bearer(access_token: str) -> APIClient:
    """Return a client sending ``Authorization: Bearer <access_token>``."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return client


def me_status(access_token: str) -> int:
    return bearer(access_token).get(ME_URL).status_code


def store_other_clients_tokens(
    user: Any, *, access_token: str, refresh_token: str
) -> tuple[Any, Any]:
    """Store a live access + refresh pair of ``user`` issued to another (OAuth) client.

    Returns the two DOT rows; the first-party endpoints must leave them alone.
    """
    application = ApplicationFactory()
    access = get_access_token_model().objects.create(
        user=user,
        application=application,
        token=access_token,
        expires=timezone.now() + timedelta(minutes=5),
        scope="read",
    )
    other = get_refresh_token_model().objects.create(
        user=user, application=application, token=refresh_token, access_token=access
    )
    return access, other


def refresh_row(refresh_token: str) -> Any:
    return get_refresh_token_model().objects.get(token_checksum=token_checksum(refresh_token))


def access_row(access_token: str) -> Any:
    return (
        get_access_token_model().objects.filter(token_checksum=token_checksum(access_token)).first()
    )


def session_of(refresh_token: str) -> TokenSession:
    return TokenSession.objects.get(token_family=refresh_row(refresh_token).token_family)


def live_refresh_tokens(family: Any) -> int:
    return (
        get_refresh_token_model().objects.filter(token_family=family, revoked__isnull=True).count()
    )


def family_access_tokens(family: Any) -> int:
    return get_access_token_model().objects.filter(refresh_token__token_family=family).count()


def assert_winners_family_lives(family: Any, winner: dict[str, Any], refresh_again: Any) -> None:
    """The family after parallel refreshes: the winner's token alone lives, and refreshes again.

    A racer that reached the server after the rotation committed presented
    the just-rotated token within ``REFRESH_REUSE_INTERVAL``: refused, and
    the family kept (issue 19 item 18; it used to revoke the family).
    """
    assert live_refresh_tokens(family) == 1
    assert me_status(winner["access_token"]) == 200
    assert refresh_again(winner["refresh_token"]).status_code == 200


def ownerless_refresh_token_insert(save: Any) -> Any:
    """Wrap ``RefreshToken.save`` so a new row is inserted without an owner.

    The database refuses it (``user_id`` is NOT NULL): a write failing at the
    database, in the middle of a sign-in or a rotation.
    """

    def failing(self: Any, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("update_fields") is None:
            self.user_id = None
        save(self, *args, **kwargs)

    return failing
