"""The demo's MCP server: the signed-in user's notes as two MCP tools.

``list_notes`` needs ``notes:read`` and ``add_note`` needs ``notes:write``,
over streamable HTTP at ``/mcp`` (``demo_project.asgi`` serves it beside the
Django project). Tokens are checked by bearer_auth
(:class:`bearer_auth.mcp.BearerTokenVerifier`): only a token issued for this
MCP server (``aud`` = ``MCP_RESOURCE``) is accepted. Import it after Django is
set up.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from starlette.types import ASGIApp

from bearer_auth.jwt import issuer
from bearer_auth.mcp import BearerTokenVerifier, ToolScopes, auth_settings, current_user
from demo_project.notes.models import Note
from demo_project.notes.serializers import NoteSerializer

#: Where it is served, on the issuer's origin.
PATH = "/mcp"
#: The MCP server's resource identifier: the ``aud`` of the tokens it accepts
#: (``MCP_RESOURCE`` of the demo's settings, which lists it in ``RESOURCES``).
RESOURCE = f"{issuer().rstrip('/')}{PATH}"
#: The scopes each tool needs.
TOOL_SCOPES: dict[str, list[str]] = {"list_notes": ["notes:read"], "add_note": ["notes:write"]}

verifier = BearerTokenVerifier(RESOURCE)
server = MCPServer(
    "bearer_auth demo notes",
    instructions="The notes of the user who signed in: list them, add one.",
    token_verifier=verifier,
    auth=auth_settings(RESOURCE),
)


@server.tool()
async def list_notes() -> list[dict[str, Any]]:
    """List your notes, the most recently changed first."""
    owner = await _owner()
    return await sync_to_async(_notes_of, thread_sensitive=True)(owner)


@server.tool()
async def add_note(title: str, body: str = "") -> dict[str, Any]:
    """Add a note with this title and body; return it."""
    owner = await _owner()
    return await sync_to_async(_add_note, thread_sensitive=True)(owner, title, body)


async def _owner() -> Any:
    owner = await current_user()
    if owner is None:
        raise ToolError("This token belongs to no user who may read or write notes.")
    return owner


# The SDK runs a tool in the context of the HTTP request that called it:
# under bearer_auth.mcp.with_mcp, these run in that request's thread, whose
# database connection request_finished closes.


def _notes_of(owner: Any) -> list[dict[str, Any]]:
    notes = Note._default_manager.filter(owner=owner)
    return [dict(data) for data in NoteSerializer(notes, many=True).data]


def _add_note(owner: Any, title: str, body: str) -> dict[str, Any]:
    serializer = NoteSerializer(data={"title": title, "body": body})
    if not serializer.is_valid():
        raise ToolError(f"The note is invalid: {dict(serializer.errors)}")
    serializer.save(owner=owner)
    return dict(serializer.data)


def mcp_application() -> ASGIApp:
    """The streamable HTTP app at ``/mcp``, each tool behind its scope."""
    return ToolScopes(server.streamable_http_app(streamable_http_path=PATH), verifier, TOOL_SCOPES)
