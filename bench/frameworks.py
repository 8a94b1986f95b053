"""Frameworks (issue 24): Django Ninja beside DRF in-process, async views under an ASGI server.

Two questions, one phase.

**Ninja strict authentication within 1.1x the DRF class's cost** (in-process,
timed like the ``auth`` phase). One strict-mode request, an RS256 token
presented again and again as a client does (the verified-token cache on, so
each call is strict mode's one query and the date checks): the same
``django.http.HttpRequest`` built once (RequestFactory), given

- ``frameworks/ninja-authenticate``: to :class:`bearer_auth.ninja.BearerAuth`
  (what Ninja calls for an operation: the check, ``request.user`` set, the
  token returned), and
- ``frameworks/drf-authenticate``: wrapped once in a DRF ``Request``, to
  ``BearerTokenAuthentication().authenticate`` (what DRF calls);

judged ≤ 1.1x. The whole request through Django's test client, the
benchmark's middleware, shows what each framework adds around it, without
a target: ``frameworks/ninja-view`` (a Ninja operation with ``BearerAuth``,
``/ninja/bearer/``) ÷ ``frameworks/drf-view`` (the DRF ``APIView`` with
``BearerTokenAuthentication`` and ``IsAuthenticated``, ``/api/bearer/``), and
each ÷ its own framework's view without authentication (``/ninja/none/``,
``/api/none/``).

**Async stateless verification under an ASGI server ≥ the sync figure**
(requests per second, wrk on 127.0.0.1, as :mod:`bench.http`), in
stateless mode, the benchmark project on the worker's database, one server
process each, the same view (``bearer_required``, :mod:`bench.framework_views`)
written ``def`` and ``async def``:

- ``frameworks/http-async-uvicorn``: the ``async def`` view under uvicorn
  (one process, Django's ASGI handler, ``bench/asgi.py``): the token checked
  on the event loop;
- ``frameworks/http-sync-uvicorn``: the ``def`` view under the same uvicorn,
  which Django's ASGI handler runs in a thread (``sync_to_async``). Judged:
  async ÷ this ≥ 1.0x. Like with like: the same server process, handler,
  middleware and view; only the verification's path differs (on the loop,
  or in the thread a sync view takes);
- ``frameworks/http-sync-gunicorn``: the ``def`` view under one gunicorn sync
  worker (Django's WSGI handler), the sync deployment; shown, not judged.
  It compares Django's two handlers and the two servers more than the two
  verification paths: ``frameworks/http-none-async-uvicorn`` and
  ``frameworks/http-none-gunicorn``, each server's view without
  authentication, show that gap (on this machine, with uvicorn's pure-Python
  ``h11`` parser and asyncio's own loop, an async view without
  authentication under uvicorn serves about 0.4x what a sync one does under
  gunicorn: Django's ASGI handler also runs ``request_started`` and
  ``request_finished``'s synchronous receivers in a thread per request);
- ``frameworks/http-ninja-async-uvicorn``: ``AsyncBearerAuth`` on a Ninja
  async operation under the same uvicorn.

The verified-token cache is on (the default), as in the ``http`` phase's
stateless row: wrk sends one token. One gunicorn worker, not the ``http``
phase's two, because uvicorn serves from one process and one event loop:
two processes against one would measure the process count. uvicorn runs with
what the environment has (``uvicorn[standard]`` would bring ``httptools``
and ``uvloop``), with the access log off, as gunicorn's is by default.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Final

from django.test import Client, RequestFactory
from rest_framework.request import Request

from bearer_auth.authentication import BearerTokenAuthentication
from bearer_auth.ninja import BearerAuth
from bench.fixtures import Fixtures
from bench.http import Target, free_port, gunicorn, measure, served
from bench.timing import Case

#: Each server's process count (see the module docstring).
WORKERS: Final = 1
#: bearer_auth's mode on every server of the phase.
SERVER_MODE: Final = "stateless"


def frameworks_cases(fixtures: Fixtures) -> list[Case]:
    """Ninja's ``BearerAuth`` and DRF's class on one strict request; both views, both baselines."""
    token = fixtures.bearer["RS256"]
    request = RequestFactory().get("/api/", HTTP_AUTHORIZATION=f"Bearer {token}")
    drf_request = Request(request)
    drf = BearerTokenAuthentication()
    client = Client()
    headers = {"Authorization": f"Bearer {token}"}
    user_pk = fixtures.user.pk

    def signed_in(result: Any) -> bool:
        return result is not None and getattr(result[0], "pk", None) == user_pk

    ninja = BearerAuth()

    def ninja_checked(token: Any) -> bool:
        return token is not None and getattr(request.user, "pk", None) == user_pk

    return [
        Case("frameworks/ninja-authenticate", lambda: ninja(request), ninja_checked),
        Case("frameworks/drf-authenticate", lambda: drf.authenticate(drf_request), signed_in),
        Case("frameworks/drf-view", lambda: client.get("/api/bearer/", headers=headers), _answered),
        Case("frameworks/drf-none", lambda: client.get("/api/none/"), _answered),
        Case(
            "frameworks/ninja-view",
            lambda: client.get("/ninja/bearer/", headers=headers),
            _answered,
        ),
        Case("frameworks/ninja-none", lambda: client.get("/ninja/none/"), _answered),
    ]


def _answered(response: Any) -> bool:
    """200 with the views' one body (each framework renders its own JSON spacing)."""
    return bool(response.status_code == 200 and json.loads(response.content) == {"ok": True})


def targets(fixtures: Fixtures) -> list[Target]:
    """The phase's wrk targets; ``mode`` names the server (``gunicorn`` or ``uvicorn``)."""
    token = fixtures.bearer["RS256"]
    return [
        Target("frameworks/http-async-uvicorn", "uvicorn", "/plain-async/bearer/", token),
        Target("frameworks/http-sync-gunicorn", "gunicorn", "/plain/bearer/", token),
        Target("frameworks/http-sync-uvicorn", "uvicorn", "/plain/bearer/", token),
        Target("frameworks/http-none-async-uvicorn", "uvicorn", "/plain-async/none/", None),
        Target("frameworks/http-none-gunicorn", "gunicorn", "/plain/none/", None),
        Target("frameworks/http-ninja-async-uvicorn", "uvicorn", "/ninja/async-bearer/", token),
    ]


def run_http(
    fixtures: Fixtures, *, plan: Any, directory: Path, selected: Callable[[str], bool]
) -> dict[str, dict[str, Any]]:
    """Measure every ``selected`` target; requests/s (median, min, max) by name, as ``http``."""
    rows = [row for row in targets(fixtures) if selected(row.name)]
    if not rows:
        return {}
    servers: dict[str, Callable[[], Any]] = {
        "gunicorn": lambda: gunicorn(SERVER_MODE, directory=directory, workers=WORKERS),
        "uvicorn": lambda: uvicorn(SERVER_MODE, directory=directory),
    }
    with ExitStack() as stack:
        ports = {
            server: stack.enter_context(servers[server]())
            for server in sorted({row.mode for row in rows})
        }
        return measure(rows, ports, plan=plan)


@contextmanager
def uvicorn(mode: str, *, directory: Path) -> Iterator[int]:
    """Serve the benchmark project with uvicorn (one process, ``bench.asgi``); yield its port."""
    port = free_port()
    command = [
        "uvicorn",
        "bench.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        # Django's ASGI handler serves HTTP only.
        "--lifespan",
        "off",
    ]
    with served(command, port=port, mode=mode, log=directory / f"uvicorn-{mode}.log"):
        yield port
