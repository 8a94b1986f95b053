"""URLs of the demo project; ``/`` lists every part of it."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from bearer_auth.views.login import LoginView, ThrottledAdminAuthenticationForm
from demo_project.notes.ninja_api import api as notes_ninja_api
from demo_project.views import LandingView

# The admin's password form shares the sign-in budgets of /auth/token/.
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("", LandingView.as_view(), name="landing"),
    path("admin/", admin.site.urls),
    # Before django.contrib.auth.urls: the sign-in page within the sign-in budgets.
    path(
        "accounts/login/", LoginView.as_view(template_name="registration/login.html"), name="login"
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("auth/", include("bearer_auth.urls")),
    path(".well-known/", include("bearer_auth.well_known_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("demo_project.notes.urls")),
    # The same notes API as async Django Ninja operations (docs at /ninja/docs)
    # and as plain Django async views, protected by the same tokens.
    path("ninja/", notes_ninja_api.urls),
    path("plain/", include(("demo_project.notes.async_views", "notes-plain"))),
    path("o/", include("bearer_auth.oauth_urls")),
    path("client/", include("demo_project.client.urls")),
]
