"""URLs of the benchmark project: the probe views and each product's token endpoints."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path
from oauth2_provider.views import TokenView
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from bench import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/none/", views.NoAuthView.as_view()),
    path("api/bearer/", views.BearerView.as_view()),
    path("api/simplejwt/", views.SimpleJWTView.as_view()),
    path("api/simplejwt-rs256/", views.SimpleJWTRS256View.as_view()),
    path("api/simplejwt-stateless/", views.SimpleJWTStatelessView.as_view()),
    path("api/dot/", views.DOTView.as_view()),
    path("api/pyjwt-rs256/", views.PyJWTView.as_view()),
    path("auth/", include("bearer_auth.urls")),
    # DOT's own token endpoint (its refresh grant), not bearer_auth's wrapper.
    path("o/token/", TokenView.as_view()),
    path("simplejwt/token/", TokenObtainPairView.as_view()),
    path("simplejwt/token/refresh/", TokenRefreshView.as_view()),
]
