"""Fixtures of the attack suite: a victim's token, a network guard and an attacker's server."""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.issuing import issue_access_token

_LOOPBACK_NAMES = frozenset({"localhost", "testserver"})


@pytest.fixture
def token(user: Any) -> str:
    """A valid access token of ``user`` carrying ``read notes:read``."""
    return issue_access_token(user, scope="read notes:read")


def _is_loopback(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str):
        return False
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class NetworkGuard:
    """Every outbound destination the code under test tried to reach (loopback excepted)."""

    attempts: list[str] = field(default_factory=list)


@pytest.fixture
def no_outbound(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
    """Fail the test if anything resolves or connects to a non-loopback host.

    The patched calls raise ``OSError`` like an unreachable network, so code
    that swallows connection errors cannot hide the attempt: it is recorded
    and asserted on at teardown. Loopback stays open for a local Redis,
    PostgreSQL or live server.
    """
    guard = NetworkGuard()
    real_getaddrinfo = socket.getaddrinfo
    real_create_connection = socket.create_connection
    real_connect = socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(host):
            guard.attempts.append(f"resolve {host}")
            raise OSError(f"outbound DNS lookup of {host!r} blocked by the attack suite")
        return real_getaddrinfo(host, *args, **kwargs)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(address[0]):
            guard.attempts.append(f"connect {address[0]}:{address[1]}")
            raise OSError(f"outbound connection to {address!r} blocked by the attack suite")
        return real_create_connection(address, *args, **kwargs)

    def connect(sock: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if sock.family in {socket.AF_INET, socket.AF_INET6} and not _is_loopback(host):
            guard.attempts.append(f"connect {address!r}")
            raise OSError(f"outbound connection to {address!r} blocked by the attack suite")
        return real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket.socket, "connect", connect)
    yield guard
    assert guard.attempts == [], f"outbound network access: {guard.attempts}"


@dataclass
class JsonServer:
    """A loopback HTTP server answering every GET with ``document``; it records each hit."""

    url: str
    hits: list[str]
    document: dict[str, Any]


@pytest.fixture
def json_server() -> Iterator[Callable[[dict[str, Any]], JsonServer]]:
    """Start loopback JSON servers (an attacker's ``jku`` target, a JWKS host) on demand."""
    running: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def start(document: dict[str, Any]) -> JsonServer:
        hits: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                body = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        running.append((server, thread))
        return JsonServer(
            url=f"http://127.0.0.1:{server.server_address[1]}", hits=hits, document=document
        )

    yield start
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
