"""RFC 8414 metadata, and the shipped DOT configuration under ``check --deploy``."""

from __future__ import annotations

from io import StringIO
from typing import Any

import jwt
import pytest
from django.core.management import call_command
from django.test import Client

from tests.oauth_client import basic_auth, make_application

pytestmark = pytest.mark.django_db

URL = "/.well-known/oauth-authorization-server"


def test_metadata_document() -> None:
    response = Client().get(URL, HTTP_HOST="testserver")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "max-age=300" in response["Cache-Control"]
    data = response.json()
    assert data["issuer"] == "https://issuer.test"
    assert data["jwks_uri"] == "https://issuer.test/.well-known/jwks.json"
    assert data["authorization_endpoint"] == "https://issuer.test/o/authorize/"
    assert data["token_endpoint"] == "https://issuer.test/o/token/"
    assert data["revocation_endpoint"] == "https://issuer.test/o/revoke_token/"
    assert data["introspection_endpoint"] == "https://issuer.test/o/introspect/"
    assert data["response_types_supported"] == ["code"]
    assert data["grant_types_supported"] == [
        "authorization_code",
        "client_credentials",
        "refresh_token",
    ]
    assert data["code_challenge_methods_supported"] == ["S256"]
    assert data["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    assert "none" not in data["introspection_endpoint_auth_methods_supported"]
    assert data["scopes_supported"] == ["notes:read", "notes:write", "read", "write"]
    assert data["authorization_response_iss_parameter_supported"] is True
    assert "registration_endpoint" not in data
    for absent in ("implicit", "password", "urn:ietf:params:oauth:grant-type:device_code"):
        assert absent not in data["grant_types_supported"]


def test_issuer_and_urls_do_not_follow_the_host_header(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    data = Client().get(URL, HTTP_HOST="other.example").json()
    assert data["issuer"] == "https://issuer.test"
    assert all(
        data[key].startswith("https://issuer.test/")
        for key in ("jwks_uri", "authorization_endpoint", "token_endpoint")
    )


def test_issuer_follows_the_setting_and_keeps_its_path(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "ISSUER": "https://auth.example.org/tenant"}
    data = Client().get(URL).json()
    assert data["issuer"] == "https://auth.example.org/tenant"
    assert data["token_endpoint"] == "https://auth.example.org/o/token/"


def test_issuer_equals_the_iss_of_issued_tokens() -> None:
    application = make_application(grant_type="client-credentials", redirect_uris="")
    token = (
        Client()
        .post(
            "/o/token/",
            {"grant_type": "client_credentials"},
            HTTP_AUTHORIZATION=basic_auth(application.client_id),
        )
        .json()["access_token"]
    )
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == Client().get(URL).json()["issuer"]


def test_check_deploy_shows_no_rfc9700_warning_for_the_shipped_configuration() -> None:
    out = StringIO()
    err = StringIO()
    # check --deploy also reports the test settings' DEBUG/HTTPS choices; only
    # DOT's RFC 9700 checks are asserted absent.
    try:
        call_command("check", deploy=True, stdout=out, stderr=err)
    except Exception as exc:  # SystemCheckError when some other check is an error
        err.write(str(exc))
    report = out.getvalue() + err.getvalue()
    assert "oauth2_provider.W0" not in report
    assert "oauth2_provider.E0" not in report
    assert "RFC 9700" not in report


def test_dot_reports_rfc9700_warnings_when_a_gate_is_off(settings: Any) -> None:
    """The check above can fail: turning one shipped value back makes DOT complain."""
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],
    }
    err = StringIO()
    try:
        call_command("check", deploy=True, stdout=StringIO(), stderr=err)
    except Exception as exc:
        err.write(str(exc))
    assert "oauth2_provider.W008" in err.getvalue()
