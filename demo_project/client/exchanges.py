"""What the demo client shows of each HTTP exchange, with every credential masked.

Records are plain JSON-serialisable dicts, because they are kept in the
visitor's Django session between the steps of the flow.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, unquote_plus, urlsplit, urlunsplit

import requests

#: Parameters and JSON members whose values are credentials.
SECRET_NAMES: Final = frozenset(
    {
        "access_token",
        "client_secret",
        "code",
        "code_verifier",
        "id_token",
        "id_token_hint",
        "password",
        "refresh_token",
        "token",
    }
)
#: Headers whose values are credentials (the scheme is kept, the value masked).
SECRET_HEADERS: Final = frozenset({"authorization", "cookie", "set-cookie"})
#: Response headers worth showing; the rest (Server, Date, Vary, ...) is noise here.
SHOWN_RESPONSE_HEADERS: Final = (
    "Content-Type",
    "Cache-Control",
    "Pragma",
    "WWW-Authenticate",
    "Location",
)
_VISIBLE_CHARS: Final = 6


def mask(value: str) -> str:
    """Return the first few characters of a credential and its length, never the whole value."""
    if len(value) <= _VISIBLE_CHARS * 2:
        return f"{'•' * 8} ({len(value)} chars)"
    return f"{value[:_VISIBLE_CHARS]}… ({len(value)} chars)"


def mask_header(name: str, value: str) -> str:
    """Mask a credential header, keeping its scheme (``Bearer``, ``Basic``) readable."""
    if name.lower() not in SECRET_HEADERS:
        return value
    scheme, _, credentials = value.partition(" ")
    if credentials and name.lower() == "authorization":
        return f"{scheme} {mask(credentials)}"
    return mask(value)


def mask_url(url: str) -> str:
    """Mask credential parameters in the query string of ``url``."""
    parts = urlsplit(url)
    pieces = parts.query.split("&") if parts.query else []
    return urlunsplit(parts._replace(query="&".join(_mask_query_piece(p) for p in pieces)))


def _mask_query_piece(piece: str) -> str:
    """Mask one ``name=value`` of a query string, leaving the others exactly as sent."""
    raw_name, _, raw_value = piece.partition("=")
    if unquote_plus(raw_name) not in SECRET_NAMES:
        return piece
    return f"{raw_name}={mask(unquote_plus(raw_value))}"


def mask_form(body: str) -> str:
    """Mask credential fields of an ``application/x-www-form-urlencoded`` body, one per line."""
    return "\n".join(
        f"{name}={_masked_value(name, value)}"
        for name, value in parse_qsl(body, keep_blank_values=True)
    )


def mask_json(document: Any) -> Any:
    """Return ``document`` with the values of credential members masked, at any depth."""
    if isinstance(document, dict):
        return {
            key: mask(value) if key in SECRET_NAMES and isinstance(value, str) else mask_json(value)
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [mask_json(item) for item in document]
    return document


def _masked_value(name: str, value: str) -> str:
    return mask(value) if name in SECRET_NAMES else value


@dataclass(frozen=True)
class HttpExchange:
    """One request the client sent and the response it got, as shown on the page."""

    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: str
    status: int
    reason: str
    response_headers: list[tuple[str, str]]
    response_body: str

    @classmethod
    def from_response(cls, response: requests.Response) -> HttpExchange:
        """Describe ``response`` and the request that produced it, credentials masked."""
        request = response.request
        return cls(
            method=str(request.method),
            url=mask_url(str(request.url)),
            request_headers=[
                (name, mask_header(name, _text(value)))
                for name, value in request.headers.items()
                if name.lower() not in {"user-agent", "accept-encoding", "connection"}
            ],
            request_body=_request_body(request),
            status=response.status_code,
            reason=str(response.reason),
            response_headers=[
                (name, mask_header(name, response.headers[name]))
                for name in SHOWN_RESPONSE_HEADERS
                if name in response.headers
            ],
            response_body=_response_body(response),
        )

    def as_record(self) -> dict[str, Any]:
        """Return a JSON-serialisable copy, for the session."""
        return asdict(self)


def _request_body(request: requests.PreparedRequest) -> str:
    body = request.body
    if body is None:
        return ""
    text = body.decode() if isinstance(body, bytes) else str(body)
    content_type = _text(request.headers.get("Content-Type", ""))
    if content_type.startswith("application/x-www-form-urlencoded"):
        return mask_form(text)
    if content_type.startswith("application/json"):
        return json.dumps(mask_json(json.loads(text)), indent=2, ensure_ascii=False)
    return text


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _response_body(response: requests.Response) -> str:
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        return response.text
    try:
        document = response.json()
    except ValueError:
        return response.text
    return json.dumps(mask_json(document), indent=2, ensure_ascii=False)
