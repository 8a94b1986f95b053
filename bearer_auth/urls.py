"""First-party endpoints; mount with ``path("auth/", include("bearer_auth.urls"))``."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from bearer_auth.views.account import MeView, SessionDetailView, SessionsView
from bearer_auth.views.first_party import RefreshView, RevokeView, SignInView

app_name = "bearer_auth"

urlpatterns: list[URLPattern | URLResolver] = [
    path("token/", SignInView.as_view(), name="token"),
    path("token/refresh/", RefreshView.as_view(), name="token-refresh"),
    path("token/revoke/", RevokeView.as_view(), name="token-revoke"),
    path("me/", MeView.as_view(), name="me"),
    path("sessions/", SessionsView.as_view(), name="sessions"),
    path("sessions/<uuid:session_id>/", SessionDetailView.as_view(), name="session-detail"),
]
