"""What ``bearer_auth/compat.py`` uses of its dependencies still exists and behaves the same.

These tests fail when an upgrade of DOT changes a non-public API bearer_auth
depends on: fix ``compat.py`` before users meet the change.
"""

from __future__ import annotations

import inspect
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from oauth2_provider.models import get_id_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.common import Request

from bearer_auth.compat import ninja_openapi_schema, save_id_token
from tests.factories import ApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_dot_validator_still_has_save_id_token_with_its_arguments() -> None:
    method = OAuth2Validator._save_id_token
    parameters = list(inspect.signature(method).parameters)
    assert parameters[:4] == ["self", "jti", "request", "expires"]


def test_save_id_token_stores_the_row_dot_expects() -> None:
    user = UserFactory()
    application = ApplicationFactory()
    request = Request("https://rp.example/cb")
    request.user = user
    request.client = application
    request.scopes = ["openid", "email"]
    request.scope = None
    jti = str(uuid.uuid4())
    expires = timezone.now() + timedelta(minutes=5)

    row = save_id_token(OAuth2Validator(), jti=jti, request=request, expires=expires)

    stored = get_id_token_model().objects.get(pk=row.pk)
    assert str(stored.jti) == jti
    assert stored.user == user
    assert stored.application == application
    assert stored.scope == "openid email"
    assert stored.expires == expires


# Django Ninja: the security requirements of its OpenAPI document.


def _ninja_api() -> Any:
    """A plain NinjaAPI with two kinds of auth, on a router and on operations."""
    import ninja
    from ninja.security import APIKeyHeader, HttpBearer, django_auth

    class KeyAuth(APIKeyHeader):
        param_name = "X-API-Key"

        def authenticate(self, request: Any, key: str | None) -> Any:
            return key

    class TokenAuth(HttpBearer):
        def authenticate(self, request: Any, token: str) -> Any:
            return token

    api = ninja.NinjaAPI(urls_namespace="compat-ninja", auth=TokenAuth())
    router = ninja.Router(auth=[KeyAuth(), django_auth])

    @api.get("/open", auth=None)
    def open_operation(request: Any) -> dict[str, str]:
        return {}

    def function_auth(request: Any) -> Any:
        return None

    @api.get("/token", auth=[TokenAuth(), function_auth])
    def token_operation(request: Any) -> dict[str, str]:
        return {}

    @router.get("/key")
    def key_operation(request: Any) -> dict[str, str]:
        return {}

    api.add_router("/routed", router)
    return api


def test_ninja_openapi_schema_without_names_is_ninjas_own_document() -> None:
    """Where ``requirement`` names nothing, the document is exactly Ninja's."""
    api = _ninja_api()
    ninjas = api.get_openapi_schema(path_prefix="")
    ours = ninja_openapi_schema(api, "", lambda auth: None)
    assert isinstance(ours, type(ninjas))
    assert ours == ninjas
    paths = ours["paths"]
    assert "security" not in paths["/open"]["get"]
    assert paths["/token"]["get"]["security"] == [{"TokenAuth": []}]
    assert paths["/routed/key"]["get"]["security"] == [{"KeyAuth": []}, {"SessionAuth": []}]


def test_ninja_openapi_schema_names_the_callables_requirement_asks_for() -> None:
    """It sees every operation's resolved auth callables, a router's inherited ones included."""
    api = _ninja_api()

    def requirement(auth: Any) -> tuple[str, list[str]] | None:
        if type(auth).__name__ == "TokenAuth":
            return "Bearer", ["a", "b"]
        return None

    schema = ninja_openapi_schema(api, "/v1/", requirement)
    paths = schema["paths"]
    assert paths["/v1/token"]["get"]["security"] == [{"Bearer": ["a", "b"]}]
    assert paths["/v1/routed/key"]["get"]["security"] == [{"KeyAuth": []}, {"SessionAuth": []}]
    assert set(schema["components"]["securitySchemes"]) == {"Bearer", "KeyAuth", "SessionAuth"}
    assert schema["components"]["securitySchemes"]["Bearer"] == {"type": "http", "scheme": "bearer"}


def test_ninja_still_builds_its_document_with_operation_security() -> None:
    from ninja.openapi.schema import OpenAPISchema

    assert list(inspect.signature(OpenAPISchema.__init__).parameters) == [
        "self",
        "api",
        "path_prefix",
    ]
    assert list(inspect.signature(OpenAPISchema.operation_security).parameters) == [
        "self",
        "operation",
    ]
