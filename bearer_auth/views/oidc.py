"""OpenID Connect endpoints beside DOT's: UserInfo and RP-initiated logout.

Both are mounted by :mod:`bearer_auth.oauth_urls` under DOT's URL names
(``user-info``, ``rp-initiated-logout``) and answer 404 while
``OAUTH2_PROVIDER["OIDC_ENABLED"]`` is off, as the discovery document does.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from oauth2_provider.settings import oauth2_settings
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from bearer_auth.exceptions import InvalidToken
from bearer_auth.oidc.claims import user_claims
from bearer_auth.permissions import HasScope
from bearer_auth.views.account import AccountView


class OpenIDConnectOnlyMixin:
    """404 while ``OAUTH2_PROVIDER["OIDC_ENABLED"]`` is off."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not oauth2_settings.OIDC_ENABLED:
            raise Http404("OpenID Connect is not enabled.")
        response: HttpResponse = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        return response


class UserInfoView(OpenIDConnectOnlyMixin, AccountView):
    """``GET``/``POST /o/userinfo/``: the user's claims (OpenID Connect Core §5.3).

    An access token carrying ``openid`` in the ``Authorization`` header only
    (RFC 6750 §2.1; the form-body method is not accepted, RFC 9700 §2.4),
    checked in strict mode whatever ``VERIFY_MODE`` says: one query, the
    token's row with its user, so a revoked token or a signed-out session is
    refused at once. The claims are those the token's scopes release
    (:func:`bearer_auth.oidc.claims.user_claims`, as in the ID token).
    Failures are RFC 6750's: 401 ``invalid_token``, 403 ``insufficient_scope``
    with ``scope="openid"``. Never cached (``Cache-Control: no-store``).
    """

    permission_classes = (HasScope,)  # type: ignore[assignment]  # AccountView's is IsAuthenticated
    required_scopes = ("openid",)
    renderer_classes = (JSONRenderer,)
    http_method_names = ["get", "post", "options"]

    def get(self, request: Request) -> Response:
        user: Any = request.user
        if not user.is_authenticated:
            # A client-credentials token: there is no end-user to describe.
            raise InvalidToken(_("This access token was not issued to a user."))
        return Response(user_claims(user, request.auth.scopes))  # type: ignore[union-attr]

    def post(self, request: Request) -> Response:
        return self.get(request)

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        # JSON whatever the Accept header says (OpenID Connect Core §5.3.2).
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response
