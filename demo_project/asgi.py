"""ASGI entry point of the demo (``make demo`` serves it with uvicorn).

``/mcp`` is the demo's MCP server (``demo_project.mcp_server``), everything
else the Django project, static files included while ``DEBUG`` is on.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_project.settings")

django_application = get_asgi_application()
if settings.DEBUG:
    django_application = ASGIStaticFilesHandler(django_application)

# After get_asgi_application(): the MCP server imports models.
from bearer_auth.mcp import with_mcp  # noqa: E402
from demo_project.mcp_server import PATH, mcp_application  # noqa: E402

application = with_mcp(django_application, mcp_application(), path=PATH)
