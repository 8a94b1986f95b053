"""Hostile input sizes and shapes: every answer a fast 4xx, never a 500 (RFC 8725 §3.11 spirit).

Headers of 8 KB, 64 KB and 1 MB (through the test client and through a real
socket), deeply nested JSON inside a token, 10 MB bodies and 100,000 form
fields on every token endpoint, absurd numbers in JSON bodies.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest
from django.test import Client

from tests.issuing import b64url
from tests.security.probes import WHOAMI, assert_invalid_token, call

pytestmark = pytest.mark.django_db

#: Seconds any single hostile request may take (generous: CI machines are slow).
FAST = 3.0
KB = 1024
MB = 1024 * KB

TOKEN_ENDPOINTS = [
    "/auth/token/",
    "/auth/token/refresh/",
    "/auth/token/revoke/",
    "/o/token/",
    "/o/revoke_token/",
    "/o/introspect/",
]


def _timed(send: Any) -> Any:
    started = time.perf_counter()
    response = send()
    elapsed = time.perf_counter() - started
    assert elapsed < FAST, f"took {elapsed:.2f}s"
    return response


def _assert_client_error(response: Any) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:200])


@pytest.mark.parametrize("size", [8 * KB, 8 * KB + 1, 64 * KB, MB])
def test_huge_authorization_headers_are_refused_fast(client: Client, size: int) -> None:
    """Up to 8 KB the garbage is decoded and refused; beyond, it is refused on length alone."""
    assert_invalid_token(_timed(lambda: call(client, header="Bearer " + "a" * size)))


@pytest.mark.parametrize("size", [64 * KB, MB])
def test_huge_bearer_token_of_jwt_shape_is_refused_before_decoding(
    client: Client, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    import jwt

    def fail(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("an oversized token reached PyJWT")

    monkeypatch.setattr(jwt, "get_unverified_header", fail)
    monkeypatch.setattr(jwt, "decode", fail)
    third = size // 3
    forged = f"{'a' * third}.{'b' * third}.{'c' * third}"
    assert_invalid_token(_timed(lambda: call(client, forged)))


def _nested(depth: int) -> bytes:
    return b'{"alg":"RS256","typ":"at+jwt","kid":"x","n":' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("where", ["header", "payload"])
@pytest.mark.parametrize("depth", [100, 1000, 2900])
def test_deeply_nested_json_inside_a_token_is_refused(
    client: Client, where: str, depth: int
) -> None:
    """Nesting that fits in 8 KB: RecursionError in the JSON parser becomes a 401."""
    nested = b64url(_nested(depth))
    plain = b64url(json.dumps({"sub": "x"}).encode())
    token = f"{nested}.{plain}.c2ln" if where == "header" else f"{plain}.{nested}.c2ln"
    assert len(token) <= 8 * KB
    response = _timed(lambda: call(client, token))
    assert response.status_code == 401


def _raw_request(address: str, lines: list[str]) -> int:
    host, port = address.removeprefix("http://").split(":")
    request = "\r\n".join([f"GET {WHOAMI} HTTP/1.1", f"Host: {host}", *lines, "Connection: close"])
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall((request + "\r\n\r\n").encode("latin-1"))
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return int(received.split(b" ", 2)[1])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", [8 * KB, 64 * KB, MB])
def test_huge_headers_over_a_real_socket_get_a_4xx(live_server: Any, size: int) -> None:
    status = _timed(lambda: _raw_request(live_server.url, ["Authorization: Bearer " + "a" * size]))
    assert 400 <= status < 500
    assert status != 200


@pytest.mark.django_db(transaction=True)
def test_thousands_of_headers_over_a_real_socket_get_a_4xx(live_server: Any) -> None:
    lines = [f"X-Filler-{index}: {'v' * 50}" for index in range(2000)]
    status = _timed(lambda: _raw_request(live_server.url, lines))
    assert 400 <= status < 500


@pytest.mark.parametrize("path", TOKEN_ENDPOINTS)
@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_ten_megabyte_bodies_are_refused(path: str, content_type: str) -> None:
    if content_type == "application/json":
        body = json.dumps({"token": "a" * (10 * MB), "refresh_token": "a", "email": "a"})
    else:
        body = "token=" + "a" * (10 * MB) + "&grant_type=refresh_token"
    response = _timed(lambda: Client().post(path, body, content_type=content_type))
    _assert_client_error(response)


@pytest.mark.parametrize("path", TOKEN_ENDPOINTS)
def test_hundred_thousand_form_fields_are_refused(path: str) -> None:
    body = "&".join(f"f{index}=v" for index in range(100_000))
    response = _timed(
        lambda: Client().post(path, body, content_type="application/x-www-form-urlencoded")
    )
    _assert_client_error(response)


def test_hundred_thousand_query_parameters_on_the_authorization_endpoint(user: Any) -> None:
    """A 4xx, but not fast: oauthlib parses the whole query before Django's field limit.

    About 3 s of CPU for this 1 MB URL; a front server's request-line limit
    (gunicorn: 4094 bytes, nginx: 8 KB) keeps such URLs out (docs/security.md).
    """
    browser = Client()
    browser.force_login(user)
    query = "&".join(f"p{index}=v" for index in range(100_000))
    _assert_client_error(browser.get(f"/o/authorize/?{query}"))


def test_largest_url_a_server_accepts_on_the_authorization_endpoint_is_fast(user: Any) -> None:
    """64 KB, the longest request line Python's HTTP server (and the live server) reads."""
    browser = Client()
    browser.force_login(user)
    query = "&".join(f"p{index}=v" for index in range(8_000))
    assert len(query) < 64 * KB
    _assert_client_error(_timed(lambda: browser.get(f"/o/authorize/?{query}")))


@pytest.mark.parametrize("path", ["/auth/token/", "/auth/token/refresh/", "/auth/token/revoke/"])
@pytest.mark.parametrize("depth", [1000, 30_000])
def test_deeply_nested_json_bodies_are_refused(path: str, depth: int) -> None:
    body = '{"email":' + "[" * depth + "]" * depth + "}"
    response = _timed(lambda: Client().post(path, body, content_type="application/json"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "body",
    [
        '{"email": 1e999, "password": "x"}',
        '{"email": NaN, "password": "x"}',
        '{"email": "a@example.com", "password": Infinity}',
        '{"email": "a@example.com", "password": ' + "9" * 5000 + "}",
        '{"email": "a@example.com", "password": "x", "email": ["a"]}',
        '["email", "password"]',
        '"a string"',
        "null",
        "\xff\xfe not utf-8",
    ],
)
def test_absurd_json_values_at_sign_in_are_refused(body: str) -> None:
    """400; ``1e999`` reads as the string ``"inf"``, an unknown account (``invalid_grant``)."""
    response = _timed(
        lambda: Client().post(
            "/auth/token/", body.encode("latin-1"), content_type="application/json"
        )
    )
    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_request", "invalid_grant"}
    assert "access_token" not in response.json()


@pytest.mark.parametrize(
    ("field", "size"),
    [("password", MB), ("email", 64 * KB), ("scope", 64 * KB), ("username", 64 * KB)],
)
def test_oversized_sign_in_fields_are_refused_before_any_hashing(
    user: Any, monkeypatch: pytest.MonkeyPatch, field: str, size: int
) -> None:
    from django.contrib.auth import hashers

    def fail(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("an oversized sign-in reached the password hasher")

    monkeypatch.setattr(hashers, "check_password", fail)
    data = {"email": user.email, "password": "x", field: "a" * size}
    response = _timed(
        lambda: Client().post("/auth/token/", json.dumps(data), content_type="application/json")
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
