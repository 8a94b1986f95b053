"""bearer_auth.plain: ``bearer_required`` and ``BearerTokenMiddleware`` for plain Django views.

The answers are compared byte for byte with the DRF views of ``tests.views``
(``/test-api/``) for the same token; the generic rejection matrix (forged
tokens, malformed headers, revocation...) runs over every adapter in
``tests/test_authentication.py``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.test import AsyncClient, Client, RequestFactory, override_settings
from django.utils.decorators import method_decorator
from django.views import View
from oauth2_provider.models import get_access_token_model
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.views import APIView

from bearer_auth.core import (
    BearerTokenAuthenticator,
    ClaimsUser,
    adatabase_user,
    database_user,
)
from bearer_auth.exceptions import TokenRevoked
from bearer_auth.jwt import token_checksum
from bearer_auth.plain import BearerTokenMiddleware, bearer_required
from bearer_auth.signals import token_rejected
from tests import plain_views
from tests.dpop_support import ProofKey
from tests.factories import ApplicationFactory
from tests.issuing import claims_of, issue_access_token
from tests.security.probes import BARE_CHALLENGE, RESOURCE_METADATA
from tests.test_dpop_resource import mint
from tests.views import OTHER_RESOURCE

pytestmark = pytest.mark.django_db

DRF = "/test-api/"
SYNC = "/test-plain/"
ASYNC = "/test-plain-async/"
PLAIN = [SYNC, ASYNC]
MIDDLEWARE = "bearer_auth.plain.BearerTokenMiddleware"
AUTHENTICATION = "django.contrib.auth.middleware.AuthenticationMiddleware"
ALGS = 'algs="ES256 ES384 EdDSA RS256 PS256"'
#: The plain path, and the DRF view answering the same.
TWINS = {
    "whoami/": "whoami/",
    "scoped/": "scoped/",
    "read-write/": "read-write/",
    "other-resource/": "other-resource/",
    "class-whoami/": "whoami/",
    "class-read-write/": "read-write/",
}


@pytest.fixture(autouse=True)
def other_resource(settings: Any) -> None:
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "RESOURCES": {OTHER_RESOURCE: {"scopes": ["notes:read", "notes:write"]}},
    }


@pytest.fixture
def with_middleware(settings: Any) -> Iterator[list[str]]:
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(middleware.index(AUTHENTICATION) + 1, MIDDLEWARE)
    with override_settings(MIDDLEWARE=middleware):
        yield middleware


def stateless(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFY_MODE": "stateless"}


def call(
    path: str,
    token: str | None = None,
    *,
    method: str = "get",
    header: str | None = None,
    proof: str | None = None,
    client: Client | None = None,
) -> Any:
    """``path`` through the whole stack: AsyncClient for the async views, Client otherwise."""
    headers = {}
    if header is not None:
        headers["Authorization"] = header
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if proof is not None:
        headers["DPoP"] = proof
    if path.startswith(ASYNC) and client is None:
        return async_to_sync(getattr(AsyncClient(), method))(path, headers=headers)
    return getattr(client or Client(), method)(path, headers=headers)


def answer(response: Any) -> tuple[Any, ...]:
    """What must be equal byte for byte: status, body and the headers a client reads."""
    return (
        response.status_code,
        response.content,
        response.get("Content-Type"),
        response.get("WWW-Authenticate"),
        response.get("Retry-After"),
    )


# The decorator's forms.


def test_the_decorator_keeps_the_view_s_name_and_kind() -> None:
    assert plain_views.whoami.__name__ == "whoami"
    assert plain_views.awhoami.__wrapped__.__name__ == "awhoami"  # type: ignore[attr-defined]
    assert not iscoroutinefunction(plain_views.whoami)
    assert not iscoroutinefunction(plain_views.scoped)
    assert iscoroutinefunction(plain_views.awhoami)
    assert iscoroutinefunction(plain_views.ascoped)
    assert plain_views.ascoped.__doc__ is None


def test_scopes_must_be_a_list_not_a_string() -> None:
    with pytest.raises(TypeError):
        bearer_required(scopes="notes:read")


@pytest.mark.parametrize("prefix", PLAIN)
@pytest.mark.parametrize("path", list(TWINS))
def test_a_valid_token_gets_the_drf_view_s_answer(user: Any, prefix: str, path: str) -> None:
    resource = OTHER_RESOURCE if path == "other-resource/" else None
    token = issue_access_token(user, scope="notes:read profile", resource=resource)
    response = call(prefix + path, token)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "user": str(user.pk),
        "scopes": ["notes:read", "profile"],
        "client_id": claims_of(token)["client_id"],
        "jti": claims_of(token)["jti"],
    }
    assert response.json() == call(DRF + TWINS[path], token).json()


def refusal_cases(user: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    """Name: (plain path, call arguments); one of each kind of refusal a view answers."""
    token = issue_access_token(user, scope="notes:read")
    revoked = issue_access_token(user, scope="notes:read")
    get_access_token_model().objects.filter(token_checksum=token_checksum(revoked)).delete()
    writer = issue_access_token(user, scope="notes:write")
    client = ApplicationFactory(authorization_grant_type="client-credentials")
    return {
        "no header": ("whoami/", {}),
        "another scheme": ("whoami/", {"header": "Basic dXNlcjpwYXNz"}),
        "malformed": ("whoami/", {"header": "Bearer "}),
        "forged": ("whoami/", {"token": token[:-4] + "AAAA"}),
        "revoked": ("whoami/", {"token": revoked}),
        "no user": ("whoami/", {"token": issue_access_token(None, application=client)}),
        "scope": ("scoped/", {"token": token}),
        "write scope": ("read-write/", {"token": token, "method": "post"}),
        "read scope": ("read-write/", {"token": writer}),
        "method": ("read-write/", {"token": writer, "method": "put"}),
        "resource": ("other-resource/", {"token": token}),
        "class scope": ("class-read-write/", {"token": token, "method": "post"}),
    }


CASES = [
    "no header",
    "another scheme",
    "malformed",
    "forged",
    "revoked",
    "no user",
    "scope",
    "write scope",
    "read scope",
    "method",
    "resource",
    "class scope",
]


@pytest.mark.parametrize("prefix", PLAIN)
@pytest.mark.parametrize("case", CASES)
def test_every_kind_of_refusal_is_byte_identical_to_drf_s(
    user: Any, prefix: str, case: str
) -> None:
    path, arguments = refusal_cases(user)[case]
    drf = call(DRF + TWINS[path], **arguments)
    plain = call(prefix + path, **arguments)
    assert plain.status_code in {400, 401, 403, 405}, plain.content
    assert answer(plain) == answer(drf)


@pytest.mark.parametrize("prefix", PLAIN)
def test_missing_scopes_are_named_with_the_resource_metadata(user: Any, prefix: str) -> None:
    token = issue_access_token(user, scope="notes:read")
    response = call(prefix + "scoped/", token)
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="api", error="insufficient_scope"')
    assert 'scope="notes:read profile"' in challenge
    assert challenge.endswith(RESOURCE_METADATA)


@pytest.mark.parametrize("prefix", PLAIN)
def test_without_a_token_the_challenge_is_the_bare_one(prefix: str) -> None:
    response = call(prefix + "scoped/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BARE_CHALLENGE
    assert response.content == b'{"detail":"Authentication credentials were not provided."}'


@pytest.mark.parametrize("prefix", PLAIN)
def test_a_dpop_request_missing_a_scope_gets_a_dpop_challenge(
    user: Any, password: str, prefix: str
) -> None:
    key = ProofKey()
    bound = mint(user, password, key.proof("POST", "/auth/token/"))["access_token"]
    responses = {}
    for where in (DRF, prefix):
        url = where + "scoped/"
        proof = key.proof("GET", url, access_token=bound)
        responses[where] = call(url, header=f"DPoP {bound}", proof=proof)
    plain = responses[prefix]
    assert plain.status_code == 403
    challenge = plain["WWW-Authenticate"]
    assert challenge.startswith(f'DPoP realm="api", {ALGS}, error="insufficient_scope"')
    assert 'scope="notes:read profile"' in challenge
    assert answer(plain) == answer(responses[DRF])


@pytest.mark.parametrize("path", ["read-write/", "class-read-write/", "class-whoami/"])
@pytest.mark.parametrize("prefix", PLAIN)
def test_a_post_with_a_token_needs_no_csrf_token(user: Any, prefix: str, path: str) -> None:
    token = issue_access_token(user, scope="notes:write")
    client = AsyncClient(enforce_csrf_checks=True) if prefix == ASYNC else None
    url = prefix + path
    if client is None:
        response = call(url, token, method="post", client=Client(enforce_csrf_checks=True))
    else:
        response = async_to_sync(client.post)(url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.content
    assert response.json()["jti"] == claims_of(token)["jti"]


def test_login_required_middleware_leaves_the_answer_to_the_view(settings: Any) -> None:
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "django.contrib.auth.middleware.LoginRequiredMiddleware",
    ]
    for prefix in PLAIN:
        response = call(prefix + "whoami/")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == BARE_CHALLENGE


# What the view sees.


def seen(view_kind: str, request: HttpRequest, **decorator: Any) -> tuple[Any, dict[str, Any]]:
    """Call a view decorated here; return its response and what it saw of the request."""
    seen: dict[str, Any] = {}

    if view_kind == "async":

        async def async_view(request: HttpRequest) -> HttpResponse:
            seen.update(user=request.user, auth=request.auth, auser=await request.auser())  # type: ignore[attr-defined]
            seen["thread"] = threading.get_ident()
            return HttpResponse()

        response = async_to_sync(bearer_required(async_view, **decorator))(request)
    else:

        def sync_view(request: HttpRequest) -> HttpResponse:
            seen.update(user=request.user, auth=request.auth)  # type: ignore[attr-defined]
            return HttpResponse()

        response = bearer_required(sync_view, **decorator)(request)
    return response, seen


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_the_view_sees_the_user_the_token_and_auser(user: Any, kind: str) -> None:
    token = issue_access_token(user, scope="notes:read")
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    response, saw = seen(kind, request, scopes=["notes:read"])
    assert response.status_code == 200
    assert saw["user"] == user
    assert saw["auth"].jti == claims_of(token)["jti"]
    assert saw["auth"].scopes == {"notes:read"}
    if kind == "async":
        assert saw["auser"] == user
    assert request.user == user
    assert request.auth is saw["auth"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_view_for_another_authenticator_uses_it(user: Any, kind: str) -> None:
    class NoOneAuthenticator(BearerTokenAuthenticator):
        def get_user(self, row: Any, claims: Any) -> Any:
            raise TokenRevoked

    token = issue_access_token(user)
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    response, saw = seen(kind, request, authentication_class=NoOneAuthenticator)
    assert response.status_code == 401
    assert json.loads(response.content)["error"] == "invalid_token"
    assert saw == {}


def _database_user_views() -> dict[str, Callable[..., Any]]:
    @bearer_required
    def sync_view(request: HttpRequest) -> HttpResponse:
        return JsonResponse({"pk": database_user(request).pk})

    @bearer_required
    async def async_view(request: HttpRequest) -> HttpResponse:
        return JsonResponse({"pk": (await adatabase_user(request)).pk})

    return {"sync": sync_view, "async": async_view}


def _run(view: Callable[..., Any], request: HttpRequest) -> HttpResponseBase:
    """Call ``view`` as Django's handler does: an async one in an event loop."""
    if iscoroutinefunction(view):
        return async_to_sync(view)(request)  # type: ignore[no-any-return]
    return view(request)  # type: ignore[no-any-return]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_drf_refusal_raised_in_the_view_is_answered_as_drf_answers_it(
    settings: Any, user: Any, kind: str
) -> None:
    stateless(settings)
    view = _database_user_views()[kind]
    client = ApplicationFactory(authorization_grant_type="client-credentials")
    machine = issue_access_token(None, application=client)
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {machine}")
    response = _run(view, request)
    # A client-credentials token names a client: DRF's PermissionDenied.
    assert response.status_code == 403
    assert response.content == b'{"detail":"You do not have permission to perform this action."}'

    token = issue_access_token(user)
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert json.loads(_run(view, request).content) == {"pk": user.pk}
    user.is_active = False
    user.save()
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    refused = _run(view, request)
    assert refused.status_code == 401
    assert json.loads(refused.content)["error"] == "invalid_token"
    assert refused["WWW-Authenticate"].startswith('Bearer realm="api", error="invalid_token"')


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_method_decorator_on_a_class_based_view(user: Any, kind: str) -> None:
    if kind == "async":

        class AsyncNotes(View):
            async def get(self, request: HttpRequest) -> HttpResponse:
                return HttpResponse(str(request.auth.jti))  # type: ignore[attr-defined]

        view = method_decorator(bearer_required(scopes=["notes:read"]), name="get")(AsyncNotes)
    else:

        class Notes(View):
            def get(self, request: HttpRequest) -> HttpResponse:
                return HttpResponse(str(request.auth.jti))  # type: ignore[attr-defined]

        view = method_decorator(bearer_required(scopes=["notes:read"]), name="get")(Notes)
    as_view = view.as_view()
    assert iscoroutinefunction(as_view) == (kind == "async")
    token = issue_access_token(user, scope="notes:read")
    ok = _run(as_view, RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}"))
    assert ok.status_code == 200
    assert ok.content == claims_of(token)["jti"].encode()
    refused = _run(as_view, RequestFactory().get("/"))
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == BARE_CHALLENGE


