"""``bearer_auth.ninja``: Django Ninja's auth classes, their answers and their OpenAPI document.

The rejection matrix (forged tokens, malformed headers, revocation...) runs
over every adapter in ``tests/test_authentication.py``; this module tests
what is Ninja's own: ``request.user``/``request.auth``, the scopes of an
operation, chaining with Ninja's other auth callables, answers byte-identical
to the DRF view's, the OpenAPI security requirements, the async class's
event-loop behaviour and :func:`~bearer_auth.ninja.add_error_handlers`.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import ninja
import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from ninja.security import APIKeyHeader, django_auth

from bearer_auth.authentication import BearerToken, database_user
from bearer_auth.core import BearerTokenAuthenticator
from bearer_auth.ninja import AsyncBearerAuth, BearerAuth, NinjaAPI, add_error_handlers
from tests.dpop_support import ProofKey
from tests.factories import ApplicationFactory
from tests.first_party import TOKEN_URL
from tests.issuing import claims_of, issue_access_token
from tests.ninja_views import async_api, sync_api
from tests.security.probes import BARE_CHALLENGE, RESOURCE_METADATA
from tests.test_dpop_resource import mint
from tests.views import OTHER_RESOURCE, _describe

pytestmark = pytest.mark.django_db

DRF = "/test-api/"
NINJA = ["/test-ninja/", "/test-ninja-async/"]
PREFIXES = [DRF, *NINJA]
API_KEY = "the-api-key"
OTHER_METADATA = 'resource_metadata="https://issuer.test/.well-known/oauth-protected-resource/mcp"'


@pytest.fixture(params=NINJA)
def prefix(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["strict", "stateless"])
def mode(request: pytest.FixtureRequest, settings: Any) -> str:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFY_MODE": request.param}
    return str(request.param)


@pytest.fixture
def other_resource(settings: Any) -> None:
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "RESOURCES": {OTHER_RESOURCE: {"name": "Notes (MCP)", "scopes": ["notes:read"]}},
    }


def call(url: str, token: str | None = None, method: str = "get", **extra: Any) -> Any:
    if token is not None:
        extra.setdefault("HTTP_AUTHORIZATION", f"Bearer {token}")
    return getattr(Client(), method)(url, **extra)


def answer(response: Any) -> tuple[int, str | None, str | None, str | None, bytes]:
    """Everything a client reads of a refusal: status, headers, body bytes."""
    return (
        response.status_code,
        response.get("WWW-Authenticate"),
        response.get("Content-Type"),
        response.get("Retry-After"),
        response.content,
    )


# A Ninja API of this module: chained callables, recording authenticators, a plain NinjaAPI.


class KeyAuth(APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request: Any, key: str | None) -> str | None:
        return "api-key" if key == API_KEY else None


#: What the recording authenticators saw: (step, thread id, whether an event loop ran there).
SEEN: list[tuple[str, int, bool]] = []


def running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def record(step: str) -> None:
    SEEN.append((step, threading.get_ident(), running_loop()))


class RecordingAuthenticator(BearerTokenAuthenticator):
    def get_validated_token(self, raw_token: str) -> dict[str, Any]:
        record("get_validated_token")
        return super().get_validated_token(raw_token)


class StatelessRecording(RecordingAuthenticator):
    verify_mode = "stateless"


class StrictRecording(RecordingAuthenticator):
    verify_mode = "strict"


chained_api = NinjaAPI(urls_namespace="test-ninja-chained")


def describe_auth(request: Any) -> dict[str, Any]:
    auth = request.auth
    return {"auth": auth if isinstance(auth, str) else type(auth).__name__}


@chained_api.get("bearer-or-key/", auth=[BearerAuth(), KeyAuth()])
def bearer_or_key(request: Any) -> dict[str, Any]:
    return describe_auth(request)


@chained_api.get("key-or-bearer/", auth=[KeyAuth(), BearerAuth(["notes:read"])])
def key_or_bearer(request: Any) -> dict[str, Any]:
    return describe_auth(request)


@chained_api.get("two-resources/", auth=[BearerAuth(resource=OTHER_RESOURCE), AsyncBearerAuth()])
def two_resources(request: Any) -> dict[str, Any]:
    return describe_auth(request)


@chained_api.get("sync-operation/", auth=AsyncBearerAuth(["notes:read"]))
def sync_operation(request: Any) -> dict[str, Any]:
    return _describe(request)


@chained_api.get("async-operation/", auth=BearerAuth(["notes:read"]))
async def async_operation(request: Any) -> dict[str, Any]:
    return _describe(request)


@chained_api.get("key-only/", auth=KeyAuth())
def key_only(request: Any) -> dict[str, Any]:
    return describe_auth(request)


@chained_api.get("mixed/", auth=[BearerAuth(["profile"]), AsyncBearerAuth(), django_auth])
def mixed(request: Any) -> dict[str, Any]:
    return describe_auth(request)


@chained_api.get("stateless/", auth=AsyncBearerAuth(authentication_class=StatelessRecording))
async def stateless(request: Any) -> dict[str, Any]:
    record("view")
    return {"user": request.user.username}


@chained_api.get("strict/", auth=AsyncBearerAuth(authentication_class=StrictRecording))
async def strict(request: Any) -> dict[str, Any]:
    record("view")
    return {"user": str(request.user.pk)}


plain_api = ninja.NinjaAPI(urls_namespace="test-ninja-plain", auth=BearerAuth())
add_error_handlers(plain_api)


@plain_api.get("database-user/")
def plain_database_user(request: Any) -> dict[str, Any]:
    return {"user": str(database_user(request).pk)}


unhandled_api = ninja.NinjaAPI(urls_namespace="test-ninja-unhandled", auth=BearerAuth())


@unhandled_api.get("whoami/")
def unhandled_whoami(request: Any) -> dict[str, Any]:
    return {}


urlpatterns = [
    path("chained/", chained_api.urls),
    path("plain/", plain_api.urls),
    path("unhandled/", unhandled_api.urls),
    path("", include("tests.urls")),
]
this_module = pytest.mark.urls(__name__)


# Success: request.user and request.auth.


def test_the_sync_class_sets_request_user_and_returns_the_token(user: Any) -> None:
    token = issue_access_token(user, scope="read notes:read")
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    request.user = AnonymousUser()
    bearer = BearerAuth(["notes:read"])(request)
    assert isinstance(bearer, BearerToken)
    assert bearer.jti == claims_of(token)["jti"]
    assert request.user == user


def test_the_async_class_sets_request_user_and_returns_the_token(user: Any) -> None:
    token = issue_access_token(user, scope="read notes:read")
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    request.user = AnonymousUser()
    auth = AsyncBearerAuth(["notes:read"])
    assert auth.is_async
    bearer = async_to_sync(auth.__call__)(request)
    assert isinstance(bearer, BearerToken)
    assert bearer.jti == claims_of(token)["jti"]
    assert request.user == user


@pytest.mark.parametrize("auth_class", [BearerAuth, AsyncBearerAuth])
def test_without_a_bearer_header_the_class_passes(auth_class: Any) -> None:
    request = RequestFactory().get("/", HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    request.user = AnonymousUser()
    auth = auth_class()
    result = async_to_sync(auth.__call__)(request) if auth.is_async else auth(request)
    assert result is None
    assert isinstance(request.user, AnonymousUser)


def test_the_operation_sees_the_user_and_the_token(prefix: str, mode: str, user: Any) -> None:
    token = issue_access_token(user, scope="read notes:read")
    response = call(prefix + "whoami/", token)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body == call(DRF + "whoami/", token).json()
    assert body["scopes"] == ["notes:read", "read"]
    assert body["jti"] == claims_of(token)["jti"]
    assert body["user"] == (str(user.pk) if mode == "strict" else claims_of(token)["sub"])


def test_scopes_must_be_a_list_not_a_string() -> None:
    with pytest.raises(TypeError, match="not the string 'notes:read'"):
        BearerAuth("notes:read")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        AsyncBearerAuth("notes:read")  # type: ignore[arg-type]


# Scopes per operation.


def test_an_operation_with_every_scope_answers(prefix: str, mode: str, user: Any) -> None:
    token = issue_access_token(user, scope="notes:read profile")
    response = call(prefix + "scoped/", token)
    assert response.status_code == 200, response.content
    assert response.json()["scopes"] == ["notes:read", "profile"]


@pytest.mark.parametrize(
    ("path", "method", "granted", "required"),
    [
        ("scoped/", "get", "notes:read", "notes:read profile"),
        ("scoped/", "get", "profile", "notes:read profile"),
        ("read-write/", "get", "notes:write", "notes:read"),
        ("read-write/", "post", "notes:read", "notes:write"),
    ],
)
def test_a_missing_scope_is_403_insufficient_scope(
    prefix: str, mode: str, user: Any, path: str, method: str, granted: str, required: str
) -> None:
    token = issue_access_token(user, scope=granted)
    response = call(prefix + path, token, method)
    assert response.status_code == 403, response.content
    assert response.json()["error"] == "insufficient_scope"
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="api", error="insufficient_scope"')
    assert f'scope="{required}"' in challenge
    assert challenge.endswith(RESOURCE_METADATA)
    assert answer(response) == answer(call(DRF + path, token, method))


def test_read_write_answers_each_method_with_its_scope(prefix: str, user: Any) -> None:
    reader = issue_access_token(user, scope="notes:read")
    writer = issue_access_token(user, scope="notes:write")
    assert call(prefix + "read-write/", reader).status_code == 200
    response = call(prefix + "read-write/", writer, "post")
    assert response.status_code == 201, response.content
    assert response.json() == call(DRF + "read-write/", writer, "post").json()


def test_the_other_resource_accepts_its_tokens_only(
    prefix: str, user: Any, other_resource: None
) -> None:
    theirs = issue_access_token(user, scope="notes:read", resource=OTHER_RESOURCE)
    ours = issue_access_token(user, scope="notes:read")
    assert call(prefix + "other-resource/", theirs).status_code == 200
    refused = call(prefix + "other-resource/", ours)
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"].endswith(OTHER_METADATA)
    assert answer(refused) == answer(call(DRF + "other-resource/", ours))
    unscoped = issue_access_token(user, scope="read", resource=OTHER_RESOURCE)
    response = call(prefix + "other-resource/", unscoped)
    assert response.status_code == 403
    assert response["WWW-Authenticate"].endswith(OTHER_METADATA)
    assert answer(response) == answer(call(DRF + "other-resource/", unscoped))


def test_a_scope_refusal_of_a_dpop_request_is_a_dpop_challenge(
    prefix: str, mode: str, user: Any, password: str
) -> None:
    key = ProofKey("ES256")
    bound = mint(user, password, key.proof("POST", TOKEN_URL))["access_token"]

    def dpop_call(url: str) -> Any:
        return call(
            url,
            HTTP_AUTHORIZATION=f"DPoP {bound}",
            HTTP_DPOP=key.proof("GET", url, access_token=bound),
        )

    assert dpop_call(prefix + "whoami/").status_code == 200
    response = dpop_call(prefix + "scoped/")
    assert response.status_code == 403, response.content
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('DPoP realm="api", algs="ES256 ES384 EdDSA RS256 PS256"')
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="notes:read profile"' in challenge
    assert "Bearer" not in challenge
    assert answer(response) == answer(dpop_call(DRF + "scoped/"))


# The answers are the DRF view's, byte for byte.


def test_no_credentials_is_the_drf_401(prefix: str) -> None:
    response = call(prefix + "whoami/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BARE_CHALLENGE
    assert response.content == b'{"detail":"Authentication credentials were not provided."}'
    assert answer(response) == answer(call(DRF + "whoami/"))


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-jwt", "Bearer ", "Bearer a b", "Basic dXNlcjpwYXNz", "Bearer x.y.z"],
)
def test_refusals_are_the_drf_views(prefix: str, header: str) -> None:
    response = call(prefix + "whoami/", HTTP_AUTHORIZATION=header)
    assert answer(response) == answer(call(DRF + "whoami/", HTTP_AUTHORIZATION=header))
    assert response.status_code in (400, 401)


def test_a_refusal_in_another_language_is_the_drf_views(prefix: str) -> None:
    response = call(
        prefix + "whoami/", HTTP_AUTHORIZATION="Bearer x.y.z", HTTP_ACCEPT_LANGUAGE="fr"
    )
    drf = call(DRF + "whoami/", HTTP_AUTHORIZATION="Bearer x.y.z", HTTP_ACCEPT_LANGUAGE="fr")
    assert answer(response) == answer(drf)


def test_a_client_credentials_token_is_the_drf_403(prefix: str) -> None:
    application = ApplicationFactory(authorization_grant_type="client-credentials")
    token = issue_access_token(None, application=application)
    response = call(prefix + "whoami/", token)
    assert response.status_code == 403
    assert answer(response) == answer(call(DRF + "whoami/", token))


# Chaining with Ninja's other auth callables.


@this_module
@pytest.mark.parametrize("path", ["bearer-or-key/", "key-or-bearer/"])
def test_a_request_without_any_credentials_gets_the_bearer_challenge(path: str) -> None:
    response = call("/chained/" + path)
    assert answer(response) == answer(call(DRF + "whoami/"))


@this_module
@pytest.mark.parametrize("path", ["bearer-or-key/", "key-or-bearer/"])
def test_the_other_callable_authenticates_what_is_not_a_bearer_token(path: str) -> None:
    response = call("/chained/" + path, HTTP_X_API_KEY=API_KEY)
    assert response.status_code == 200, response.content
    assert response.json() == {"auth": "api-key"}


@this_module
@pytest.mark.parametrize("path", ["bearer-or-key/", "key-or-bearer/"])
def test_a_bearer_token_authenticates_in_a_chain(path: str, user: Any) -> None:
    token = issue_access_token(user, scope="notes:read")
    response = call("/chained/" + path, token)
    assert response.status_code == 200, response.content
    assert response.json() == {"auth": "BearerToken"}


@this_module
def test_a_refused_bearer_token_is_not_passed_on(user: Any) -> None:
    """As DRF: a bearer token refused is the answer, another credential is not tried."""
    response = call(
        "/chained/bearer-or-key/", HTTP_AUTHORIZATION="Bearer x.y.z", HTTP_X_API_KEY=API_KEY
    )
    assert response.status_code == 401
    assert answer(response) == answer(call(DRF + "whoami/", HTTP_AUTHORIZATION="Bearer x.y.z"))


@this_module
def test_a_missing_scope_in_a_chain_is_403(user: Any) -> None:
    token = issue_access_token(user, scope="read")
    response = call("/chained/key-or-bearer/", token)
    assert response.status_code == 403
    assert 'scope="notes:read"' in response["WWW-Authenticate"]


@this_module
def test_the_first_bearer_callable_gives_the_challenge(other_resource: None) -> None:
    """As DRF's first authentication class gives ``WWW-Authenticate``."""
    response = call("/chained/two-resources/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith(f'Bearer realm="api", {OTHER_METADATA}')
    assert answer(response) == answer(call(DRF + "other-resource/"))


@this_module
def test_an_operation_without_bearer_auth_keeps_ninjas_answer() -> None:
    response = call("/chained/key-only/")
    assert response.status_code == 401
    assert "WWW-Authenticate" not in response
    assert response.json() == {"detail": "Unauthorized"}


@this_module
def test_the_session_still_authenticates_in_a_chain(browser: Client) -> None:
    response = browser.get("/chained/mixed/")
    assert response.status_code == 200, response.content


@this_module
@pytest.mark.parametrize("path", ["sync-operation/", "async-operation/"])
def test_each_class_serves_the_other_kind_of_operation(path: str, user: Any) -> None:
    """Ninja runs an async callable in a sync operation and a sync one in an async operation."""
    reader = issue_access_token(user, scope="notes:read")
    response = call("/chained/" + path, reader)
    assert response.status_code == 200, response.content
    assert response.json() == call(DRF + "read-write/", reader).json()
    other = issue_access_token(user, scope="notes:write")
    refused = call("/chained/" + path, other)
    assert refused.status_code == 403
    assert answer(refused) == answer(call(DRF + "read-write/", other))


# The OpenAPI document.


SCHEME = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


@pytest.mark.parametrize(("api", "prefix_"), [(sync_api, NINJA[0]), (async_api, NINJA[1])])
def test_the_openapi_document_names_each_operations_scopes(api: Any, prefix_: str) -> None:
    schema = api.get_openapi_schema()
    assert schema["components"]["securitySchemes"] == {"BearerAuth": SCHEME}
    paths = schema["paths"]
    assert paths[prefix_ + "whoami/"]["get"]["security"] == [{"BearerAuth": []}]
    assert paths[prefix_ + "scoped/"]["get"]["security"] == [
        {"BearerAuth": ["notes:read", "profile"]}
    ]
    assert paths[prefix_ + "read-write/"]["get"]["security"] == [{"BearerAuth": ["notes:read"]}]
    assert paths[prefix_ + "read-write/"]["post"]["security"] == [{"BearerAuth": ["notes:write"]}]
    assert paths[prefix_ + "other-resource/"]["get"]["security"] == [{"BearerAuth": ["notes:read"]}]


def test_the_openapi_document_is_served_with_the_scopes(prefix: str) -> None:
    response = Client().get(prefix + "openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["paths"][prefix + "scoped/"]["get"]["security"] == [
        {"BearerAuth": ["notes:read", "profile"]}
    ]


@this_module
def test_sync_and_async_classes_share_one_scheme_beside_others() -> None:
    schema = chained_api.get_openapi_schema()
    assert schema["components"]["securitySchemes"] == {
        "BearerAuth": SCHEME,
        "KeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "SessionAuth": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
    }
    assert schema["paths"]["/chained/mixed/"]["get"]["security"] == [
        {"BearerAuth": ["profile"]},
        {"BearerAuth": []},
        {"SessionAuth": []},
    ]
    assert schema["paths"]["/chained/key-or-bearer/"]["get"]["security"] == [
        {"KeyAuth": []},
        {"BearerAuth": ["notes:read"]},
    ]


# The async class on the event loop.


@this_module
def test_stateless_async_checks_the_token_on_the_event_loop(user: Any) -> None:
    token = issue_access_token(user, scope="read")
    assert call("/chained/stateless/", token).status_code == 200  # the signing keys loaded
    SEEN.clear()
    response = call("/chained/stateless/", token)
    assert response.status_code == 200, response.content
    assert len(SEEN) == 2, SEEN
    (step, step_thread, on_loop), (view, view_thread, _) = SEEN
    assert (step, view) == ("get_validated_token", "view")
    assert on_loop, "the token was checked in a thread, not on the event loop"
    assert step_thread == view_thread


@this_module
def test_strict_async_makes_one_query_off_the_event_loop(user: Any) -> None:
    token = issue_access_token(user, scope="read")
    assert call("/chained/strict/", token).status_code == 200
    SEEN.clear()
    with CaptureQueriesContext(connection) as queries:
        response = call("/chained/strict/", token)
    assert response.status_code == 200, response.content
    assert response.json() == {"user": str(user.pk)}
    assert len(queries) == 1, [query["sql"] for query in queries]
    ((step, _thread, on_loop), (view, _view_thread, view_on_loop)) = SEEN
    assert (step, view) == ("get_validated_token", "view")
    assert not on_loop
    assert view_on_loop


# add_error_handlers on Ninja's own NinjaAPI.


@this_module
def test_a_plain_ninja_api_with_the_handlers_answers_as_drf() -> None:
    assert answer(call("/plain/database-user/")) == answer(call(DRF + "whoami/"))
    header = "Bearer x.y.z"
    assert answer(call("/plain/database-user/", HTTP_AUTHORIZATION=header)) == answer(
        call(DRF + "whoami/", HTTP_AUTHORIZATION=header)
    )


@this_module
def test_database_users_permission_denied_is_drfs_403(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFY_MODE": "stateless"}
    application = ApplicationFactory(authorization_grant_type="client-credentials")
    token = issue_access_token(None, application=application)
    response = call("/plain/database-user/", token)
    assert response.status_code == 403
    assert response.content == b'{"detail":"You do not have permission to perform this action."}'
    assert response["Content-Type"] == "application/json"


@this_module
def test_without_the_handlers_a_refusal_is_not_rendered() -> None:
    """What the handlers are for: Ninja alone lets bearer_auth's refusal through as a 500."""
    client = Client(raise_request_exception=False)
    response = client.get("/unhandled/whoami/", HTTP_AUTHORIZATION="Bearer x.y.z")
    assert response.status_code == 500


def test_ninjas_test_client_works_with_the_classes(user: Any) -> None:
    """Projects test their operations with ``ninja.testing``.

    Its mock request copies ``headers`` into ``META`` without upper-casing
    them (``HTTP_Authorization``), where Django's server writes
    ``HTTP_AUTHORIZATION``: the header is named in capitals there.
    """
    from ninja.testing import TestAsyncClient, TestClient

    token = issue_access_token(user, scope="notes:read profile")
    headers = {"AUTHORIZATION": f"Bearer {token}"}
    response = TestClient(sync_api).get("scoped/", headers=headers)
    assert response.status_code == 200, response.content
    assert response.json()["user"] == str(user.pk)
    refused = TestClient(sync_api).get("scoped/")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == BARE_CHALLENGE
    response = async_to_sync(TestAsyncClient(async_api).get)("scoped/", headers=headers)
    assert response.status_code == 200, response.content
