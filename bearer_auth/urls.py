"""First-party endpoints; mount with ``path("auth/", include("bearer_auth.urls"))``."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "bearer_auth"

urlpatterns: list[URLPattern | URLResolver] = []
