"""Plain Django views protected by ``bearer_auth.plain``: the DRF test views' twins.

``sync_urls`` (mounted at ``/test-plain/``) and ``async_urls``
(``/test-plain-async/``) answer exactly what ``tests.views`` answers at
``/test-api/``: ``whoami/``, ``scoped/``, ``read-write/`` and
``other-resource/``. ``class-whoami/`` and ``class-read-write/`` are
class-based views decorated with ``method_decorator`` (on ``dispatch``, and
on ``get`` and ``post`` with ``csrf_exempt`` on ``dispatch``); ``request/``
describes the request as ``BearerTokenMiddleware`` left it, with no
decorator.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import MethodNotAllowed

from bearer_auth.plain import bearer_required
from tests.views import OTHER_RESOURCE, _describe

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _answer(request: HttpRequest, status: int = 200) -> JsonResponse:
    return JsonResponse(_describe(request), status=status)  # type: ignore[arg-type]


def describe_request(request: HttpRequest, user: Any = None) -> dict[str, Any]:
    """What a view sees of the request: its user (``request.user``), and the token if any."""
    user = request.user if user is None else user
    auth = getattr(request, "auth", "unset")
    return {
        "user": str(user.pk) if user.is_authenticated else None,
        "authenticated": user.is_authenticated,
        "auth": auth if auth in (None, "unset") else auth.jti,
    }


# Sync views.


@bearer_required
def whoami(request: HttpRequest) -> HttpResponse:
    return _answer(request)


@bearer_required(scopes=["notes:read", "profile"])
def scoped(request: HttpRequest) -> HttpResponse:
    return _answer(request)


@bearer_required(scopes=["notes:read"])
def _read(request: HttpRequest) -> HttpResponse:
    return _answer(request)


@bearer_required(scopes=["notes:write"])
def _write(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        raise MethodNotAllowed(str(request.method))  # DRF's answer
    return _answer(request, 201)


@csrf_exempt
def read_write(request: HttpRequest) -> HttpResponse:
    """GET needs ``notes:read``, POST ``notes:write`` (as ``HasReadWriteScope``)."""
    return _read(request) if request.method in SAFE_METHODS else _write(request)


@bearer_required(scopes=["notes:read"], resource=OTHER_RESOURCE)
def other_resource(request: HttpRequest) -> HttpResponse:
    return _answer(request)


@method_decorator(bearer_required, name="dispatch")
class ClassWhoAmI(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return _answer(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        return _answer(request, 201)


@method_decorator(bearer_required(scopes=["notes:read"]), name="get")
@method_decorator(bearer_required(scopes=["notes:write"]), name="post")
@method_decorator(csrf_exempt, name="dispatch")
class ClassReadWrite(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return _answer(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        return _answer(request, 201)


def request_view(request: HttpRequest) -> HttpResponse:
    return JsonResponse(describe_request(request))


# Async views.


@bearer_required
async def awhoami(request: HttpRequest) -> HttpResponse:
    return _answer(request)


@bearer_required(scopes=["notes:read", "profile"])
async def ascoped(request: HttpRequest) -> HttpResponse:
    return _answer(request)


@bearer_required(scopes=["notes:read"])
async def _aread(request: HttpRequest) -> HttpResponse:
    return _answer(request)


@bearer_required(scopes=["notes:write"])
async def _awrite(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        raise MethodNotAllowed(str(request.method))  # DRF's answer
    return _answer(request, 201)


@csrf_exempt
async def aread_write(request: HttpRequest) -> HttpResponse:
    return await (_aread(request) if request.method in SAFE_METHODS else _awrite(request))


@bearer_required(scopes=["notes:read"], resource=OTHER_RESOURCE)
async def aother_resource(request: HttpRequest) -> HttpResponse:
    return _answer(request)


@method_decorator(bearer_required, name="dispatch")
class AsyncClassWhoAmI(View):
    async def get(self, request: HttpRequest) -> HttpResponse:
        return _answer(request)

    async def post(self, request: HttpRequest) -> HttpResponse:
        return _answer(request, 201)


@method_decorator(bearer_required(scopes=["notes:read"]), name="get")
@method_decorator(bearer_required(scopes=["notes:write"]), name="post")
@method_decorator(csrf_exempt, name="dispatch")
class AsyncClassReadWrite(View):
    async def get(self, request: HttpRequest) -> HttpResponse:
        return _answer(request)

    async def post(self, request: HttpRequest) -> HttpResponse:
        return _answer(request, 201)


async def arequest_view(request: HttpRequest) -> HttpResponse:
    """An async view reads the user with ``auser()`` (a session's is read from the database)."""
    return JsonResponse(describe_request(request, await request.auser()))


sync_urls: list[URLPattern] = [
    path("whoami/", whoami),
    path("scoped/", scoped),
    path("read-write/", read_write),
    path("other-resource/", other_resource),
    path("class-whoami/", ClassWhoAmI.as_view()),
    path("class-read-write/", ClassReadWrite.as_view()),
    path("request/", request_view),
]

async_urls: list[URLPattern] = [
    path("whoami/", awhoami),
    path("scoped/", ascoped),
    path("read-write/", aread_write),
    path("other-resource/", aother_resource),
    path("class-whoami/", AsyncClassWhoAmI.as_view()),
    path("class-read-write/", AsyncClassReadWrite.as_view()),
    path("request/", arequest_view),
]
