"""``Authorization`` header parsing attacks (RFC 6750 §2, §3; RFC 9110 §11.6.2).

``tests/test_authentication.py`` covers the scheme's case, other schemes,
query/body tokens and the basic malformed shapes; ``tests/test_fuzz.py``
fuzzes the header. This module adds the places a token hides outside the
header, smuggling characters, duplicated headers over a real socket, and
checks that no answer echoes what the client sent.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from django.test import Client

from tests.adapters import adapter_client  # noqa: F401  (``client``, over every adapter)
from tests.security.probes import (
    BARE_CHALLENGE,
    WHOAMI,
    assert_invalid_token,
    assert_refused,
    call,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "meta",
    [
        "HTTP_PROXY_AUTHORIZATION",
        "HTTP_X_AUTHORIZATION",
        "HTTP_X_ACCESS_TOKEN",
        "HTTP_X_FORWARDED_AUTHORIZATION",
        "HTTP_AUTHORIZATION_BEARER",
    ],
)
def test_token_in_any_other_header_is_ignored(client: Client, token: str, meta: str) -> None:
    response = client.get(WHOAMI, **{meta: f"Bearer {token}"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BARE_CHALLENGE


@pytest.mark.parametrize("name", ["access_token", "Authorization", "token", "sessionid"])
def test_token_in_a_cookie_is_ignored(client: Client, token: str, name: str) -> None:
    client.cookies[name] = token
    response = client.get(WHOAMI)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BARE_CHALLENGE


def test_signed_in_django_session_does_not_authenticate_the_api(client: Client, user: Any) -> None:
    """A session cookie (e.g. from the consent page or the admin) is no API credential: no CSRF."""
    client.force_login(user)
    response = client.post(WHOAMI)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BARE_CHALLENGE


@pytest.mark.parametrize(
    "template",
    [
        "Bearer\t{token}",
        "Bearer\u00a0{token}",
        "\u0412earer {token}",  # Cyrillic capital Ve (U+0412)
        "Bearer: {token}",
        "Bearer={token}",
        " Bearer {token}",
        "Bearer-{token}",
        "Bearer_{token}",
        "BearerBearer {token}",
        "{token}",
    ],
)
def test_lookalike_schemes_and_separators_authenticate_nobody(
    client: Client, token: str, template: str
) -> None:
    assert_refused(call(client, header=template.format(token=token)))


@pytest.mark.parametrize(
    "template",
    [
        "Bearer {token}\x00",
        "Bearer {token}\r\nX-Injected: 1",
        "Bearer {token}\nBearer {token}",
        "Bearer {token} {token}",
        "Bearer {token},Bearer {token}",
        "Bearer {token}, Bearer {token}",
        "Bearer {token};",
        "Bearer {token}\\",
        'Bearer "{token}"',
        "Bearer {token}%00",
        "Bearer {token}\u2028",
        "Bearer token={token}",
    ],
)
def test_smuggled_characters_are_invalid_request(client: Client, token: str, template: str) -> None:
    """Characters outside b64token: 400 ``invalid_request``, even around a valid token."""
    response = call(client, header=template.format(token=token))
    assert response.status_code == 400, response.content
    assert response["WWW-Authenticate"].startswith('Bearer realm="api", error="invalid_request"')
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("suffix", ["=", "==", "~", "/", "+", "-", "."])
def test_a_valid_token_with_a_b64token_suffix_is_another_token(
    client: Client, token: str, suffix: str
) -> None:
    assert_invalid_token(call(client, token + suffix))


def test_answers_never_echo_the_presented_token(client: Client, token: str) -> None:
    probes = [token[:-6] + "AAAAAA", token + "==", f"{token} {token}", "x" * 9000]
    for probe in probes:
        response = call(client, header=f"Bearer {probe}")
        assert response.status_code in {400, 401}
        everything = response.content.decode() + "".join(
            f"{name}: {value}" for name, value in response.items()
        )
        assert probe[:40] not in everything
        assert token.split(".")[2][:20] not in everything


def test_header_wins_over_a_token_in_the_query_string(
    client: Client, token: str, user: Any
) -> None:
    from tests.factories import UserFactory
    from tests.issuing import issue_access_token

    other = issue_access_token(UserFactory())
    response = client.get(WHOAMI, {"access_token": other}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.json()["user"] == str(user.pk)


def _raw_get(address: str, header_lines: list[str]) -> tuple[int, bytes]:
    host, port = address.removeprefix("http://").split(":")
    request = "\r\n".join(
        [f"GET {WHOAMI} HTTP/1.1", f"Host: {host}", *header_lines, "Connection: close", "", ""]
    )
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request.encode("latin-1"))
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    status = int(raw.split(b" ", 2)[1])
    return status, raw


@pytest.mark.django_db(transaction=True)
def test_duplicate_authorization_headers_over_a_socket_are_refused(
    live_server: Any, user: Any
) -> None:
    """Two ``Authorization`` headers (even identical valid ones) are not one credential."""
    from tests.issuing import issue_access_token

    token = issue_access_token(user)
    status, _ = _raw_get(live_server.url, [f"Authorization: Bearer {token}"])
    assert status == 200
    status, body = _raw_get(
        live_server.url,
        [f"Authorization: Bearer {token}", f"Authorization: Bearer {token}"],
    )
    assert status == 400, body[:300]
    status, body = _raw_get(
        live_server.url, ["Authorization: Basic dXNlcjpwYXNz", f"Authorization: Bearer {token}"]
    )
    assert 400 <= status < 500, body[:300]
    assert b'"user"' not in body
