"""URLs the test suite mounts (the tests never import demo_project)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("auth/", include("bearer_auth.urls")),
    path(".well-known/", include("bearer_auth.well_known_urls")),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
