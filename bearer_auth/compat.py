"""The one place bearer_auth uses a dependency's non-public API, each use with a test.

Everything else in the package is held to public APIs by
``tests/test_public_apis.py``; ``tests/test_compat.py`` fails loudly when a
dependency changes what is used here, so an upgrade breaks in CI, not for users.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from oauthlib.common import Request

if TYPE_CHECKING:
    from ninja.openapi.schema import OpenAPISchema


def save_id_token(validator: Any, *, jti: str, request: Request, expires: datetime) -> Any:
    """Store an ID token's row the way DOT does, with DOT's ``OAuth2Validator._save_id_token``.

    DOT signs ID tokens only with its own ``OIDC_RSA_PRIVATE_KEY`` (or a
    client secret) inside ``finalize_id_token``; bearer_auth signs them with
    its managed keys, so it overrides ``finalize_id_token`` (oauthlib's public
    hook) and must still leave DOT's ``IDToken`` row (user, application,
    scope, expiry, ``jti``) for DOT's admin and ``cleartokens``. DOT has no
    public method that stores one without signing it with its own key.
    """
    return validator._save_id_token(jti, request, expires)


def ninja_openapi_schema(
    api: Any, path_prefix: str, requirement: Callable[[Any], tuple[str, list[str]] | None]
) -> OpenAPISchema:
    """Django Ninja's OpenAPI document of ``api``, with ``requirement`` naming its auth callables.

    ``requirement(auth)`` returns ``(scheme name, scopes)`` for an auth
    callable of ``auth=``, or ``None`` to keep Ninja's naming (the class's
    name, no scopes). Ninja names every security scheme after its auth
    callable's class and always writes ``[]`` for its scopes (Ninja's
    source marks scopes as not done yet in
    ``ninja.openapi.schema.OpenAPISchema.operation_security``, its only
    place that sees an operation's auth callables). Its public hook,
    ``NinjaAPI.get_openapi_schema``, returns the finished document, where a
    requirement no longer says which callable it came from, and Ninja
    offers no public way to list an API's operations with their resolved
    ``auth`` (routers' auth is inherited when they are bound). So this
    overrides ``operation_security`` of Ninja's ``OpenAPISchema`` (the
    class ``get_openapi_schema`` returns) and reads ``Operation.auth_callbacks``.
    Imports Ninja here: it is an optional dependency (the ``ninja`` extra).
    """
    from ninja.openapi.schema import OpenAPISchema

    class Schema(OpenAPISchema):
        def operation_security(self, operation: Any) -> list[dict[str, Any]] | None:
            if not operation.auth_callbacks:
                return None
            result: list[dict[str, Any]] = []
            for auth in operation.auth_callbacks:
                if hasattr(auth, "openapi_security_schema"):
                    named = requirement(auth)
                    name, scopes = named if named is not None else (type(auth).__name__, [])
                    result.append({name: scopes})
                    self.securitySchemes[name] = auth.openapi_security_schema
            return result

    return Schema(api, path_prefix)