# Async views do not block the event loop.


class RecordingAuthenticator(BearerTokenAuthenticator):
    """Records the thread each step of the check ran in."""

    threads: list[tuple[str, int]] = []

    def get_stateless_user(self, claims: dict[str, Any]) -> Any:
        self.threads.append(("stateless user", threading.get_ident()))
        return super().get_stateless_user(claims)

    def get_token_row(self, raw_token: str, *, opaque: bool) -> Any:
        self.threads.append(("row", threading.get_ident()))
        return super().get_token_row(raw_token, opaque=opaque)


@pytest.fixture
def recorded() -> list[tuple[str, int]]:
    RecordingAuthenticator.threads = []
    return RecordingAuthenticator.threads


def test_an_async_view_in_stateless_mode_checks_the_token_on_the_loop(
    settings: Any, user: Any, recorded: list[tuple[str, int]]
) -> None:
    stateless(settings)
    token = issue_access_token(user)
    BearerTokenAuthenticator().authenticate(  # the keys, loaded once per process
        RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    )
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    response, saw = seen("async", request, authentication_class=RecordingAuthenticator)
    assert response.status_code == 200
    assert isinstance(saw["user"], ClaimsUser)
    assert recorded == [("stateless user", saw["thread"])]


def test_an_async_view_in_strict_mode_makes_one_query_off_the_loop(
    user: Any, recorded: list[tuple[str, int]], django_assert_num_queries: Any
) -> None:
    token = issue_access_token(user)
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    with django_assert_num_queries(1):
        response, saw = seen("async", request, authentication_class=RecordingAuthenticator)
    assert response.status_code == 200
    assert saw["user"] == user
    ((step, thread),) = recorded
    assert step == "row"
    assert thread != saw["thread"]


