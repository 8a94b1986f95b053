"""The demo's settings with 5-second access tokens: the MCP client must refresh in seconds."""

from __future__ import annotations

from datetime import timedelta

from demo_project.settings import *  # noqa: F403
from demo_project.settings import BEARER_AUTH, OAUTH2_PROVIDER

#: The access tokens' lifetime, in seconds (tests/browser/test_mcp.py waits it out).
ACCESS_TOKEN_SECONDS = 5

BEARER_AUTH = {**BEARER_AUTH, "ACCESS_TOKEN_LIFETIME": timedelta(seconds=ACCESS_TOKEN_SECONDS)}
OAUTH2_PROVIDER = {**OAUTH2_PROVIDER, "ID_TOKEN_EXPIRE_SECONDS": ACCESS_TOKEN_SECONDS}
