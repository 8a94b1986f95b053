"""The ASGI app ``tests/test_async_server.py`` serves with uvicorn: Django, a loop monitor, queries.

``application`` wraps Django's ASGI handler (``tests.settings_asgi``) in a
plain ASGI callable that adds what the test measures inside the server:

- a **loop monitor** (:class:`LoopMonitor`): from the ASGI lifespan's
  startup, a task on the server's event loop sleeps :data:`TICK` seconds
  again and again and keeps the worst lateness of its wake-ups, and
  asyncio's debug mode times every callback (``loop.slow_callback_duration``)
  and keeps the longest. ``GET /_loop/`` answers both (and the loop's thread,
  the ticks, the most requests in flight at once) as JSON; ``POST /_loop/``
  starts a new measurement. Both are answered on the loop by this wrapper,
  never by Django. These are server-wide: they also count Django's and
  uvicorn's own work and the GIL taken by Django's per-request threads;
- a **record per request** (:class:`Seen`) of its statements, of the threads
  its token was checked on, and of how long each check held the loop: a
  context variable holds one for each HTTP request. The views'
  authenticator classes note the thread of each ``get_validated_token`` (an
  overridable step) and time each ``aauthenticate``, with a callback
  scheduled at its start telling whether it gave the loop back before it
  returned (if not, its wall time is one uninterrupted hold of the loop).
  Every database connection (Django's ``connection_created`` signal) gets an
  execute wrapper (``connection.execute_wrapper``) that notes each statement
  and its thread. asgiref's ``sync_to_async`` runs its function in a copy of
  the caller's context, so what runs in Django's per-request thread is noted
  for its request.

The URLconf (this module's ``urlpatterns``) has async views protected by
``bearer_auth.plain.bearer_required`` and by ``bearer_auth.ninja.AsyncBearerAuth``
(when that module exists), each in stateless and in strict mode, answering
the token's subject and ``jti``, the user, the thread the view ran on, the
threads the token was checked on, how long each check held the loop
(wall and CPU time, and whether it gave the loop back meanwhile) and the
request's statements; ``/blocking/`` holds the loop for 0.2 s (``time.sleep``)
and ``plain-async/sleepy/``'s check does: the measurements must see both.

``python -m tests.asgi_server setup USERS`` migrates the database, creates
``USERS`` users and, for each, one stored access token, and prints them as
JSON: what the test sends.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import sys
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import ExitStack
from typing import Any

import django

django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402
from django.db.backends.signals import connection_created  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import URLPattern, URLResolver, path  # noqa: E402

from bearer_auth.core import BearerTokenAuthenticator  # noqa: E402
from bearer_auth.ninja import AsyncBearerAuth, NinjaAPI  # noqa: E402
from bearer_auth.plain import bearer_required  # noqa: E402

Scope = dict[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Any], Awaitable[None]]

#: The monitor's sleep, in seconds: the loop's timer granularity on Linux.
TICK = 0.001
#: asyncio's debug mode logs each callback that held the loop this long or longer (seconds).
SLOW_CALLBACK = 0.002
#: How long ``/blocking/`` holds the loop.
BLOCKING_SECONDS = 0.2


class Seen:
    """What one request did, wherever it ran: its statements and where its token was checked."""

    def __init__(self) -> None:
        #: ``(thread, sql)`` of each statement.
        self.queries: list[tuple[int, str]] = []
        #: The thread of each ``get_validated_token`` call (the signature and claims check).
        self.checked_on: list[int] = []
        #: Each ``aauthenticate``: its wall and loop-thread CPU time, in ms, and
        #: whether it gave the loop back before it returned (``yielded``).
        self.checks: list[dict[str, Any]] = []


_seen: contextvars.ContextVar[Seen | None] = contextvars.ContextVar("asgi_test_seen", default=None)
_wrappers = ExitStack()  # one execute wrapper per connection, for the process's life


class LoopMonitor(logging.Handler):
    """Since the last reset: the worst lateness of a :data:`TICK` sleep, the longest callback.

    Two measures of one thing. The lateness of the monitor's wake-ups counts
    everything the loop ran between two of them (every request's callbacks
    of one loop iteration, and the GIL taken by Django's per-request threads);
    asyncio's debug mode times each callback alone (``loop.slow_callback_duration``,
    its "Executing ... took ... seconds" warnings, read by this handler of the
    ``asyncio`` logger): the longest time one piece of code held the loop
    without yielding, which is what blocking the loop means.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.worst = 0.0
        self.worst_callback = 0.0
        self.slow_callbacks: list[str] = []
        self.ticks = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.thread: int | None = None
        self.task: asyncio.Task[None] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        if record.msg == _SLOW_CALLBACK_MESSAGE and len(args) == 2:
            callback, took = args
            if isinstance(took, float):
                self.worst_callback = max(self.worst_callback, took)
                slowest = [*self.slow_callbacks, f"{took:.3f} {callback}"]
                self.slow_callbacks = sorted(slowest)[-3:]

    def reset(self) -> None:
        self.worst = 0.0
        self.worst_callback = 0.0
        self.slow_callbacks = []
        self.ticks = 0
        self.most_in_flight = self.in_flight

    async def run(self) -> None:
        self.thread = threading.get_ident()
        loop = asyncio.get_running_loop()
        loop.set_debug(True)
        loop.slow_callback_duration = SLOW_CALLBACK
        logging.getLogger("asyncio").addHandler(self)
        while True:
            started = time.perf_counter()
            await asyncio.sleep(TICK)
            late = time.perf_counter() - started - TICK
            self.ticks += 1
            self.worst = max(self.worst, late)

    def as_dict(self) -> dict[str, Any]:
        return {
            "worst_late_ms": self.worst * 1000,
            # Below SLOW_CALLBACK none is logged: the figure is then 0, read "< 2 ms".
            "worst_callback_ms": self.worst_callback * 1000,
            "slow_callbacks": self.slow_callbacks,
            "ticks": self.ticks,
            "thread": self.thread,
            "most_in_flight": self.most_in_flight,
        }