def test_the_async_stack_answers_in_one_query(
    user: Any, with_middleware: list[str], django_assert_num_queries: Any
) -> None:
    token = issue_access_token(user)
    for path in (ASYNC + "whoami/", ASYNC + "request/"):
        with django_assert_num_queries(1):
            response = call(path, token)
        assert response.status_code == 200
        assert response.json()["user"] == str(user.pk)


# The middleware.


def test_the_middleware_is_sync_and_async_capable() -> None:
    def sync_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    async def async_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    assert BearerTokenMiddleware.sync_capable
    assert BearerTokenMiddleware.async_capable
    assert not iscoroutinefunction(BearerTokenMiddleware(sync_view))
    assert iscoroutinefunction(BearerTokenMiddleware(async_view))


def through_middleware(kind: str, request: HttpRequest) -> dict[str, Any]:
    """Run ``request`` through the middleware alone; what the next handler saw of it."""
    seen: dict[str, Any] = {}

    if kind == "async":

        async def async_next(request: HttpRequest) -> HttpResponse:
            seen.update(plain_views.describe_request(request))
            seen["auser"] = await request.auser()
            return HttpResponse()

        async_to_sync(BearerTokenMiddleware(async_next))(request)
    else:

        def sync_next(request: HttpRequest) -> HttpResponse:
            seen.update(plain_views.describe_request(request))
            seen["auser"] = async_to_sync(request.auser)()
            return HttpResponse()

        BearerTokenMiddleware(sync_next)(request)
    return seen


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_the_middleware_sets_the_token_s_user(user: Any, kind: str) -> None:
    token = issue_access_token(user)
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    saw = through_middleware(kind, request)
    assert saw == {
        "user": str(user.pk),
        "authenticated": True,
        "auth": claims_of(token)["jti"],
        "auser": user,
    }


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_refused_token_leaves_the_request_anonymous_and_the_answer_to_the_view(
    user: Any, kind: str
) -> None:
    token = issue_access_token(user)
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token[:-4]}AAAA")
    request.user = user  # as a session would have set it
    saw = through_middleware(kind, request)
    assert saw == {"user": None, "authenticated": False, "auth": None, "auser": AnonymousUser()}


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("header", [None, "Basic dXNlcjpwYXNz", "Token abc"])
def test_a_request_without_a_bearer_token_is_left_alone(
    user: Any, kind: str, header: str | None
) -> None:
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    request = RequestFactory().get("/", **extra)
    request.user = user

    async def session_user() -> Any:
        return user

    request.auser = session_user
    saw = through_middleware(kind, request)
    assert saw == {"user": str(user.pk), "authenticated": True, "auth": "unset", "auser": user}


