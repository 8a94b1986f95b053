"""Protected resources: what tokens are for (RFC 8707) and how each describes itself (RFC 9728).

A *resource* is an API that accepts this server's access tokens, named by an
absolute URI, its *identifier*. Every token names exactly one in ``aud``:

- the **default resource**, whose identifier is ``AUDIENCE`` (else the
  issuer): every token a client did not ask a resource for, as before
  resource indicators existed;
- each resource of ``BEARER_AUTH["RESOURCES"]``, for a token requested with
  RFC 8707's ``resource`` parameter (``bearer_auth.oauth.resource_indicators``).

A resource server accepts only tokens whose ``aud`` is its own identifier
(:class:`bearer_auth.authentication.BearerTokenAuthentication`'s ``resource``),
so a token minted for one MCP server is refused at another, and at the
default API. Each resource's RFC 9728 metadata document lives at the
well-known URL derived from its identifier (:func:`metadata_url`), served by
``bearer_auth.views.well_known.ProtectedResourceMetadataView``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from bearer_auth.jwt import audience
from bearer_auth.settings import bearer_settings

#: RFC 9728 §3: the well-known URI suffix of protected resource metadata.
METADATA_SUFFIX: Final = "oauth-protected-resource"


@dataclass(frozen=True)
class ProtectedResource:
    """One resource this server issues tokens for, as its metadata describes it."""

    #: The resource identifier: the ``aud`` of its tokens, compared exactly.
    uri: str
    #: ``resource_name``; empty: left out.
    name: str = ""
    #: ``scopes_supported``; ``None``: every scope the server defines.
    scopes: tuple[str, ...] | None = None
    #: ``resource_documentation``; empty: left out.
    documentation: str = ""


def default_resource() -> ProtectedResource:
    """The resource of tokens issued without ``resource``: ``AUDIENCE``, else the issuer."""
    return ProtectedResource(uri=audience())


def configured_resources() -> dict[str, ProtectedResource]:
    """Every resource tokens may be issued for, by identifier: the default one first.

    An entry of ``RESOURCES`` with the default resource's identifier describes
    it (its name, scopes, documentation).
    """
    found = {audience(): default_resource()}
    entries = bearer_settings.RESOURCES
    if isinstance(entries, Mapping):  # anything else is bearer_auth.E016
        for uri, options in entries.items():
            found[str(uri)] = _described(str(uri), options)
    return found


def find_resource(uri: str) -> ProtectedResource | None:
    """Return the resource whose identifier is exactly ``uri``, or ``None``."""
    return configured_resources().get(uri)


def resource_at_metadata_path(suffix: str, *, host: str) -> ProtectedResource | None:
    """Return the resource whose metadata is at ``/.well-known/oauth-protected-resource<suffix>``.

    ``suffix`` is empty for a resource identifier without a path, else the
    identifier's path (``/mcp`` for ``https://api.example.com/mcp``). Only
    the path is compared: the document is served on whatever host the request
    reached. Two resources with the same path on different hosts
    are told apart by the request's ``host`` (its ``Host`` header).
    """
    matches = [
        resource
        for resource in configured_resources().values()
        if _metadata_path(resource.uri) == suffix
    ]
    if len(matches) > 1:
        matches = [resource for resource in matches if urlsplit(resource.uri).netloc == host]
    return matches[0] if len(matches) == 1 else None


def metadata_url(uri: str) -> str | None:
    """Return the RFC 9728 §3.1 metadata URL of the resource identifier ``uri``.

    The well-known suffix goes between the host and the path:
    ``https://api.example.com/mcp`` → ``https://api.example.com/.well-known/
    oauth-protected-resource/mcp``. ``None`` for an identifier that is not an
    ``http``/``https`` URL (an ``AUDIENCE`` such as ``"my-api"``).
    """
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}/.well-known/{METADATA_SUFFIX}{_metadata_path(uri)}"


def _metadata_path(uri: str) -> str:
    path = urlsplit(uri).path
    return "" if path in ("", "/") else path


def _described(uri: str, options: Any) -> ProtectedResource:
    options = options if isinstance(options, Mapping) else {}
    scopes = options.get("scopes")
    return ProtectedResource(
        uri=uri,
        name=str(options.get("name") or ""),
        scopes=(
            tuple(scopes) if isinstance(scopes, Sequence) and not isinstance(scopes, str) else None
        ),
        documentation=str(options.get("documentation") or ""),
    )
