"""bearer_auth's replacement for ``oauth2_provider.urls``.

Mount it where DOT's URLs would go::

    path("o/", include("bearer_auth.oauth_urls"))

It keeps DOT's namespace (``oauth2_provider``) and URL names, so DOT's
templates and ``reverse("oauth2_provider:token")`` keep working, and serves
only the endpoints the server offers: authorize, token, revoke_token and
introspect, OpenID Connect's userinfo and logout (404 while
``OIDC_ENABLED`` is off), and dynamic client registration, ``register/``
(RFC 7591) and ``register/<client_id>/`` (RFC 7592), bearer_auth's own views
under DOT's URL names (404 while ``BEARER_AUTH["CLIENT_REGISTRATION"]`` is
``"closed"``). DOT's application-management, device and own OIDC
views are not mounted (clients are managed in the admin; the JWKS is
``/.well-known/jwks.json``).
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from bearer_auth.views.client_registration import (
    ClientConfigurationView,
    ClientRegistrationView,
)
from bearer_auth.views.oauth import (
    AuthorizationView,
    IntrospectTokenView,
    RevokeTokenView,
    TokenView,
)
from bearer_auth.views.oidc import LogoutView, UserInfoView

app_name = "oauth2_provider"

urlpatterns: list[URLPattern | URLResolver] = [
    path("authorize/", AuthorizationView.as_view(), name="authorize"),
    path("token/", TokenView.as_view(), name="token"),
    path("revoke_token/", RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", IntrospectTokenView.as_view(), name="introspect"),
    path("userinfo/", UserInfoView.as_view(), name="user-info"),
    path("logout/", LogoutView.as_view(), name="rp-initiated-logout"),
    path("register/", ClientRegistrationView.as_view(), name="dcr-register"),
    path(
        "register/<str:client_id>/",
        ClientConfigurationView.as_view(),
        name="dcr-register-management",
    ),
]