@pytest.mark.parametrize("prefix", PLAIN)
def test_the_middleware_in_the_stack(
    user: Any, browser: Client, with_middleware: list[str], prefix: str
) -> None:
    token = issue_access_token(user)
    url = prefix + "request/"
    assert call(url, token).json() == {
        "user": str(user.pk),
        "authenticated": True,
        "auth": claims_of(token)["jti"],
    }
    refused = call(url, token[:-4] + "AAAA")
    assert refused.status_code == 200  # the middleware answers nothing itself
    assert refused.json() == {"user": None, "authenticated": False, "auth": None}
    # A session's request: AuthenticationMiddleware's user, untouched.
    session = browser.get(SYNC + "request/") if prefix == SYNC else browser.get(url)
    assert session.json() == {"user": str(user.pk), "authenticated": True, "auth": "unset"}


@pytest.mark.parametrize("path", [SYNC + "whoami/", ASYNC + "whoami/", DRF + "whoami/"])
def test_middleware_and_view_check_a_token_once(
    user: Any, with_middleware: list[str], path: str, django_assert_num_queries: Any
) -> None:
    token = issue_access_token(user)
    with django_assert_num_queries(1):
        response = call(path, token)
    assert response.status_code == 200, response.content
    assert response.json()["user"] == str(user.pk)


