"""``make demo``'s server: the API and the demo SPA, on two ports, in one process.

``python -m demo_project.serve --host 127.0.0.1 --port 8000 --spa-port 8001``
serves ``demo_project.asgi`` (the Django project and its MCP server) on
``--port`` and the single-page app of ``demo_project/spa``
(``demo_project.spa_server``) on ``--spa-port``: two uvicorn servers in one
event loop. When either stops, the other is told to stop too, so Ctrl-C (or
SIGTERM) ends the whole command. The ports are put in the environment
(``PORT``, ``SPA_PORT``) before the settings load, so the issuer, the CORS
allow-list and ``BROWSER_APP_ORIGINS`` name the ports actually served.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Sequence
from contextlib import suppress
from urllib.parse import urlsplit

import uvicorn


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m demo_project.serve", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="the address of both servers")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("PORT") or 8000), help="the API's port"
    )
    parser.add_argument(
        "--spa-port",
        type=int,
        default=int(os.environ["SPA_PORT"]) if os.environ.get("SPA_PORT") else None,
        help="the single-page app's port (default: $SPA_PORT, else the API's port + 1)",
    )
    arguments = parser.parse_args(argv)
    if arguments.spa_port is None:
        arguments.spa_port = arguments.port + 1
    return arguments


async def serve_together(servers: Sequence[uvicorn.Server]) -> None:
    """Run ``servers`` until one of them stops, then stop the others and wait for them."""
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*tasks)


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    os.environ["PORT"] = str(arguments.port)
    os.environ["SPA_PORT"] = str(arguments.spa_port)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_project.settings")

    from django.conf import settings

    from demo_project.asgi import application
    from demo_project.spa_server import spa_application

    issuer = urlsplit(settings.BEARER_AUTH["ISSUER"])
    api_origin = f"{issuer.scheme}://{issuer.netloc}"
    servers = [
        uvicorn.Server(uvicorn.Config(application, host=arguments.host, port=arguments.port)),
        uvicorn.Server(
            uvicorn.Config(
                spa_application(api_origin), host=arguments.host, port=arguments.spa_port
            )
        ),
    ]
    # Each server hands the signal on to the other once it stopped; the last
    # one re-raises it, which ends asyncio.run with KeyboardInterrupt.
    with suppress(KeyboardInterrupt):
        asyncio.run(serve_together(servers))


if __name__ == "__main__":
    main()
