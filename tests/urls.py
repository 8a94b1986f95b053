"""URLs the test suite mounts (the tests never import demo_project)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from bearer_auth.views.login import LoginView, ThrottledAdminAuthenticationForm
from tests.ninja_views import async_api, sync_api
from tests.plain_views import async_urls as plain_async_urls
from tests.plain_views import sync_urls as plain_sync_urls
from tests.views import ReadWriteView, ResourceView, ScopedView, WhoAmIView

# The admin's password form shares the sign-in budgets of /auth/token/.
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("admin/", admin.site.urls),
    # Before django.contrib.auth.urls: the sign-in page within the sign-in budgets.
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("auth/", include("bearer_auth.urls")),
    path(".well-known/", include("bearer_auth.well_known_urls")),
    path("test-api/whoami/", WhoAmIView.as_view(), name="whoami"),
    path("test-api/scoped/", ScopedView.as_view(), name="scoped"),
    path("test-api/read-write/", ReadWriteView.as_view(), name="read-write"),
    path("test-api/other-resource/", ResourceView.as_view(), name="other-resource"),
    path("test-ninja/", sync_api.urls),
    path("test-ninja-async/", async_api.urls),
    path("test-plain/", include(plain_sync_urls)),
    path("test-plain-async/", include(plain_async_urls)),
    path("o/", include("bearer_auth.oauth_urls")),
]
