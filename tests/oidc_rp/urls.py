"""The relying party's pages: its home page and mozilla-django-oidc's three views."""

from __future__ import annotations

from django.urls import include, path

from tests.oidc_rp.views import home

urlpatterns = [
    path("", home, name="home"),
    # authenticate/ (sign in at the provider), callback/, logout/
    path("oidc/", include("mozilla_django_oidc.urls")),
]