@pytest.mark.parametrize("path", [SYNC + "scoped/", ASYNC + "scoped/", DRF + "scoped/"])
def test_a_refusal_is_checked_once_and_answered_by_the_view(
    user: Any, settings: Any, with_middleware: list[str], path: str
) -> None:
    token = issue_access_token(user)
    received: list[str] = []

    def receiver(reason: str, **kwargs: Any) -> None:
        received.append(reason)

    forged = token[:-4] + "AAAA"
    with override_settings(MIDDLEWARE=[m for m in with_middleware if m != MIDDLEWARE]):
        without = call(path, forged)
    token_rejected.connect(receiver)
    try:
        response = call(path, forged)
    finally:
        token_rejected.disconnect(receiver)
    assert received == ["InvalidToken"]
    assert response.status_code == 401
    assert answer(response) == answer(without)


@pytest.mark.parametrize("path", [SYNC + "whoami/", ASYNC + "whoami/", DRF + "whoami/"])
def test_a_dpop_proof_is_spent_once_by_middleware_and_view(
    user: Any, password: str, with_middleware: list[str], path: str
) -> None:
    key = ProofKey()
    bound = mint(user, password, key.proof("POST", "/auth/token/"))["access_token"]
    proof = key.proof("GET", path, access_token=bound)
    response = call(path, header=f"DPoP {bound}", proof=proof)
    assert response.status_code == 200, response.content
    assert response.json()["user"] == str(user.pk)
    # The same proof again is a replay, refused.
    replayed = call(path, header=f"DPoP {bound}", proof=proof)
    assert replayed.status_code == 401
    assert replayed.json()["error"] == "invalid_dpop_proof"


