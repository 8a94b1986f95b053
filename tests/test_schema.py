"""The OpenAPI schema: bearer security scheme, scopes, the /auth/ endpoints, validity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import override_settings
from drf_spectacular.validation import validate_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework.test import APIRequestFactory

from tests.processes import ROOT


@pytest.fixture
def spectacular() -> Any:
    rest_framework = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    }
    with override_settings(
        INSTALLED_APPS=[*django_settings.INSTALLED_APPS, "drf_spectacular"],
        REST_FRAMEWORK=rest_framework,
    ):
        yield


def _schema(oas_version: str) -> dict[str, Any]:
    view = SpectacularAPIView.as_view(custom_settings={"OAS_VERSION": oas_version})
    response = view(APIRequestFactory().get("/schema/"))
    assert response.status_code == 200
    schema: dict[str, Any] = response.data
    return schema


def _security(schema: dict[str, Any], path: str, method: str) -> Any:
    return schema["paths"][path][method].get("security")


@pytest.mark.usefixtures("spectacular")
@pytest.mark.parametrize("oas_version", ["3.0.3", "3.1.0"])
def test_schema_is_valid_openapi(oas_version: str) -> None:
    schema = _schema(oas_version)
    assert schema["openapi"] == oas_version
    validate_schema(schema)  # raises jsonschema.ValidationError


@pytest.mark.usefixtures("spectacular")
def test_bearer_token_authentication_is_an_http_bearer_jwt_scheme() -> None:
    schemes = _schema("3.1.0")["components"]["securitySchemes"]
    assert set(schemes) == {"bearerAuth"}
    assert schemes["bearerAuth"]["type"] == "http"
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["bearerAuth"]["bearerFormat"] == "JWT"


@pytest.mark.usefixtures("spectacular")
def test_openapi_31_lists_the_scopes_each_operation_needs() -> None:
    schema = _schema("3.1.0")
    assert _security(schema, "/test-api/scoped/", "get") == [
        {"bearerAuth": ["notes:read", "profile"]}
    ]
    assert _security(schema, "/test-api/read-write/", "get") == [{"bearerAuth": ["notes:read"]}]
    assert _security(schema, "/test-api/read-write/", "post") == [{"bearerAuth": ["notes:write"]}]
    assert _security(schema, "/test-api/whoami/", "get") == [{"bearerAuth": []}]


@pytest.mark.usefixtures("spectacular")
def test_openapi_30_keeps_http_requirements_empty_as_the_spec_requires() -> None:
    schema = _schema("3.0.3")
    assert _security(schema, "/test-api/scoped/", "get") == [{"bearerAuth": []}]


@pytest.mark.usefixtures("spectacular")
def test_token_endpoints_are_documented_without_bearer_security() -> None:
    schema = _schema("3.1.0")
    sign_in = schema["paths"]["/auth/token/"]["post"]
    assert sign_in["operationId"] == "auth_sign_in"
    assert _security(schema, "/auth/token/", "post") is None
    assert set(sign_in["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
    }
    assert set(sign_in["responses"]) == {"200", "400", "429", "503"}
    assert "Retry-After" in sign_in["responses"]["429"]["headers"]
    components = schema["components"]["schemas"]
    assert set(components["SignIn"]["properties"]) == {"email", "username", "password", "scope"}
    assert set(components["TokenResponse"]["properties"]) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "scope",
    }
    assert set(components["TokenErrorErrorEnum"]["enum"]) == {
        "invalid_request",
        "invalid_grant",
        "invalid_scope",
        "invalid_dpop_proof",
        "use_dpop_nonce",
    }
    refresh = schema["paths"]["/auth/token/refresh/"]["post"]
    assert set(refresh["responses"]) == {"200", "400", "429", "503"}
    assert components["Refresh"]["required"] == ["refresh_token"]
    revoke = schema["paths"]["/auth/token/revoke/"]["post"]
    assert set(revoke["responses"]) == {"200", "400", "429", "503"}


@pytest.mark.usefixtures("spectacular")
def test_every_auth_operation_documents_503_temporarily_unavailable() -> None:
    """Strict-mode authentication and the token store fail closed: 503, never a 500."""
    schema = _schema("3.1.0")
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        if path.startswith("/auth/")
        for method, operation in item.items()
    ]
    assert len(operations) == 7
    for path, method, operation in operations:
        unavailable = operation["responses"].get("503")
        assert unavailable is not None, f"{method.upper()} {path}"
        body = unavailable["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/Unavailable"}
    error = schema["components"]["schemas"]["UnavailableErrorEnum"]
    assert error["enum"] == ["temporarily_unavailable"]


@pytest.mark.usefixtures("spectacular")
def test_account_endpoints_need_the_bearer_scheme_and_document_their_errors() -> None:
    schema = _schema("3.1.0")
    paths = schema["paths"]
    assert set(paths["/auth/me/"]["get"]["responses"]) == {"200", "400", "401", "503"}
    assert set(schema["components"]["schemas"]["Me"]["properties"]) == {
        "id",
        "username",
        "email",
        "full_name",
        "short_name",
        "date_joined",
    }
    assert paths["/auth/sessions/"]["delete"]["operationId"] == "auth_sign_out_everywhere"
    assert set(paths["/auth/sessions/"]["get"]["responses"]) == {"200", "400", "401", "503"}
    assert set(paths["/auth/sessions/"]["delete"]["responses"]) == {"204", "400", "401", "503"}
    assert set(paths["/auth/sessions/{session_id}/"]["delete"]["responses"]) == {
        "204",
        "400",
        "401",
        "404",
        "503",
    }
    for path, method in [
        ("/auth/me/", "get"),
        ("/auth/sessions/", "get"),
        ("/auth/sessions/", "delete"),
        ("/auth/sessions/{session_id}/", "delete"),
    ]:
        assert _security(schema, path, method) == [{"bearerAuth": []}]
        # RFC 6750: a malformed Authorization header (400) or a bad token (401).
        responses = paths[path][method]["responses"]
        for status in ("400", "401"):
            error = responses[status]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ResourceError"}


_DEMO_PROBE = """
import json
import django
from django.test import Client
django.setup()
client = Client(HTTP_HOST="127.0.0.1")
docs = client.get("/api/docs/")
schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
print(json.dumps({
    "docs_status": docs.status_code,
    "docs": docs.content.decode(),
    "schema_status": schema.status_code,
    "schema": json.loads(schema.content),
}))
"""


@pytest.mark.slow
def test_demo_serves_a_valid_schema_and_swagger_ui_without_a_cdn(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DEBUG"}
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        DJANGO_SETTINGS_MODULE="demo_project.settings",
    )

    def python(*args: str) -> str:
        """Run the demo's Python with ``args``; return its output once it succeeded."""
        run = subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        assert run.returncode == 0, run.stderr
        return run.stdout

    python("manage.py", "spectacular", "--validate", "--fail-on-warn")
    result = json.loads(python("-c", _DEMO_PROBE))
    assert result["docs_status"] == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in result["docs"]
    assert "cdn" not in result["docs"].lower()
    assert "https://" not in result["docs"]
    assert result["schema_status"] == 200
    notes = result["schema"]["paths"]["/api/notes/"]
    assert notes["get"]["security"] == [{"bearerAuth": ["notes:read"]}]
    assert notes["post"]["security"] == [{"bearerAuth": ["notes:write"]}]


