"""RFC 8615 well-known documents; mount with ``path(".well-known/", include(...))``."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "bearer_auth_well_known"

urlpatterns: list[URLPattern | URLResolver] = []
