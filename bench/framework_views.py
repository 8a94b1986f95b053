"""The ``frameworks`` phase's views: plain Django (sync and async) and a Ninja API.

Each answers the same small JSON body as the DRF views of :mod:`bench.views`
(``{"ok": true}``), so two cases differ by their framework and their
authentication alone. ``bearer_required`` and ``BearerAuth`` use the project's
``VERIFY_MODE`` (``bench.settings``: strict, or each server's ``BENCH_VERIFY_MODE``).
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, path

from bearer_auth.ninja import AsyncBearerAuth, BearerAuth, NinjaAPI
from bearer_auth.plain import bearer_required


def plain_none(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


async def plain_async_none(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@bearer_required
def plain_bearer(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@bearer_required
async def plain_async_bearer(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def urlpatterns() -> list[URLPattern | URLResolver]:
    """The plain views and the Ninja API's (django-ninja: the test extra the bench installs)."""
    found: list[URLPattern | URLResolver] = [
        path("plain/none/", plain_none),
        path("plain/bearer/", plain_bearer),
        path("plain-async/none/", plain_async_none),
        path("plain-async/bearer/", plain_async_bearer),
    ]
    api = NinjaAPI(urls_namespace="bench-ninja")

    @api.get("/none/")
    def ninja_none(request: HttpRequest) -> dict[str, bool]:
        return {"ok": True}

    @api.get("/bearer/", auth=BearerAuth())
    def ninja_bearer(request: HttpRequest) -> dict[str, bool]:
        return {"ok": True}

    @api.get("/async-bearer/", auth=AsyncBearerAuth())
    async def ninja_async_bearer(request: HttpRequest) -> dict[str, bool]:
        return {"ok": True}

    return [*found, path("ninja/", api.urls)]
