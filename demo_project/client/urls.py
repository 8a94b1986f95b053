"""``/client/`` and ``/client/oidc/``.

Mount with ``path("client/", include("demo_project.client.urls"))``.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from demo_project.client.views import (
    OPENID,
    ApiCallView,
    CallbackView,
    ChoiceView,
    ClientPageView,
    LogoutView,
    ResetView,
    SignedOutView,
    TamperView,
    TokenRequestView,
    UserInfoView,
)

app_name = "demo_client"

urlpatterns: list[URLPattern | URLResolver] = [
    # OAuth 2.0: the seven steps, ending with the notes API.
    path("", ClientPageView.as_view(), name="index"),
    path("sign-in/", ChoiceView.as_view(), name="sign-in"),
    path("callback/", CallbackView.as_view(), name="callback"),
    path("token/", TokenRequestView.as_view(), name="token"),
    path("api/", ApiCallView.as_view(), name="api"),
    path("reset/", ResetView.as_view(), name="reset"),
    # OpenID Connect: the same client signing the person in, the ID token validated.
    path("oidc/", ClientPageView.as_view(variant=OPENID), name="oidc-index"),
    path("oidc/sign-in/", ChoiceView.as_view(variant=OPENID), name="oidc-sign-in"),
    path("oidc/callback/", CallbackView.as_view(variant=OPENID), name="oidc-callback"),
    path("oidc/token/", TokenRequestView.as_view(variant=OPENID), name="oidc-token"),
    path("oidc/tamper/", TamperView.as_view(), name="oidc-tamper"),
    path("oidc/userinfo/", UserInfoView.as_view(), name="oidc-userinfo"),
    path("oidc/logout/", LogoutView.as_view(), name="oidc-logout"),
    path("oidc/signed-out/", SignedOutView.as_view(), name="oidc-signed-out"),
    path("oidc/reset/", ResetView.as_view(variant=OPENID), name="oidc-reset"),
]
