"""``/client/``: mount with ``path("client/", include("demo_project.client.urls"))``."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from demo_project.client.views import (
    ApiCallView,
    CallbackView,
    ChoiceView,
    ClientPageView,
    ResetView,
    TokenRequestView,
)

app_name = "demo_client"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", ClientPageView.as_view(), name="index"),
    path("sign-in/", ChoiceView.as_view(), name="sign-in"),
    path("callback/", CallbackView.as_view(), name="callback"),
    path("token/", TokenRequestView.as_view(), name="token"),
    path("api/", ApiCallView.as_view(), name="api"),
    path("reset/", ResetView.as_view(), name="reset"),
]
