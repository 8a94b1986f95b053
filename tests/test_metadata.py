"""RFC 8414 metadata, one issuer everywhere, and DOT's configuration under ``check --deploy``.

The ``iss`` of tokens, the RFC 9207 ``iss`` of authorization responses and
the metadata ``issuer`` are one value: ``BEARER_AUTH["ISSUER"]``, which
``oauth2_provider_settings()`` hands to DOT as ``OIDC_ISS_ENDPOINT``.
"""

from __future__ import annotations

from io import StringIO
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from django.core import checks
from django.core.management import call_command
from django.test import Client

from bearer_auth.settings import oauth2_provider_settings
from tests.oauth_client import (
    authorization_params,
    basic_auth,
    client_credentials_token,
    consent,
    make_application,
    query_of,
    use_issuer,
)

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
    use_issuer(settings, "https://auth.example.org/tenant")
    data = Client().get(URL).json()
    assert data["issuer"] == "https://auth.example.org/tenant"
    assert data["token_endpoint"] == "https://auth.example.org/o/token/"
    assert data["jwks_uri"] == "https://auth.example.org/.well-known/jwks.json"


def test_metadata_and_authorization_responses_state_dots_oidc_iss_endpoint(
    settings: Any, user: Any
) -> None:
    """DOT's setting is what is served; bearer_auth.E012 reports one that is not the issuer."""
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": "https://x.test"}
    data = Client().get(URL).json()
    assert data["issuer"] == "https://x.test"
    assert data["token_endpoint"] == "https://x.test/o/token/"
    assert data["jwks_uri"] == "https://x.test/.well-known/jwks.json"
    assert _authorization_response_issuers(user) == ["https://x.test"] * 3
    assert "bearer_auth.E012" in [message.id for message in checks.run_checks()]


def _token_issuer() -> str:
    claims = jwt.decode(client_credentials_token(), options={"verify_signature": False})
    return str(claims["iss"])


def _authorization_response_issuers(user: Any) -> list[str]:
    """The ``iss`` of an approval, a denial and a ``prompt=none`` without a session."""
    browser = Client()
    browser.force_login(user)
    application = make_application()
    responses = [
        consent(browser, authorization_params(application), allow=True),
        consent(browser, authorization_params(application), allow=False),
        Client().get("/o/authorize/", authorization_params(application, prompt="none")),
    ]
    answers = [query_of(response["Location"]) for response in responses]
    assert [answer.get("error") for answer in answers] == [None, "access_denied", "login_required"]
    return [answer["iss"] for answer in answers]


@pytest.mark.parametrize(
    ("debug", "bearer_auth", "expected"),
    [
        (False, {"ISSUER": "https://auth.example.org/tenant"}, "https://auth.example.org/tenant"),
        (True, {"ISSUER": "https://auth.example.org"}, "https://auth.example.org"),
        (True, {}, "http://localhost:8000"),  # DEBUG without ISSUER
    ],
)
def test_tokens_authorization_responses_and_metadata_name_one_issuer(
    settings: Any, user: Any, debug: bool, bearer_auth: dict[str, str], expected: str
) -> None:
    settings.DEBUG = debug
    settings.BEARER_AUTH = bearer_auth
    settings.OAUTH2_PROVIDER = oauth2_provider_settings(
        settings.BEARER_AUTH, SCOPES=settings.OAUTH2_PROVIDER["SCOPES"]
    )
    assert [
        message for message in checks.run_checks() if message.id.startswith("bearer_auth")
    ] == []
    assert Client().get(URL).json()["issuer"] == expected
    assert _token_issuer() == expected
    assert _authorization_response_issuers(user) == [expected] * 3


def test_a_registered_redirect_uri_carrying_iss_gets_only_this_servers(browser: Client) -> None:
    application = make_application(redirect_uris="https://client.example/cb?iss=https://evil.test")
    for allow in (True, False):
        response = consent(browser, authorization_params(application), allow=allow)
        query = parse_qs(urlsplit(response["Location"]).query)
        assert query["iss"] == ["https://issuer.test"]


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