def test_another_resource_s_view_checks_its_own_audience(
    user: Any, with_middleware: list[str]
) -> None:
    token = issue_access_token(user, scope="notes:read", resource=OTHER_RESOURCE)
    for prefix in PLAIN:
        # The middleware refuses it (not the default resource); the view accepts it.
        assert call(prefix + "request/", token).json()["auth"] is None
        assert call(prefix + "other-resource/", token).status_code == 200


def test_registration_management_keeps_working_with_the_middleware(
    settings: Any, with_middleware: list[str]
) -> None:
    from tests.test_client_registration import register, registration

    registration(settings, "open")
    created = register().json()
    headers = {"Authorization": f"Bearer {created['registration_access_token']}"}
    uri = created["registration_client_uri"]
    read = Client().get(uri, headers=headers)
    assert read.status_code == 200, read.content
    assert read.json() == created
    assert Client().delete(uri, headers=headers).status_code == 204
    assert Client().get(uri, headers=headers).status_code == 401


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_an_authentication_failure_raised_in_the_view_gets_drf_s_bare_challenge(
    user: Any, kind: str
) -> None:
    class Refusing(APIView):
        def get(self, request: Any) -> Any:
            raise AuthenticationFailed

    if kind == "async":

        @bearer_required
        async def view(request: HttpRequest) -> HttpResponse:
            raise AuthenticationFailed

    else:

        @bearer_required
        def view(request: HttpRequest) -> HttpResponse:
            raise AuthenticationFailed

    token = issue_access_token(user)
    drf = Refusing.as_view()(RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}"))
    drf.render()
    plain = _run(view, RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}"))
    assert plain.status_code == 401
    assert plain["WWW-Authenticate"] == BARE_CHALLENGE
    assert answer(plain) == answer(drf)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_subclass_of_the_middleware_checks_with_its_own_authenticator(
    user: Any, kind: str
) -> None:
    class OtherResourceMiddleware(BearerTokenMiddleware):
        authentication_class = BearerTokenAuthenticator.for_resource(OTHER_RESOURCE)

    token = issue_access_token(user, resource=OTHER_RESOURCE)
    seen: dict[str, Any] = {}

    def sync_next(request: HttpRequest) -> HttpResponse:
        seen.update(plain_views.describe_request(request))
        return HttpResponse()

    async def async_next(request: HttpRequest) -> HttpResponse:
        return sync_next(request)

    for middleware in (BearerTokenMiddleware, OtherResourceMiddleware):
        request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
        if kind == "async":
            async_to_sync(middleware(async_next))(request)
        else:
            middleware(sync_next)(request)
        expected = claims_of(token)["jti"] if middleware is OtherResourceMiddleware else None
        assert seen["auth"] == expected
