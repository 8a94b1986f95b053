"""RFC 8615 well-known documents: plain Django views, no authentication.

Neither writes anything, so neither opens a transaction. The JWKS reads the
database only when this process's copy of the key set is stale: a cached
copy keeps being served through an outage, and a stale one is a 503
``temporarily_unavailable`` like every other endpoint. The RFC 8414 document
is built from settings, and while OpenID Connect is on also from the active
key's algorithm (the key set, read like the JWKS).

The OpenID Connect Discovery 1.0 document (``/.well-known/openid-configuration``)
is the RFC 8414 document itself: one builder,
:meth:`AuthorizationServerMetadataView.metadata`. While
``OAUTH2_PROVIDER["OIDC_ENABLED"]`` is on, the RFC 8414 document carries the
OpenID Connect fields too, as RFC 8414 §2 allows (every one of them is in
IANA's "OAuth Authorization Server Metadata" registry), so the two documents
cannot disagree; while it is off, the OpenID Connect document is a 404.

While DPoP is on (:func:`bearer_auth.dpop.enabled`), both documents, and the
RFC 9728 protected-resource documents, name the proof algorithms accepted
(``dpop_signing_alg_values_supported``, RFC 9449 §5.1 and RFC 9728 §2).
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Final
from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_not_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.decorators import method_decorator
from django.views import View
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import OAuthProtectedResourceMetadataView, OAuthServerMetadataView

from bearer_auth import dpop
from bearer_auth.jwt import signing_algorithm
from bearer_auth.keys import public_jwks
from bearer_auth.oidc.claims import claims_supported
from bearer_auth.resources import ProtectedResource, resource_at_metadata_path
from bearer_auth.settings import bearer_settings
from bearer_auth.views.oauth import DatabaseOutageMixin
from bearer_auth.views.oidc import OpenIDConnectOnlyMixin

#: How long clients may cache the RFC 8414 document.
METADATA_MAX_AGE_SECONDS: Final = 300
#: The ``prompt`` values the authorization view answers (OpenID Connect Core §3.1.2.1).
PROMPT_VALUES: Final = ("none", "login", "consent")


@method_decorator(login_not_required, name="dispatch")
class JWKSView(DatabaseOutageMixin, View):
    """``GET /.well-known/jwks.json``: the public signing keys (RFC 7517 §5).

    Public, also under Django's ``LoginRequiredMiddleware`` (as DOT's metadata
    view is), readable from any origin. Cacheable for ``JWKS_MAX_AGE_SECONDS`` (default 60), never
    longer than a retired key stays in the set, so a cached copy cannot
    outlive a key that still verifies tokens.
    """

    http_method_names = ["get", "head", "options"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        response = JsonResponse(public_jwks())
        # Public keys: a browser app or validator on any origin may read them.
        response["Access-Control-Allow-Origin"] = "*"
        patch_cache_control(response, public=True, max_age=_max_age())
        return response

    def request_transaction(self) -> AbstractContextManager[Any]:
        # Read-only, and a transaction would open a connection even when the
        # key set comes from this process's copy.
        return nullcontext()


def _max_age() -> int:
    overlap = bearer_settings.ACCESS_TOKEN_LIFETIME + bearer_settings.LEEWAY
    return max(0, min(int(bearer_settings.JWKS_MAX_AGE_SECONDS), int(overlap.total_seconds())))


@method_decorator(login_not_required, name="dispatch")
class AuthorizationServerMetadataView(DatabaseOutageMixin, OAuthServerMetadataView):  # type: ignore[misc]
    """``GET /.well-known/oauth-authorization-server``: RFC 8414 metadata.

    DOT's document (endpoints that are mounted, response and grant types its
    RFC 9700 gates still allow, ``S256`` only, auth methods, scopes), whose
    ``issuer`` and endpoint URLs come from ``OIDC_ISS_ENDPOINT``: the ``iss``
    of every token and of RFC 9207 authorization responses
    (``bearer_auth.E012``), never the request's ``Host``. bearer_auth adds its
    ``jwks_uri`` on the same origin, and the OpenID Connect fields while
    OpenID Connect is on (:func:`_openid_metadata`).

    Public (also under Django's ``LoginRequiredMiddleware``), readable from any
    origin, cacheable for :data:`METADATA_MAX_AGE_SECONDS`.
    """

    http_method_names = ["get", "head", "options"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        response = JsonResponse(self.metadata(request, *args, **kwargs))
        response["Access-Control-Allow-Origin"] = "*"
        patch_cache_control(response, public=True, max_age=METADATA_MAX_AGE_SECONDS)
        return response

    def metadata(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Return the metadata document served by this view and by the OpenID Connect one."""
        data: dict[str, Any] = json.loads(super().get(request, *args, **kwargs).content)
        data["jwks_uri"] = on_origin_of(data["issuer"], reverse("bearer_auth_well_known:jwks"))
        if "introspection_endpoint" in data:
            # Introspection always needs an authenticated caller (RFC 7662 §2.1).
            data["introspection_endpoint_auth_methods_supported"] = [
                method
                for method in data["introspection_endpoint_auth_methods_supported"]
                if method != "none"
            ]
        if bearer_settings.CLIENT_REGISTRATION in ("open", "initial_access_token"):
            # RFC 7591 §3 (bearer_auth.views.client_registration); DOT's own
            # DCR_ENABLED and views are not used.
            data["registration_endpoint"] = on_origin_of(
                data["issuer"], reverse("oauth2_provider:dcr-register")
            )
        else:
            data.pop("registration_endpoint", None)
        if oauth2_settings.OIDC_ENABLED:
            data.update(_openid_metadata(data["issuer"]))
        if dpop.enabled():
            # RFC 9449 §5.1: the token endpoints accept proofs signed with these.
            data["dpop_signing_alg_values_supported"] = list(dpop.algorithms())
        return data

    def request_transaction(self) -> AbstractContextManager[Any]:
        # Read-only; the key set is read only when this process's copy is stale.
        return nullcontext()


def _openid_metadata(issuer: str) -> dict[str, Any]:
    """The OpenID Connect Discovery 1.0 §3 fields RFC 8414's document lacks.

    ``id_token_signing_alg_values_supported`` is the active key's algorithm
    (new ID tokens), then those of the other keys in the JWKS: after a
    rotation to another algorithm, relying parties that accept only the listed
    algorithms (authlib) still verify the ID tokens of the retired key. No
    ``request``/``request_uri``/``claims`` parameters: their discovery
    defaults would claim support.
    """
    return {
        "userinfo_endpoint": on_origin_of(issuer, reverse("oauth2_provider:user-info")),
        "end_session_endpoint": on_origin_of(
            issuer, reverse("oauth2_provider:rp-initiated-logout")
        ),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(
            dict.fromkeys([signing_algorithm(), *(key["alg"] for key in public_jwks()["keys"])])
        ),
        "claims_supported": claims_supported(),
        "prompt_values_supported": list(PROMPT_VALUES),
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }


@method_decorator(login_not_required, name="dispatch")
class OpenIDConfigurationView(OpenIDConnectOnlyMixin, AuthorizationServerMetadataView):
    """``GET /.well-known/openid-configuration``: OpenID Connect Discovery 1.0 §4.

    The RFC 8414 document (same issuer, endpoints, ``jwks_uri``, algorithms
    and scopes, built by the same code), served while
    ``OAUTH2_PROVIDER["OIDC_ENABLED"]`` is on; a 404 otherwise.
    """


@method_decorator(login_not_required, name="dispatch")
class ProtectedResourceMetadataView(OAuthProtectedResourceMetadataView):  # type: ignore[misc]
    """``GET /.well-known/oauth-protected-resource[/<path>]``: RFC 9728 metadata.

    One document per resource this server issues tokens for
    (:mod:`bearer_auth.resources`): the default resource (``AUDIENCE``, else
    the issuer) and each of ``RESOURCES``, found by the path of its
    identifier (RFC 9728 §3.1: ``https://api.example.com/mcp`` →
    ``/.well-known/oauth-protected-resource/mcp``); any other path is a 404.
    DOT's view writes the document from the ``get_*`` methods it documents
    for overriding: ``resource`` is the identifier (the ``aud`` its tokens
    carry, which clients compare with the URL they called, RFC 9728 §3.3),
    ``authorization_servers`` this server's issuer, ``scopes_supported`` the
    resource's ``scopes`` (else every scope), ``bearer_methods_supported``
    ``["header"]`` (tokens in the body or query are never read). While DPoP
    is on, the proof algorithms accepted and ``dpop_bound_access_tokens_required``
    ``false`` (Bearer tokens are accepted too; a bound token needs its proof).

    Public (also under Django's ``LoginRequiredMiddleware``), readable from any
    origin, cacheable for :data:`METADATA_MAX_AGE_SECONDS`; built from settings
    alone, without the database.
    """

    http_method_names = ["get", "head", "options"]
    protected_resource: ProtectedResource

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        suffix = kwargs.get("resource_path", "")
        found = resource_at_metadata_path(f"/{suffix}" if suffix else "", host=request.get_host())
        if found is None:
            raise Http404("No protected resource has its metadata here.")
        self.protected_resource = found
        response: JsonResponse = super().get(request, *args, **kwargs)
        if dpop.enabled():
            # RFC 9728 §2 (the DPoP fields RFC 9449 registered for resources);
            # DOT's view has no hook for more fields, so its answer gets them.
            data = json.loads(response.content)
            data["dpop_signing_alg_values_supported"] = list(dpop.algorithms())
            data["dpop_bound_access_tokens_required"] = False
            response.content = json.dumps(data, cls=DjangoJSONEncoder)
        patch_cache_control(response, public=True, max_age=METADATA_MAX_AGE_SECONDS)
        return response

    def get_resource(self, request: HttpRequest) -> str:
        return self.protected_resource.uri

    def get_authorization_servers(self, request: HttpRequest) -> list[str]:
        return [str(oauth2_settings.OIDC_ISS_ENDPOINT)]

    def get_scopes_supported(self) -> list[str]:
        scopes = self.protected_resource.scopes
        return list(scopes) if scopes is not None else list(super().get_scopes_supported())

    def get_bearer_methods_supported(self) -> list[str]:
        return ["header"]

    def get_resource_name(self) -> str:
        return self.protected_resource.name

    def get_resource_documentation(self) -> str:
        return self.protected_resource.documentation

    def get_resource_policy_uri(self) -> str:
        return ""

    def get_resource_tos_uri(self) -> str:
        return ""


def on_origin_of(url: str, path: str) -> str:
    """Return the absolute URL of ``path`` (already script-prefixed) on the origin of ``url``.

    DOT builds its endpoint URLs this way on the origin of ``OIDC_ISS_ENDPOINT``.
    """
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{path}"
