"""Dynamic client registration (RFC 7591) and its management (RFC 7592) at /o/register/."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import get_resolver, resolve, reverse
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_refresh_token_model,
)
from oauth2_provider.views.dynamic_client_registration import (
    DynamicClientRegistrationManagementView,
    DynamicClientRegistrationView,
)

from bearer_auth.jwt import token_checksum
from bearer_auth.models import ApplicationPolicy, ClientRegistration, InitialAccessToken
from bearer_auth.oauth.client_registration import issue_initial_access_token
from bearer_auth.views.client_registration import (
    ClientConfigurationView,
    ClientRegistrationView,
)
from tests.oauth_client import (
    authorization_code,
    exchange,
    token_request,
)

pytestmark = pytest.mark.django_db

LOOPBACK = "http://127.0.0.1:33418/callback"
PUBLIC_CLIENT = {
    "redirect_uris": [LOOPBACK],
    "token_endpoint_auth_method": "none",
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "client_name": "An MCP client",
    "scope": "notes:read",
}


def registration(settings: Any, policy: str, **more: Any) -> None:
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "CLIENT_REGISTRATION": policy,
        "REGISTRATION_SCOPES": ["read", "notes:read", "notes:write"],
        **more,
    }


def register(
    metadata: Any = None,
    *,
    token: str | None = None,
    remote_addr: str = "192.0.2.1",
    raw: str | None = None,
) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    body = raw if raw is not None else json.dumps(PUBLIC_CLIENT if metadata is None else metadata)
    return Client().post(
        "/o/register/",
        body,
        content_type="application/json",
        REMOTE_ADDR=remote_addr,
        **headers,
    )


def registered(response: Any) -> Any:
    assert response.status_code == 201, response.content
    return get_application_model().objects.get(client_id=response.json()["client_id"])


def assert_error(response: Any, status: int, error: str) -> dict[str, Any]:
    """An RFC-shaped JSON error; the registration endpoints always describe theirs."""
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    if response.wsgi_request.path.startswith("/o/register/"):
        assert body["error_description"]
    return body


# The policies


def test_closed_by_default_the_endpoints_do_not_exist() -> None:
    assert register().status_code == 404
    assert Client().get("/o/register/someone/").status_code == 404
    assert not get_application_model().objects.exists()


def test_dot_s_own_registration_views_are_not_mounted() -> None:
    assert resolve("/o/register/").func.view_class is ClientRegistrationView  # type: ignore[attr-defined]
    match = resolve("/o/register/abc/")
    assert match.func.view_class is ClientConfigurationView  # type: ignore[attr-defined]
    assert reverse("oauth2_provider:dcr-register") == "/o/register/"
    assert reverse("oauth2_provider:dcr-register-management", args=["abc"]) == "/o/register/abc/"

    def views(resolver: Any) -> list[Any]:
        found = []
        for pattern in resolver.url_patterns:
            if hasattr(pattern, "url_patterns"):
                found += views(pattern)
            else:
                found.append(getattr(pattern.callback, "view_class", None))
        return found

    mounted = views(get_resolver())
    assert DynamicClientRegistrationView not in mounted
    assert DynamicClientRegistrationManagementView not in mounted


def test_open_registers_a_public_client(settings: Any) -> None:
    registration(settings, "open")
    response = register({**PUBLIC_CLIENT, "client_uri": "https://client.example/", "logo": 1})

    application = registered(response)
    body = response.json()
    assert "no-store" in response["Cache-Control"]
    assert body == {
        "client_id": application.client_id,
        "client_id_issued_at": body["client_id_issued_at"],
        "redirect_uris": [LOOPBACK],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "scope": "notes:read",
        "client_name": "An MCP client",
        "client_uri": "https://client.example/",
        "registration_access_token": body["registration_access_token"],
        "registration_client_uri": f"https://issuer.test/o/register/{application.client_id}/",
    }
    assert abs(body["client_id_issued_at"] - timezone.now().timestamp()) < 60
    assert application.registration_source == "dcr"
    assert application.client_type == "public"
    assert application.authorization_grant_type == "authorization-code"
    assert application.redirect_uris == LOOPBACK
    assert application.name == "An MCP client"
    assert application.skip_authorization is False
    assert ApplicationPolicy.objects.get(application=application).allowed_scopes == "notes:read"
    row = ClientRegistration.objects.get(application=application)
    assert row.ip_address == "192.0.2.1"
    assert row.policy == "open"
    assert row.approved is not None
    assert row.disabled is None
    assert row.metadata["redirect_uris"] == [LOOPBACK]
    # Only the digest of the registration access token; nothing in DOT's token tables.
    assert row.registration_token_checksum == token_checksum(body["registration_access_token"])
    assert body["registration_access_token"] not in json.dumps(row.metadata)
    assert not get_access_token_model().objects.exists()


def test_open_fills_in_what_a_public_client_leaves_out(settings: Any) -> None:
    registration(settings, "open")
    response = register({"redirect_uris": ["https://client.example/cb"]})

    registered(response)
    body = response.json()
    assert body["token_endpoint_auth_method"] == "none"
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["response_types"] == ["code"]
    # No scope asked: every registrable scope.
    assert body["scope"] == "notes:read notes:write read"
    assert "client_secret" not in body


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post", "private_key_jwt"])
def test_open_refuses_a_confidential_client(settings: Any, method: str) -> None:
    registration(settings, "open")
    assert_error(
        register({**PUBLIC_CLIENT, "token_endpoint_auth_method": method}),
        400,
        "invalid_client_metadata",
    )
    assert not get_application_model().objects.exists()


@pytest.mark.parametrize(
    "grant_types",
    [
        ["client_credentials"],
        ["implicit"],
        ["password"],
        ["refresh_token"],
        ["authorization_code", "client_credentials"],
        ["urn:ietf:params:oauth:grant-type:device_code"],
        [],
    ],
)
def test_open_refuses_other_grant_types(settings: Any, grant_types: list[str]) -> None:
    registration(settings, "open")
    assert_error(
        register({**PUBLIC_CLIENT, "grant_types": grant_types}), 400, "invalid_client_metadata"
    )


@pytest.mark.parametrize("response_types", [["token"], ["code", "token"], ["code id_token"], []])
def test_open_refuses_other_response_types(settings: Any, response_types: list[str]) -> None:
    registration(settings, "open")
    assert_error(
        register({**PUBLIC_CLIENT, "response_types": response_types}),
        400,
        "invalid_client_metadata",
    )


@pytest.mark.parametrize(
    "uri",
    [
        "http://client.example/callback",
        "http://192.168.1.2/callback",
        "https://client.example/callback#fragment",
        "http://127.0.0.1/callback#x",
        "com.example.app:/callback",
        "javascript:alert(1)",
        "https://*.example/callback",
        "/relative",
        "https://client.example/a b",
    ],
)
def test_open_refuses_a_redirect_uri_neither_https_nor_loopback(settings: Any, uri: str) -> None:
    registration(settings, "open")
    assert_error(register({**PUBLIC_CLIENT, "redirect_uris": [uri]}), 400, "invalid_redirect_uri")
    assert not get_application_model().objects.exists()


@pytest.mark.parametrize(
    "uri",
    [
        "https://client.example/callback",
        "http://127.0.0.1/callback",
        "http://127.0.0.1:8765/callback",
        "http://[::1]:8765/callback",
        "http://localhost:3030/callback",
    ],
)
def test_open_accepts_https_and_loopback_redirect_uris(settings: Any, uri: str) -> None:
    registration(settings, "open")
    assert registered(register({**PUBLIC_CLIENT, "redirect_uris": [uri]})).redirect_uris == uri


def test_localhost_is_loopback_only_while_dot_says_so(settings: Any) -> None:
    registration(settings, "open")
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "ALLOW_LOCALHOST_LOOPBACK": False}
    assert_error(
        register({**PUBLIC_CLIENT, "redirect_uris": ["http://localhost:3030/callback"]}),
        400,
        "invalid_redirect_uri",
    )


def test_a_code_client_needs_a_redirect_uri(settings: Any) -> None:
    registration(settings, "open")
    assert_error(register({**PUBLIC_CLIENT, "redirect_uris": []}), 400, "invalid_client_metadata")
    metadata = dict(PUBLIC_CLIENT)
    del metadata["redirect_uris"]
    assert_error(register(metadata), 400, "invalid_client_metadata")


def test_too_many_redirect_uris_are_refused(settings: Any) -> None:
    registration(settings, "open")
    uris = [f"http://127.0.0.1/callback{n}" for n in range(11)]
    assert_error(register({**PUBLIC_CLIENT, "redirect_uris": uris}), 400, "invalid_redirect_uri")


def test_a_scope_outside_registration_scopes_is_refused_not_dropped(settings: Any) -> None:
    registration(settings, "open", REGISTRATION_SCOPES=["notes:read"])
    body = assert_error(
        register({**PUBLIC_CLIENT, "scope": "notes:read write"}), 400, "invalid_client_metadata"
    )
    assert "write" in body["error_description"]
    assert_error(
        register({**PUBLIC_CLIENT, "scope": "admin:everything"}), 400, "invalid_client_metadata"
    )
    assert not get_application_model().objects.exists()


def test_registration_scopes_none_means_dot_s_default_scopes(settings: Any) -> None:
    registration(settings, "open", REGISTRATION_SCOPES=None)
    metadata = {**PUBLIC_CLIENT}
    del metadata["scope"]
    assert register(metadata).json()["scope"] == "read"  # tests' DEFAULT_SCOPES
    assert_error(register({**PUBLIC_CLIENT, "scope": "notes:read"}), 400, "invalid_client_metadata")


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        '"a string"',
        json.dumps({**PUBLIC_CLIENT, "redirect_uris": LOOPBACK}),
        json.dumps({**PUBLIC_CLIENT, "redirect_uris": [1]}),
        json.dumps({**PUBLIC_CLIENT, "scope": ["notes:read"]}),
        json.dumps({**PUBLIC_CLIENT, "client_name": 7}),
        json.dumps({**PUBLIC_CLIENT, "client_name": "x" * 300}),
        json.dumps({**PUBLIC_CLIENT, "grant_types": "authorization_code"}),
        json.dumps({**PUBLIC_CLIENT, "token_endpoint_auth_method": ["none"]}),
        json.dumps({**PUBLIC_CLIENT, "client_uri": "http://client.example/"}),
        json.dumps({**PUBLIC_CLIENT, "client_uri": "not a url"}),
    ],
)
def test_bad_json_and_wrong_types_are_invalid_client_metadata(settings: Any, raw: str) -> None:
    registration(settings, "open")
    assert_error(register(raw=raw), 400, "invalid_client_metadata")
    assert not get_application_model().objects.exists()


def test_unknown_fields_and_nulls_are_ignored(settings: Any) -> None:
    registration(settings, "open")
    response = register(
        {**PUBLIC_CLIENT, "software_id": "x", "jwks": {"keys": []}, "client_uri": None}
    )
    registered(response)
    assert "software_id" not in response.json()
    assert "client_uri" not in response.json()


def test_a_registered_client_name_does_not_skip_consent(settings: Any, user: Any) -> None:
    registration(settings, "open")
    application = registered(register({**PUBLIC_CLIENT, "skip_authorization": True}))
    assert application.skip_authorization is False


# The throttle


def test_every_attempt_counts_against_the_ip_s_budget(settings: Any) -> None:
    registration(settings, "open", REGISTRATION_THROTTLE_RATE="3/hour")
    registered(register())
    assert_error(register(raw="not json"), 400, "invalid_client_metadata")
    registered(register())

    refused = register()
    body = assert_error(refused, 429, "slow_down")
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert "registrations" in body["error_description"]
    assert get_application_model().objects.count() == 2
    # Another address has its own budget.
    registered(register(remote_addr="192.0.2.99"))


def test_initial_access_token_attempts_are_throttled_too(settings: Any) -> None:
    registration(settings, "initial_access_token", REGISTRATION_THROTTLE_RATE="2/hour")
    assert_error(register(token="guess-1"), 401, "invalid_token")
    assert_error(register(token="guess-2"), 401, "invalid_token")
    _row, token = issue_initial_access_token(lifetime=timedelta(hours=1))
    assert_error(register(token=token), 429, "slow_down")


def test_the_throttle_fails_closed_without_its_cache(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    registration(settings, "open")
    from bearer_auth.oauth.client_registration import RegistrationThrottle

    def unavailable(self: Any) -> bool:
        raise ConnectionError("cache down")

    monkeypatch.setattr(RegistrationThrottle, "claim", unavailable)
    assert_error(register(), 503, "temporarily_unavailable")
    assert not get_application_model().objects.exists()


# The initial_access_token policy


def test_initial_access_token_policy_needs_a_token(settings: Any) -> None:
    registration(settings, "initial_access_token")
    for response in (register(), register(token="not-a-token")):
        assert_error(response, 401, "invalid_token")
        assert response["WWW-Authenticate"].startswith("Bearer ")
        assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert not get_application_model().objects.exists()


def test_initial_access_token_registers_a_confidential_client(settings: Any) -> None:
    registration(settings, "initial_access_token")
    row, token = issue_initial_access_token(label="partner", lifetime=timedelta(hours=1))
    assert row.token_checksum == token_checksum(token)
    response = register(
        {
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": "read",
        },
        token=token,
    )

    application = registered(response)
    body = response.json()
    assert body["client_secret_expires_at"] == 0
    assert body["grant_types"] == ["client_credentials"]
    assert body["response_types"] == []
    assert application.client_type == "confidential"
    assert application.authorization_grant_type == "client-credentials"
    assert body["client_secret"] not in (application.client_secret, "")  # stored hashed
    registration_row = ClientRegistration.objects.get(application=application)
    assert registration_row.initial_access_token == row
    assert registration_row.policy == "initial_access_token"
    row.refresh_from_db()
    assert row.uses == 1
    # The secret works at the token endpoint.
    answer = token_request(
        application.client_id,
        {"grant_type": "client_credentials", "scope": "read"},
        secret=body["client_secret"],
    )
    assert answer.status_code == 200, answer.content


def test_initial_access_token_default_method_is_client_secret_basic(settings: Any) -> None:
    registration(settings, "initial_access_token")
    _row, token = issue_initial_access_token(lifetime=timedelta(hours=1))
    response = register({"redirect_uris": ["https://client.example/cb"]}, token=token)
    application = registered(response)
    assert response.json()["token_endpoint_auth_method"] == "client_secret_basic"
    assert application.client_type == "confidential"
    assert response.json()["client_secret"]


def test_initial_access_token_may_register_public_clients(settings: Any) -> None:
    registration(settings, "initial_access_token")
    _row, token = issue_initial_access_token(lifetime=timedelta(hours=1))
    response = register(PUBLIC_CLIENT, token=token)
    assert registered(response).client_type == "public"
    assert "client_secret" not in response.json()


def test_a_public_client_cannot_have_client_credentials(settings: Any) -> None:
    registration(settings, "initial_access_token")
    _row, token = issue_initial_access_token(lifetime=timedelta(hours=1))
    metadata = {"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}
    assert_error(register(metadata, token=token), 400, "invalid_client_metadata")


def test_used_up_expired_or_revoked_initial_access_tokens_are_refused(settings: Any) -> None:
    registration(settings, "initial_access_token", REGISTRATION_THROTTLE_RATE="100/hour")
    _used, used_token = issue_initial_access_token(lifetime=timedelta(hours=1), max_uses=2)
    registered(register(token=used_token))
    registered(register(token=used_token))
    assert_error(register(token=used_token), 401, "invalid_token")

    expired, expired_token = issue_initial_access_token(lifetime=timedelta(hours=1))
    InitialAccessToken.objects.filter(pk=expired.pk).update(expires=timezone.now())
    assert_error(register(token=expired_token), 401, "invalid_token")

    revoked, revoked_token = issue_initial_access_token(lifetime=timedelta(hours=1))
    InitialAccessToken.objects.filter(pk=revoked.pk).update(revoked=timezone.now())
    assert_error(register(token=revoked_token), 401, "invalid_token")
    assert get_application_model().objects.count() == 2


def test_refused_metadata_does_not_spend_the_initial_access_token(settings: Any) -> None:
    registration(settings, "initial_access_token")
    row, token = issue_initial_access_token(lifetime=timedelta(hours=1))
    assert_error(
        register({**PUBLIC_CLIENT, "redirect_uris": ["http://a.example/"]}, token=token),
        400,
        "invalid_redirect_uri",
    )
    row.refresh_from_db()
    assert row.uses == 0
    registered(register(token=token))


def test_the_command_prints_a_token_stored_as_its_digest(settings: Any) -> None:
    registration(settings, "initial_access_token")
    out, err = StringIO(), StringIO()
    call_command(
        "bearer_registration_token",
        "--label",
        "ci",
        "--hours",
        "2",
        "--uses",
        "3",
        stdout=out,
        stderr=err,
    )
    token = out.getvalue().strip()
    row = InitialAccessToken.objects.get()
    assert row.token_checksum == token_checksum(token)
    assert token not in str(row.__dict__)
    assert (row.label, row.max_uses) == ("ci", 3)
    assert timedelta(hours=1, minutes=59) < row.expires - timezone.now() <= timedelta(hours=2)
    assert "Shown once" in err.getvalue()
    registered(register(token=token))


# RFC 7592: read and delete one's own registration


def test_a_client_reads_its_registration(settings: Any) -> None:
    registration(settings, "open")
    created = register().json()
    response = Client().get(
        created["registration_client_uri"],
        HTTP_AUTHORIZATION=f"Bearer {created['registration_access_token']}",
    )
    assert response.status_code == 200, response.content
    assert response.json() == created
    assert "no-store" in response["Cache-Control"]


def test_a_confidential_client_s_read_never_returns_its_secret(settings: Any) -> None:
    registration(settings, "initial_access_token")
    _row, token = issue_initial_access_token(lifetime=timedelta(hours=1))
    created = register({"redirect_uris": ["https://client.example/cb"]}, token=token).json()
    read = (
        Client()
        .get(
            created["registration_client_uri"],
            HTTP_AUTHORIZATION=f"Bearer {created['registration_access_token']}",
        )
        .json()
    )
    assert "client_secret" not in read
    assert read["client_id"] == created["client_id"]


def test_reading_needs_the_client_s_own_registration_access_token(settings: Any) -> None:
    registration(settings, "open")
    first, second = register().json(), register().json()
    uri = first["registration_client_uri"]
    for headers in (
        {},
        {"HTTP_AUTHORIZATION": "Bearer wrong"},
        {"HTTP_AUTHORIZATION": f"Bearer {second['registration_access_token']}"},
        {"HTTP_AUTHORIZATION": f"Basic {first['registration_access_token']}"},
    ):
        for method in ("get", "delete"):
            response = getattr(Client(), method)(uri, **headers)
            assert_error(response, 401, "invalid_token")
            assert response["WWW-Authenticate"].startswith("Bearer ")
    # An unknown client is a 401 too (RFC 7592 §3).
    assert_error(
        Client().get(
            "/o/register/nobody/",
            HTTP_AUTHORIZATION=f"Bearer {first['registration_access_token']}",
        ),
        401,
        "invalid_token",
    )
    assert get_application_model().objects.count() == 2


def test_a_client_deletes_its_registration(settings: Any, user: Any) -> None:
    registration(settings, "open")
    created = register().json()
    application = get_application_model().objects.get(client_id=created["client_id"])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {created['registration_access_token']}"}

    assert Client().delete(created["registration_client_uri"], **auth).status_code == 204
    assert not get_application_model().objects.filter(pk=application.pk).exists()
    assert not ClientRegistration.objects.exists()
    assert not ApplicationPolicy.objects.filter(application_id=application.pk).exists()
    assert_error(Client().get(created["registration_client_uri"], **auth), 401, "invalid_token")


def put(created: dict[str, Any], metadata: Any, token: str | None = None) -> Any:
    return Client().put(
        created["registration_client_uri"],
        json.dumps(metadata) if not isinstance(metadata, str) else metadata,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token or created['registration_access_token']}",
    )


def test_a_client_updates_its_registration(settings: Any) -> None:
    registration(settings, "open")
    created = register().json()
    new_uri = "https://client.example/new-callback"
    metadata = {
        **PUBLIC_CLIENT,
        "client_id": created["client_id"],
        "redirect_uris": [new_uri],
        "scope": "notes:read notes:write",
        "client_name": "Renamed",
    }

    response = put(created, metadata)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["redirect_uris"] == [new_uri]
    assert body["scope"] == "notes:read notes:write"
    assert body["client_name"] == "Renamed"
    assert body["registration_access_token"] == created["registration_access_token"]
    application = get_application_model().objects.get(client_id=created["client_id"])
    assert application.redirect_uris == new_uri
    assert application.name == "Renamed"
    policy = ApplicationPolicy.objects.get(application=application)
    assert policy.allowed_scopes == "notes:read notes:write"
    assert ClientRegistration.objects.get().metadata["redirect_uris"] == [new_uri]
    read = Client().get(
        created["registration_client_uri"],
        HTTP_AUTHORIZATION=f"Bearer {created['registration_access_token']}",
    )
    assert read.json() == body


def test_an_update_is_checked_like_a_registration(settings: Any) -> None:
    registration(settings, "open")
    created = register().json()
    mine = {**PUBLIC_CLIENT, "client_id": created["client_id"]}
    for metadata, error in (
        ({**mine, "redirect_uris": ["http://client.example/cb"]}, "invalid_redirect_uri"),
        ({**mine, "scope": "write"}, "invalid_client_metadata"),
        ({**mine, "token_endpoint_auth_method": "client_secret_basic"}, "invalid_client_metadata"),
        ({**mine, "client_id": "another"}, "invalid_client_metadata"),
        (
            {key: value for key, value in mine.items() if key != "client_id"},
            "invalid_client_metadata",
        ),
        ({**mine, "registration_access_token": "x"}, "invalid_client_metadata"),
        ({**mine, "client_id_issued_at": 1}, "invalid_client_metadata"),
        ({**mine, "client_secret": "a secret it never had"}, "invalid_client_metadata"),
        ("not json", "invalid_client_metadata"),
    ):
        assert_error(put(created, metadata), 400, error)
    assert_error(put(created, mine, token="wrong"), 401, "invalid_token")
    assert_error(put(created, "not json", token="wrong"), 401, "invalid_token")
    # Nothing changed.
    application = get_application_model().objects.get(client_id=created["client_id"])
    assert application.redirect_uris == LOOPBACK
    assert ApplicationPolicy.objects.get(application=application).allowed_scopes == "notes:read"


def test_a_confidential_client_s_update_may_repeat_its_secret_not_change_its_type(
    settings: Any,
) -> None:
    registration(settings, "initial_access_token")
    _row, token = issue_initial_access_token(lifetime=timedelta(hours=1))
    created = register({"redirect_uris": ["https://client.example/cb"]}, token=token).json()
    mine = {
        "client_id": created["client_id"],
        "redirect_uris": ["https://client.example/other"],
        "token_endpoint_auth_method": "client_secret_post",
    }
    response = put(created, {**mine, "client_secret": created["client_secret"]})
    assert response.status_code == 200, response.content
    assert response.json()["token_endpoint_auth_method"] == "client_secret_post"
    assert "client_secret" not in response.json()
    assert_error(
        put(created, {**mine, "token_endpoint_auth_method": "none"}),
        400,
        "invalid_client_metadata",
    )
    assert_error(
        put(created, {**mine, "grant_types": ["client_credentials"], "redirect_uris": []}),
        400,
        "invalid_client_metadata",
    )


def test_the_registration_access_token_is_no_api_token(settings: Any) -> None:
    registration(settings, "open")
    created = register().json()
    response = Client().get(
        "/test-api/whoami/",
        HTTP_AUTHORIZATION=f"Bearer {created['registration_access_token']}",
    )
    assert response.status_code == 401


def test_registration_endpoints_404_once_closed_again(settings: Any) -> None:
    registration(settings, "open")
    created = register().json()
    registration(settings, "closed")
    response = Client().get(
        created["registration_client_uri"],
        HTTP_AUTHORIZATION=f"Bearer {created['registration_access_token']}",
    )
    assert response.status_code == 404


# A registered client at work


def test_a_registered_public_client_runs_code_pkce_and_refresh(
    settings: Any, browser: Client
) -> None:
    registration(settings, "open")
    application = registered(register({**PUBLIC_CLIENT, "scope": "notes:read read"}))

    code, verifier = authorization_code(browser, application, scope="notes:read")
    response = exchange(application, code, verifier, secret=None)
    assert response.status_code == 200, response.content
    tokens = response.json()
    assert tokens["scope"] == "notes:read"
    api = Client().get("/test-api/whoami/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert api.status_code == 200, api.content
    refreshed = token_request(
        application.client_id,
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        secret=None,
    )
    assert refreshed.status_code == 200, refreshed.content


def test_a_registered_client_gets_no_scope_it_did_not_register(
    settings: Any, browser: Client
) -> None:
    registration(settings, "open")
    application = registered(register({**PUBLIC_CLIENT, "scope": "notes:read"}))
    params = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": LOOPBACK,
        "scope": "notes:write",
        "state": "s",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    response = browser.get("/o/authorize/", params)
    assert response.status_code == 302
    assert "error=invalid_scope" in response["Location"]


def test_pkce_is_required_of_a_registered_client(settings: Any, browser: Client) -> None:
    registration(settings, "open")
    application = registered(register())
    params = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": LOOPBACK,
        "scope": "notes:read",
        "state": "s",
    }
    response = browser.get("/o/authorize/", params)
    assert response.status_code == 302
    assert "error=" in response["Location"]
    assert "code=" not in response["Location"]


# Approval and disabling (the admin)


def authorize_page(browser: Client, application: Any) -> Any:
    return browser.get(
        "/o/authorize/",
        {
            "response_type": "code",
            "client_id": application.client_id,
            "redirect_uri": LOOPBACK,
            "scope": "notes:read",
            "state": "s",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        },
    )


def admin_action(admin_browser: Client, model: str, action: str, pks: list[Any]) -> Any:
    response = admin_browser.post(
        reverse(f"admin:bearer_auth_{model}_changelist"),
        {"action": action, "_selected_action": [str(pk) for pk in pks]},
    )
    assert response.status_code == 302, response.content
    return response


def test_a_client_waiting_for_approval_is_refused_until_approved(
    settings: Any, browser: Client, admin_browser: Client
) -> None:
    registration(settings, "open", REGISTRATION_REQUIRES_APPROVAL=True)
    application = registered(register())
    assert ClientRegistration.objects.get().approved is None

    page = authorize_page(browser, application)
    # DOT's page for an unknown client: no redirect to an untrusted client.
    assert page.status_code == 400, page.status_code
    assert "Location" not in page
    refused = token_request(
        application.client_id,
        {"grant_type": "refresh_token", "refresh_token": "anything"},
        secret=None,
    )
    assert_error(refused, 401, "invalid_client")

    admin_action(admin_browser, "clientregistration", "approve", [application.pk])
    assert ClientRegistration.objects.get().approved is not None
    assert authorize_page(browser, application).status_code == 200


def test_approval_applies_to_open_registration_only(settings: Any) -> None:
    registration(settings, "initial_access_token", REGISTRATION_REQUIRES_APPROVAL=True)
    _row, token = issue_initial_access_token(lifetime=timedelta(hours=1))
    registered(register(token=token))
    assert ClientRegistration.objects.get().approved is not None


def test_disabling_refuses_the_client_and_revokes_its_tokens(
    settings: Any, browser: Client, admin_browser: Client
) -> None:
    registration(settings, "open")
    application = registered(register())
    code, verifier = authorization_code(browser, application, scope="notes:read")
    tokens = exchange(application, code, verifier, secret=None).json()
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
    assert Client().get("/test-api/whoami/", **bearer).status_code == 200

    admin_action(admin_browser, "clientregistration", "disable", [application.pk])

    assert ClientRegistration.objects.get().disabled is not None
    assert Client().get("/test-api/whoami/", **bearer).status_code == 401
    assert not get_access_token_model().objects.filter(application=application).exists()
    assert (
        not get_refresh_token_model()
        .objects.filter(application=application, revoked__isnull=True)
        .exists()
    )
    refresh = token_request(
        application.client_id,
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        secret=None,
    )
    assert_error(refresh, 401, "invalid_client")
    page = authorize_page(browser, application)
    assert page.status_code == 400
    assert "Location" not in page

    admin_action(admin_browser, "clientregistration", "enable", [application.pk])
    assert authorize_page(browser, application).status_code == 200
    # Its revoked refresh token stays revoked.
    refresh = token_request(
        application.client_id,
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        secret=None,
    )
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"


def test_a_disabled_confidential_client_is_invalid_client_at_the_token_endpoint(
    settings: Any, admin_browser: Client
) -> None:
    registration(settings, "initial_access_token")
    _row, token = issue_initial_access_token(lifetime=timedelta(hours=1))
    created = register({"grant_types": ["client_credentials"], "scope": "read"}, token=token).json()
    data = {"grant_type": "client_credentials", "scope": "read"}
    secret = created["client_secret"]
    assert token_request(created["client_id"], data, secret=secret).status_code == 200
    application = get_application_model().objects.get(client_id=created["client_id"])
    admin_action(admin_browser, "clientregistration", "disable", [application.pk])
    assert_error(token_request(created["client_id"], data, secret=secret), 401, "invalid_client")


def test_manually_created_clients_are_never_refused_by_registration_rules(
    browser: Client,
) -> None:
    from tests.oauth_client import make_application

    application = make_application(client_type="public", redirect_uris=LOOPBACK)
    assert authorize_page(browser, application).status_code == 200


def test_the_admin_lists_registrations_and_filters_by_state(
    settings: Any, admin_browser: Client
) -> None:
    registration(settings, "open", REGISTRATION_REQUIRES_APPROVAL=True)
    waiting = registered(register({**PUBLIC_CLIENT, "client_name": "Waiting one"}))
    url = reverse("admin:bearer_auth_clientregistration_changelist")
    page = admin_browser.get(url)
    assert page.status_code == 200
    assert "Waiting one" in page.content.decode()
    assert "192.0.2.1" in page.content.decode()
    assert "Waiting one" in admin_browser.get(url, {"state": "waiting"}).content.decode()
    assert "Waiting one" not in admin_browser.get(url, {"state": "active"}).content.decode()
    detail = admin_browser.get(
        reverse("admin:bearer_auth_clientregistration_change", args=[waiting.pk])
    )
    assert detail.status_code == 200
    assert LOOPBACK in detail.content.decode()
    assert "waiting for approval" in detail.content.decode()


def test_the_admin_actions_need_the_change_permission(settings: Any, user: Any) -> None:
    from django.contrib.auth.models import Permission

    registration(settings, "open", REGISTRATION_REQUIRES_APPROVAL=True)
    application = registered(register())
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_clientregistration"))
    client = Client()
    client.force_login(user)
    response = client.post(
        reverse("admin:bearer_auth_clientregistration_changelist"),
        {"action": "approve", "_selected_action": [str(application.pk)]},
    )
    assert response.status_code == 403
    assert ClientRegistration.objects.get().approved is None


def test_initial_access_tokens_are_listed_never_shown_and_revocable(
    settings: Any, admin_browser: Client
) -> None:
    registration(settings, "initial_access_token")
    row, token = issue_initial_access_token(label="for CI", lifetime=timedelta(hours=1))
    page = admin_browser.get(reverse("admin:bearer_auth_initialaccesstoken_changelist"))
    assert "for CI" in page.content.decode()
    assert token not in page.content.decode()
    assert row.token_checksum not in page.content.decode()

    admin_action(admin_browser, "initialaccesstoken", "revoke", [row.pk])
    row.refresh_from_db()
    assert row.revoked is not None
    assert_error(register(token=token), 401, "invalid_token")


def test_the_mcp_sdk_s_registration_is_accepted_and_its_answer_parses(settings: Any) -> None:
    auth = pytest.importorskip("mcp.shared.auth")
    registration(settings, "open")
    sent = auth.OAuthClientMetadata(
        redirect_uris=["http://localhost:3030/callback"],
        client_name="An MCP client",
        scope="notes:read notes:write",
    ).model_dump(by_alias=True, mode="json", exclude_none=True)

    response = register(sent)

    registered(response)
    information = auth.OAuthClientInformationFull.model_validate(response.json())
    assert information.token_endpoint_auth_method == "none"
    assert information.client_secret is None
    assert information.scope == "notes:read notes:write"


def test_the_applications_page_filters_registered_clients(
    settings: Any, admin_browser: Client
) -> None:
    from tests.oauth_client import make_application

    registration(settings, "open")
    registered(register({**PUBLIC_CLIENT, "client_name": "Self-registered"}))
    make_application(name="Made by hand")
    url = reverse("admin:oauth2_provider_application_changelist")
    page = admin_browser.get(url, {"registration_source__exact": "dcr"}).content.decode()
    assert "Self-registered" in page
    assert "Made by hand" not in page


# DPoP (RFC 9449 §5.2): dpop_bound_access_tokens


def _read(created: dict[str, Any]) -> Any:
    return Client().get(
        created["registration_client_uri"],
        HTTP_AUTHORIZATION=f"Bearer {created['registration_access_token']}",
    )


def test_a_client_registers_as_dpop_bound(settings: Any) -> None:
    registration(settings, "open")
    response = register({**PUBLIC_CLIENT, "dpop_bound_access_tokens": True})

    application = registered(response)
    created = response.json()
    assert created["dpop_bound_access_tokens"] is True
    assert ApplicationPolicy.objects.get(application=application).dpop_bound_access_tokens is True
    assert ClientRegistration.objects.get().metadata["dpop_bound_access_tokens"] is True
    assert _read(created).json() == created


@pytest.mark.parametrize(
    "sent", [{"dpop_bound_access_tokens": False}, {}, {"dpop_bound_access_tokens": None}]
)
def test_a_client_that_does_not_ask_for_dpop_is_not_bound(
    settings: Any, sent: dict[str, Any]
) -> None:
    registration(settings, "open")
    response = register({**PUBLIC_CLIENT, **sent})

    application = registered(response)
    # Omitted means false (RFC 9449 §5.2): the answer leaves it out like other defaults.
    assert "dpop_bound_access_tokens" not in response.json()
    assert ApplicationPolicy.objects.get(application=application).dpop_bound_access_tokens is False


@pytest.mark.parametrize("value", ["true", 1, 0, "yes", [], {}])
def test_dpop_bound_access_tokens_must_be_a_boolean(settings: Any, value: Any) -> None:
    registration(settings, "open")
    body = assert_error(
        register({**PUBLIC_CLIENT, "dpop_bound_access_tokens": value}),
        400,
        "invalid_client_metadata",
    )
    assert "dpop_bound_access_tokens" in body["error_description"]
    assert not get_application_model().objects.exists()


def test_a_dpop_bound_client_is_refused_while_the_server_has_dpop_off(settings: Any) -> None:
    registration(settings, "open", DPOP_SIGNING_ALGORITHMS=[])
    # Its token requests could never carry an accepted proof: refused, not silently dropped.
    assert_error(
        register({**PUBLIC_CLIENT, "dpop_bound_access_tokens": True}),
        400,
        "invalid_client_metadata",
    )
    assert not get_application_model().objects.exists()
    registered(register({**PUBLIC_CLIENT, "dpop_bound_access_tokens": False}))


def test_an_update_sets_and_clears_dpop_bound_access_tokens(settings: Any) -> None:
    registration(settings, "open")
    created = register().json()
    application = get_application_model().objects.get(client_id=created["client_id"])
    metadata = {**PUBLIC_CLIENT, "client_id": created["client_id"]}

    bound = put(created, {**metadata, "dpop_bound_access_tokens": True})
    assert bound.status_code == 200, bound.content
    assert bound.json()["dpop_bound_access_tokens"] is True
    assert ApplicationPolicy.objects.get(application=application).dpop_bound_access_tokens is True
    assert _read(created).json()["dpop_bound_access_tokens"] is True

    assert_error(
        put(created, {**metadata, "dpop_bound_access_tokens": "false"}),
        400,
        "invalid_client_metadata",
    )
    assert ApplicationPolicy.objects.get(application=application).dpop_bound_access_tokens is True

    # An update carries the full metadata: left out, it takes its default (false).
    cleared = put(created, metadata)
    assert cleared.status_code == 200, cleared.content
    assert "dpop_bound_access_tokens" not in cleared.json()
    assert ApplicationPolicy.objects.get(application=application).dpop_bound_access_tokens is False
