"""The demo single-page app's own server: ``demo_project/spa`` as static files, on its own origin.

``make demo`` serves it on ``SPA_PORT`` (``demo_project.serve``), beside the
API on ``PORT``: two origins of one site, as ``app.example.com`` and
``api.example.com`` would be. The app learns the API's origin from
``/config.js``, an ES module this server writes; nothing in ``spa/`` names a
port. Every answer carries a Content-Security-Policy that lets the page run
its own scripts and talk to the API only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The app's files: plain HTML, CSS and JavaScript modules, no build step.
SPA_DIR: Final = Path(__file__).resolve().parent / "spa"


def security_headers(api_origin: str) -> list[tuple[bytes, bytes]]:
    """The headers of every answer: scripts and styles from this origin, requests to the API."""
    policy = "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"connect-src {api_origin}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )
    return [
        (b"content-security-policy", policy.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"cache-control", b"no-cache"),
    ]


class SecurityHeaders:
    """ASGI middleware adding :func:`security_headers` to each HTTP answer."""

    def __init__(self, app: ASGIApp, headers: list[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def spa_application(api_origin: str) -> ASGIApp:
    """The SPA's ASGI application, talking to the API at ``api_origin`` (``scheme://host:port``)."""
    config = f"export const API_ORIGIN = {json.dumps(api_origin)};\n"

    async def config_js(request: Request) -> Response:
        return Response(config, media_type="text/javascript")

    app = Starlette(
        routes=[
            Route("/config.js", config_js),
            Mount("/", StaticFiles(directory=SPA_DIR, html=True)),
        ]
    )
    return SecurityHeaders(app, security_headers(api_origin))
