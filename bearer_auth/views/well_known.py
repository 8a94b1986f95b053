"""RFC 8615 well-known documents: plain Django views, no authentication.

Neither writes anything, so neither opens a transaction. The JWKS reads the
database only when this process's copy of the key set is stale: a cached
copy keeps being served through an outage, and a stale one is a 503
``temporarily_unavailable`` like every other endpoint. The RFC 8414 document
is built from settings alone.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Final
from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.decorators import method_decorator
from django.views import View
from oauth2_provider.views import OAuthServerMetadataView

from bearer_auth.keys import public_jwks
from bearer_auth.settings import bearer_settings
from bearer_auth.views.oauth import DatabaseOutageMixin

#: How long clients may cache the RFC 8414 document.
METADATA_MAX_AGE_SECONDS: Final = 300


@method_decorator(login_not_required, name="dispatch")
class JWKSView(DatabaseOutageMixin, View):
    """``GET /.well-known/jwks.json``: the public signing keys (RFC 7517 §5).

    Public, also under Django's ``LoginRequiredMiddleware`` (as DOT's metadata
    view is). Cacheable for ``JWKS_MAX_AGE_SECONDS`` (default 60), never
    longer than a retired key stays in the set, so a cached copy cannot
    outlive a key that still verifies tokens.
    """

    http_method_names = ["get", "head", "options"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        response = JsonResponse(public_jwks())
        patch_cache_control(response, public=True, max_age=_max_age())
        return response

    def request_transaction(self) -> AbstractContextManager[Any]:
        # Read-only, and a transaction would open a connection even when the
        # key set comes from this process's copy.
        return nullcontext()


def _max_age() -> int:
    overlap = bearer_settings.ACCESS_TOKEN_LIFETIME + bearer_settings.LEEWAY
    return max(0, min(int(bearer_settings.JWKS_MAX_AGE_SECONDS), int(overlap.total_seconds())))


class AuthorizationServerMetadataView(OAuthServerMetadataView):  # type: ignore[misc]
    """``GET /.well-known/oauth-authorization-server``: RFC 8414 metadata.

    DOT's document (endpoints that are mounted, response and grant types its
    RFC 9700 gates still allow, ``S256`` only, auth methods, scopes), whose
    ``issuer`` and endpoint URLs come from ``OIDC_ISS_ENDPOINT``: the ``iss``
    of every token and of RFC 9207 authorization responses
    (``bearer_auth.E012``), never the request's ``Host``. bearer_auth adds its
    ``jwks_uri`` on the same origin.
    """

    http_method_names = ["get", "head", "options"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        data = json.loads(super().get(request, *args, **kwargs).content)
        data["jwks_uri"] = _on_origin_of(data["issuer"], reverse("bearer_auth_well_known:jwks"))
        if "introspection_endpoint" in data:
            # Introspection always needs an authenticated caller (RFC 7662 §2.1).
            data["introspection_endpoint_auth_methods_supported"] = [
                method
                for method in data["introspection_endpoint_auth_methods_supported"]
                if method != "none"
            ]
        response = JsonResponse(data)
        response["Access-Control-Allow-Origin"] = "*"
        patch_cache_control(response, public=True, max_age=METADATA_MAX_AGE_SECONDS)
        return response


def _on_origin_of(url: str, path: str) -> str:
    """Return the absolute URL of ``path`` (already script-prefixed) on the origin of ``url``.

    DOT builds its endpoint URLs this way on the origin of ``OIDC_ISS_ENDPOINT``.
    """
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{path}"