@pytest.mark.usefixtures("spectacular")
def test_userinfo_is_documented_with_its_scope_and_errors() -> None:
    paths = _schema("3.1.0")["paths"]
    for method in ("get", "post"):
        operation = paths["/o/userinfo/"][method]
        assert operation["operationId"] == f"oidc_userinfo_{method}"
        assert operation["security"] == [{"bearerAuth": ["openid"]}]
        assert "requestBody" not in operation
        assert set(operation["responses"]) == {"200", "400", "401", "403", "404", "503"}


@pytest.mark.usefixtures("spectacular")
def test_token_endpoints_document_cookie_mode() -> None:
    schema = _schema("3.1.0")
    for path in ("/auth/token/", "/auth/token/refresh/", "/auth/token/revoke/"):
        operation = schema["paths"][path]["post"]
        [delivery] = [
            parameter
            for parameter in operation["parameters"]
            if parameter["name"] == "Refresh-Token-Delivery"
        ]
        assert delivery["in"] == "header"
        assert delivery["schema"]["enum"] == ["cookie"]
        assert "Set-Cookie" in operation["responses"]["200"]["headers"]
    token_response = schema["components"]["schemas"]["TokenResponse"]
    assert "refresh_token" not in token_response["required"]


@pytest.mark.usefixtures("spectacular")
def test_sign_in_and_refresh_document_dpop() -> None:
    schema = _schema("3.1.0")
    for path in ("/auth/token/", "/auth/token/refresh/"):
        operation = schema["paths"][path]["post"]
        [proof] = [
            parameter for parameter in operation["parameters"] if parameter["name"] == "DPoP"
        ]
        assert proof["in"] == "header"
        assert proof.get("required", False) is False
        assert "RFC 9449" in proof["description"]
        for status in ("200", "400"):
            assert "DPoP-Nonce" in operation["responses"][status]["headers"], (path, status)
    revoke = schema["paths"]["/auth/token/revoke/"]["post"]
    assert "DPoP" not in [parameter["name"] for parameter in revoke["parameters"]]
    components = schema["components"]["schemas"]
    token_type = components["TokenResponse"]["properties"]["token_type"]
    assert token_type["allOf"] == [{"$ref": "#/components/schemas/TokenTypeEnum"}]
    assert set(components["TokenTypeEnum"]["enum"]) == {"Bearer", "DPoP"}


@pytest.mark.usefixtures("spectacular")
def test_sessions_say_whether_they_are_dpop_bound() -> None:
    session = _schema("3.1.0")["components"]["schemas"]["Session"]
    assert session["properties"]["dpop_bound"]["type"] == "boolean"
    assert "dpop_bound" in session["required"]
