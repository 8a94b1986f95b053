"""RFC 8615 well-known documents; mount with ``path(".well-known/", include(...))``."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from bearer_auth.views.well_known import (
    AuthorizationServerMetadataView,
    JWKSView,
    OpenIDConfigurationView,
    ProtectedResourceMetadataView,
)

app_name = "bearer_auth_well_known"

urlpatterns: list[URLPattern | URLResolver] = [
    path("jwks.json", JWKSView.as_view(), name="jwks"),
    path(
        "oauth-authorization-server",
        AuthorizationServerMetadataView.as_view(),
        name="oauth-authorization-server",
    ),
    # Served while OAUTH2_PROVIDER["OIDC_ENABLED"] is on (404 otherwise).
    path("openid-configuration", OpenIDConfigurationView.as_view(), name="openid-configuration"),
    # RFC 9728 §3.1: a resource identifier's path follows the well-known name.
    path(
        "oauth-protected-resource",
        ProtectedResourceMetadataView.as_view(),
        name="oauth-protected-resource",
    ),
    path(
        "oauth-protected-resource/<path:resource_path>",
        ProtectedResourceMetadataView.as_view(),
        name="oauth-protected-resource",
    ),
]
