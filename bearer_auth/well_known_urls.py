"""RFC 8615 well-known documents; mount with ``path(".well-known/", include(...))``."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from bearer_auth.views.well_known import AuthorizationServerMetadataView, JWKSView

app_name = "bearer_auth_well_known"

urlpatterns: list[URLPattern | URLResolver] = [
    path("jwks.json", JWKSView.as_view(), name="jwks"),
    path(
        "oauth-authorization-server",
        AuthorizationServerMetadataView.as_view(),
        name="oauth-authorization-server",
    ),
]