#: asyncio's debug-mode warning of a slow callback (asyncio.base_events).
_SLOW_CALLBACK_MESSAGE = "Executing %s took %.3f seconds"
monitor = LoopMonitor()


def _count_query(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
) -> Any:
    seen = _seen.get()
    if seen is not None:
        seen.queries.append((threading.get_ident(), sql))
    return execute(sql, params, many, context)


def _wrap_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    _wrappers.enter_context(connection.execute_wrapper(_count_query))


connection_created.connect(_wrap_connection)


def _answer(request: HttpRequest) -> JsonResponse:
    token: Any = request.auth  # type: ignore[attr-defined]
    seen = _seen.get() or Seen()
    return JsonResponse(
        {
            "sub": token.claims["sub"],
            "jti": token.jti,
            "user": str(request.user.pk),
            "thread": threading.get_ident(),
            "checked_on": seen.checked_on,
            "checks": seen.checks,
            "queries": len(seen.queries),
            "query_threads": sorted({thread for thread, _sql in seen.queries}),
        }
    )


async def blocking(request: HttpRequest) -> JsonResponse:
    time.sleep(BLOCKING_SECONDS)  # what the monitor must catch
    return JsonResponse({"thread": threading.get_ident()})


async def unprotected(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"thread": threading.get_ident()})


