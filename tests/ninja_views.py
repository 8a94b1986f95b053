"""The test views of ``tests/views.py`` as Django Ninja operations, sync and async.

Each answers what its DRF twin answers (the same ``_describe`` JSON, 201 for
the POST); ``whoami`` refuses a token without a user with DRF's 403, as
``IsAuthenticated`` does. DRF authenticates a request before it looks at its
method, where Ninja answers 405 first: the GET-only views take POST too, to
authenticate it and then refuse it with DRF's 405.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import MethodNotAllowed, PermissionDenied

from bearer_auth.ninja import AsyncBearerAuth, BearerAuth, NinjaAPI
from tests.views import OTHER_RESOURCE, _describe

sync_api = NinjaAPI(urls_namespace="test-ninja", auth=BearerAuth())
async_api = NinjaAPI(urls_namespace="test-ninja-async", auth=AsyncBearerAuth())
GET_OR_POST = ["GET", "POST"]


def _get_only(request: Any) -> dict[str, Any]:
    if request.method != "GET":
        raise MethodNotAllowed(request.method)
    return _describe(request)


def _whoami(request: Any) -> dict[str, Any]:
    if not request.user.is_authenticated:
        raise PermissionDenied  # a client-credentials token: a client, not a user
    return _get_only(request)


# Sync operations.


@sync_api.api_operation(GET_OR_POST, "whoami/")
def whoami(request: Any) -> dict[str, Any]:
    return _whoami(request)


@sync_api.api_operation(GET_OR_POST, "scoped/", auth=BearerAuth(["notes:read", "profile"]))
def scoped(request: Any) -> dict[str, Any]:
    return _get_only(request)


@sync_api.get("read-write/", auth=BearerAuth(["notes:read"]))
def read(request: Any) -> dict[str, Any]:
    return _describe(request)


@sync_api.post("read-write/", auth=BearerAuth(["notes:write"]), response={201: Any})
def write(request: Any) -> dict[str, Any]:
    return _describe(request)


@sync_api.api_operation(
    GET_OR_POST, "other-resource/", auth=BearerAuth(["notes:read"], resource=OTHER_RESOURCE)
)
def other_resource(request: Any) -> dict[str, Any]:
    return _get_only(request)


# Async operations.


@async_api.api_operation(GET_OR_POST, "whoami/")
async def async_whoami(request: Any) -> dict[str, Any]:
    return _whoami(request)


@async_api.api_operation(GET_OR_POST, "scoped/", auth=AsyncBearerAuth(["notes:read", "profile"]))
async def async_scoped(request: Any) -> dict[str, Any]:
    return _get_only(request)


@async_api.get("read-write/", auth=AsyncBearerAuth(["notes:read"]))
async def async_read(request: Any) -> dict[str, Any]:
    return _describe(request)


@async_api.post("read-write/", auth=AsyncBearerAuth(["notes:write"]), response={201: Any})
async def async_write(request: Any) -> dict[str, Any]:
    return _describe(request)


@async_api.api_operation(
    GET_OR_POST, "other-resource/", auth=AsyncBearerAuth(["notes:read"], resource=OTHER_RESOURCE)
)
async def async_other_resource(request: Any) -> dict[str, Any]:
    return _get_only(request)
