"""URLs of the benchmark project: the probe views and each product's token endpoints.

``/o/`` is bearer_auth's OAuth endpoints, mounted as its documentation says;
``/dot/token/`` is DOT's token endpoint with DOT's own server and validator;
``/plain/``, ``/plain-async/`` and ``/ninja/`` the ``frameworks`` phase's views
(:mod:`bench.framework_views`).
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from bench import framework_views, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/none/", views.NoAuthView.as_view()),
    path("api/bearer/", views.BearerView.as_view()),
    path("api/simplejwt/", views.SimpleJWTView.as_view()),
    path("api/simplejwt-rs256/", views.SimpleJWTRS256View.as_view()),
    path("api/simplejwt-stateless/", views.SimpleJWTStatelessView.as_view()),
    path("api/dot/", views.DOTView.as_view()),
    path("api/pyjwt-rs256/", views.PyJWTView.as_view()),
    path("auth/", include("bearer_auth.urls")),
    path("o/", include("bearer_auth.oauth_urls")),
    path("dot/token/", views.DOTTokenView.as_view()),
    path("simplejwt/token/", TokenObtainPairView.as_view()),
    path("simplejwt/token/refresh/", TokenRefreshView.as_view()),
    # The frameworks phase: plain Django views (sync, async) and a Ninja API.
    *framework_views.urlpatterns(),
]