def _protected_urls() -> list[URLPattern | URLResolver]:
    """The protected views: plain Django's decorator and Ninja's operations."""

    class StatelessAuthenticator(BearerTokenAuthenticator):
        """Stateless mode, noting where and how long each check ran (:class:`Seen`)."""

        verify_mode = "stateless"

        async def aauthenticate(self, request: Any) -> Any:
            # A callback scheduled now runs only once this coroutine gives the
            # loop back: still unrun at the end, the check held the loop
            # throughout, for its wall time.
            gave_back: list[bool] = []
            asyncio.get_running_loop().call_soon(gave_back.append, True)
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return await super().aauthenticate(request)
            finally:
                seen = _seen.get()
                if seen is not None:
                    seen.checks.append(
                        {
                            "wall_ms": (time.perf_counter() - wall) * 1000,
                            "loop_cpu_ms": (time.thread_time() - cpu) * 1000,
                            "yielded": bool(gave_back),
                        }
                    )

        def get_validated_token(self, raw_token: str) -> dict[str, Any]:
            seen = _seen.get()
            if seen is not None:
                seen.checked_on.append(threading.get_ident())
            return super().get_validated_token(raw_token)

    class StrictAuthenticator(StatelessAuthenticator):
        verify_mode = "strict"

    class SleepyAuthenticator(StatelessAuthenticator):
        """A check that blocks the loop (``time.sleep``): the measurement must catch it."""

        def get_validated_token(self, raw_token: str) -> dict[str, Any]:
            time.sleep(BLOCKING_SECONDS)
            return super().get_validated_token(raw_token)

    @bearer_required(authentication_class=StatelessAuthenticator)
    async def plain_stateless(request: HttpRequest) -> JsonResponse:
        return _answer(request)

    @bearer_required(authentication_class=StrictAuthenticator)
    async def plain_strict(request: HttpRequest) -> JsonResponse:
        return _answer(request)

    @bearer_required(authentication_class=SleepyAuthenticator)
    async def plain_sleepy(request: HttpRequest) -> JsonResponse:
        return _answer(request)

    found: list[URLPattern | URLResolver] = [
        path("plain-async/stateless/", plain_stateless),
        path("plain-async/strict/", plain_strict),
        path("plain-async/sleepy/", plain_sleepy),
    ]
    api = NinjaAPI(urls_namespace="asgi-test-ninja")

    @api.get("/stateless/", auth=AsyncBearerAuth(authentication_class=StatelessAuthenticator))
    async def ninja_stateless(request: HttpRequest) -> JsonResponse:
        return _answer(request)

    @api.get("/strict/", auth=AsyncBearerAuth(authentication_class=StrictAuthenticator))
    async def ninja_strict(request: HttpRequest) -> JsonResponse:
        return _answer(request)

    return [*found, path("ninja-async/", api.urls)]


urlpatterns: list[URLPattern | URLResolver] = [
    path("blocking/", blocking),
    path("none/", unprotected),
    *_protected_urls(),
]

django_application = get_asgi_application()


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    """Django's ASGI handler, with the loop monitor and each request's query count."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
    elif scope["type"] == "http" and scope["path"] == "/_loop/":
        if scope["method"] == "POST":
            monitor.reset()
        await _json(send, monitor.as_dict())
    elif scope["type"] == "http":
        monitor.in_flight += 1
        monitor.most_in_flight = max(monitor.most_in_flight, monitor.in_flight)
        token = _seen.set(Seen())
        try:
            await django_application(scope, receive, send)
        finally:
            _seen.reset(token)
            monitor.in_flight -= 1
    else:
        await django_application(scope, receive, send)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            monitor.task = asyncio.get_running_loop().create_task(monitor.run())
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if monitor.task is not None:
                monitor.task.cancel()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _json(send: Send, body: dict[str, Any]) -> None:
    content = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": content})


def setup(users: int) -> list[dict[str, Any]]:
    """Migrate; create ``users`` users, each with one stored access token; describe them."""
    from django.core.management import call_command

    from tests.factories import UserFactory
    from tests.issuing import claims_of, issue_access_token

    call_command("migrate", verbosity=0)
    found = []
    for _ in range(users):
        user: Any = UserFactory()  # type: ignore[no-untyped-call]
        token = issue_access_token(user)
        claims = claims_of(token)
        found.append({"token": token, "sub": claims["sub"], "jti": claims["jti"], "pk": user.pk})
    return found


if __name__ == "__main__":
    if sys.argv[1:2] != ["setup"]:
        raise SystemExit("usage: python -m tests.asgi_server setup USERS")
    print(json.dumps(setup(int(sys.argv[2]))))
