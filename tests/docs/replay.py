"""Replay the documentation's commands (curl, manage.py, cron lines) and check what they show.

The shown output is the contract: the status line and headers (``curl -i``)
and the JSON body must match the real answer. Values that differ on every
run match by shape: a string cut with ``…`` matches any string with the
parts shown (``…`` stands for one or more characters), a UUID any UUID, a
timestamp any timestamp, a token (an ``access_token`` or ``refresh_token``
field) any token of the same length and alphabet. Every such shown value
that a later command repeats is replaced by the real one, so a page can
reuse the ids and tokens it shows.
"""

from __future__ import annotations

import json
import re
import shlex
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from io import StringIO
from typing import Any, Final
from urllib.parse import urlsplit

from django.core.management import call_command
from django.http import HttpResponse
from django.test import Client

from tests.docs.markdown import Block, Exchange, transcript

#: What curl 7.88 (Debian 12, where the examples were run) sends as User-Agent.
CURL_USER_AGENT: Final = "curl/7.88.1"
ELLIPSIS: Final = "…"
#: Token fields: random on every run, compared by length and alphabet.
TOKEN_FIELDS: Final = frozenset({"access_token", "refresh_token"})
#: The one pipe the examples use, to show a long answer indented.
JSON_TOOL: Final = "python -m json.tool"
_TOKEN_ALPHABET: Final = re.compile(r"[A-Za-z0-9_\-.~+/=]+")
_VARIABLE: Final = re.compile(r"\$\{(\w+)\}|\$(\w+)")
# One field of a crontab schedule: *, 5, 1-5, 1,15, */10.
_CRON_FIELD: Final = re.compile(r"(\*|\d+(-\d+)?(,\d+(-\d+)?)*)(/\d+)?")


@dataclass(frozen=True)
class CurlRequest:
    """What a ``curl`` command line sends."""

    method: str
    host: str
    path: str
    headers: dict[str, str]
    body: str | None
    show_headers: bool  # -i


def parse_curl(command: str) -> CurlRequest:
    """Translate ``curl [-s] [-i] [-X M] [-H h]... [-A ua] [-d data]... URL [| json.tool]``."""
    command, _, pipe = command.partition(" | ")
    assert pipe in ("", JSON_TOOL), f"unsupported pipe: {pipe!r}"
    words = shlex.split(command)
    assert words[0] == "curl", command
    method: str | None = None
    url = ""
    headers: dict[str, str] = {"User-Agent": CURL_USER_AGENT}
    data: list[str] = []
    show_headers = False
    arguments = iter(words[1:])
    for word in arguments:
        if word == "-s":
            continue
        if word in ("-i", "-si"):
            show_headers = True
        elif word == "-X":
            method = next(arguments)
        elif word == "-H":
            name, _, value = next(arguments).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-A":
            headers["User-Agent"] = next(arguments)
        elif word == "-d":
            data.append(next(arguments))
        else:
            assert not word.startswith("-"), f"unsupported curl option {word!r} in: {command}"
            url = word
    parts = urlsplit(url)
    assert parts.scheme == "http", f"no http URL in: {command}"
    assert parts.netloc, f"no host in: {command}"
    if data:
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    return CurlRequest(
        method=method or ("POST" if data else "GET"),
        host=parts.netloc,
        path=parts.path + (f"?{parts.query}" if parts.query else ""),
        headers=headers,
        body="&".join(data) if data else None,
        show_headers=show_headers,
    )


def send(client: Client, request: CurlRequest) -> HttpResponse:
    """Send the request through Django's test client."""
    headers = dict(request.headers)
    content_type = headers.pop("Content-Type", "application/octet-stream")
    response: HttpResponse = client.generic(
        request.method,
        request.path,
        data=request.body or "",
        content_type=content_type,
        headers=headers,
        HTTP_HOST=request.host,
    )
    return response


@dataclass(frozen=True)
class ShownResponse:
    """The output a page shows under a curl command."""

    status: int | None  # None: body only (no -i)
    reason: str
    headers: list[tuple[str, str]]
    body: str


def parse_shown(output: list[str], *, with_headers: bool) -> ShownResponse:
    """Read ``HTTP/1.1 200 OK``, header lines (``…`` leaves others out), a blank line, a body."""
    if not with_headers:
        return ShownResponse(None, "", [], "\n".join(output).strip())
    assert output, "no status line shown"
    assert output[0].startswith("HTTP/"), f"no status line in {output!r}"
    _version, status, reason = output[0].split(" ", 2)
    headers: list[tuple[str, str]] = []
    index = 1
    while index < len(output) and output[index].strip():
        if output[index].strip() != ELLIPSIS:
            name, _, value = output[index].partition(":")
            headers.append((name.strip(), value.strip()))
        index += 1
    return ShownResponse(int(status), reason, headers, "\n".join(output[index:]).strip())


def token_like(shown: str, actual: str) -> bool:
    """Whether a value that changes from run to run matches the one shown."""
    if shown == actual:
        return True
    if ELLIPSIS in shown:
        pattern = ".+".join(re.escape(part) for part in shown.split(ELLIPSIS))
        return re.fullmatch(pattern, actual, flags=re.DOTALL) is not None
    return (_is_uuid(shown) and _is_uuid(actual)) or (_is_time(shown) and _is_time(actual))


def same_shape(shown: str, actual: str) -> bool:
    """Whether a random value (token, password) has the length and alphabet shown."""
    return (
        len(shown) == len(actual)
        and bool(_TOKEN_ALPHABET.fullmatch(shown))
        and bool(_TOKEN_ALPHABET.fullmatch(actual))
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


def _is_time(value: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)", value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def assert_like(
    shown: Any, actual: Any, *, learned: dict[str, str] | None = None, path: str = "body"
) -> None:
    """Compare a shown JSON value with the real one (see the module docstring).

    Shown strings that differ from the real ones are recorded in ``learned``.
    """
    if isinstance(shown, dict):
        assert isinstance(actual, dict), f"{path}: shown an object, got {actual!r}"
        assert sorted(shown) == sorted(actual), f"{path}: keys {sorted(shown)} != {sorted(actual)}"
        for key, value in shown.items():
            assert_like(value, actual[key], learned=learned, path=f"{path}.{key}")
        return
    if isinstance(shown, list):
        assert isinstance(actual, list), f"{path}: shown a list, got {actual!r}"
        assert len(shown) == len(actual), f"{path}: {len(shown)} items shown, got {len(actual)}"
        for index, (item, real) in enumerate(zip(shown, actual, strict=True)):
            assert_like(item, real, learned=learned, path=f"{path}[{index}]")
        return
    if isinstance(shown, str) and isinstance(actual, str) and shown != actual:
        field_name = path.rsplit(".", 1)[-1]
        matches = token_like(shown, actual) or (
            field_name in TOKEN_FIELDS and same_shape(shown, actual)
        )
        assert matches, f"{path}: shown {shown!r}, got {actual!r}"
        if learned is not None and ELLIPSIS not in shown:
            learned[shown] = actual
        return
    assert type(shown) is type(actual), f"{path}: shown {shown!r}, got {actual!r}"
    assert shown == actual, f"{path}: shown {shown!r}, got {actual!r}"


def assert_response_like(
    shown: ShownResponse, response: HttpResponse, *, learned: dict[str, str]
) -> None:
    """Compare a real answer with the status, headers and body a page shows."""
    body = response.content.decode()
    if shown.status is not None:
        assert (response.status_code, response.reason_phrase) == (shown.status, shown.reason), (
            f"status {response.status_code} {response.reason_phrase}, shown {shown.status} "
            f"{shown.reason}: {body}"
        )
    for name, value in shown.headers:
        real = response.headers.get(name)
        assert real is not None, f"no {name} header; shown {value!r}"
        assert token_like(value, real) or (value.isdigit() and real.isdigit()), (
            f"{name}: shown {value!r}, got {real!r}"
        )
    if not shown.body:
        assert body == "", f"no body shown, got {body!r}"
        return
    assert body, f"shown {shown.body!r}, got no body"
    expected = json.loads(shown.body)
    if shown.status is None:
        is_error = isinstance(expected, dict) and ("error" in expected or "detail" in expected)
        assert (response.status_code >= 400) == is_error, f"status {response.status_code}: {body}"
    assert_like(expected, json.loads(body), learned=learned)


@dataclass
class Shell:
    """A shell session replaying a page's curl commands against Django's test client.

    ``bind`` names the shell variables the page's prose defines: variable →
    JSON field of the first answer that has it (``{"ACCESS": "access_token"}``).
    """

    client: Client
    bind: Mapping[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    literals: dict[str, str] = field(default_factory=dict)

    def expand(self, command: str) -> str:
        """Fill in ``$VARIABLES`` and the real values of the ids and tokens shown earlier."""

        def value(match: re.Match[str]) -> str:
            name = match[1] or match[2]
            assert name in self.variables, f"${name} is used before any answer defines it"
            return self.variables[name]

        command = _VARIABLE.sub(value, command)
        for shown in sorted(self.literals, key=len, reverse=True):
            command = command.replace(shown, self.literals[shown])
        return command

    def run(self, exchange: Exchange) -> HttpResponse:
        """Send one command, check the answer against the shown output, learn from it."""
        request = parse_curl(self.expand(exchange.command))
        response = send(self.client, request)
        shown = parse_shown(exchange.output, with_headers=request.show_headers)
        try:
            assert_response_like(shown, response, learned=self.literals)
        except AssertionError as exc:
            raise AssertionError(f"$ {exchange.command}\n{exc}") from None
        if response.content and response.headers.get("Content-Type", "").startswith(
            "application/json"
        ):
            answer = json.loads(response.content)
            for variable, field_name in self.bind.items():
                if (
                    variable not in self.variables
                    and isinstance(answer, dict)
                    and field_name in answer
                ):
                    self.variables[variable] = answer[field_name]
        return response

    def replay(self, block: Block) -> list[HttpResponse]:
        """Run every command of a console block, in order."""
        return [self.run(exchange) for exchange in transcript(block)]


def manage(command: str) -> list[str]:
    """Run ``python manage.py ...`` in this process with ``call_command``; return its output."""
    words = shlex.split(command)
    assert words[:2] == ["python", "manage.py"], command
    out, err = StringIO(), StringIO()
    call_command(*words[2:], stdout=out, stderr=err)
    return (out.getvalue() + err.getvalue()).splitlines()


def cron_commands(block: Block) -> list[list[str]]:
    """The ``manage.py`` arguments of each crontab line, its schedule checked."""
    commands: list[list[str]] = []
    for line in block.lines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split(None, 5)
        for schedule in fields[:5]:
            assert _CRON_FIELD.fullmatch(schedule), f"{block.where}: bad schedule in {line!r}"
        assert " manage.py " in fields[5], f"{block.where}: no manage.py command in {line!r}"
        commands.append(shlex.split(fields[5].split(" manage.py ", 1)[1]))
    return commands


def assert_text_like(
    shown: list[str],
    actual: list[str],
    *,
    random: Collection[str] = (),
    bound: dict[str, str] | None = None,
) -> None:
    """Compare command output with the lines shown.

    Words are compared one by one (runs of spaces do not matter); a word
    with ``…`` and a timestamp match by shape. A shown word in ``random``
    (a password, a key id) matches any word of its length and alphabet
    (any length when it is cut with ``…``), and then stands for that word:
    ``bound`` remembers it, and every later use must be the same. A line
    ``...`` stands for any number of lines.
    """
    bound = {} if bound is None else bound

    def word_like(word: str, other: str) -> bool:
        if word not in random:
            return token_like(word, other)
        if word in bound:
            return bound[word] == other
        return (ELLIPSIS in word and bool(_TOKEN_ALPHABET.fullmatch(other))) or same_shape(
            word, other
        )

    def line_like(shown_line: str, actual_line: str) -> bool:
        words, real = shown_line.split(), actual_line.split()
        return len(words) == len(real) and all(
            word_like(word, other) for word, other in zip(words, real, strict=True)
        )

    def bind(shown_line: str, actual_line: str) -> None:
        for word, other in zip(shown_line.split(), actual_line.split(), strict=True):
            if word in random:
                bound.setdefault(word, other)

    position = 0
    skipping = False
    for line in shown:
        if line.strip() == "...":
            skipping = True
            continue
        while skipping and position < len(actual) and not line_like(line, actual[position]):
            position += 1
        assert position < len(actual), f"no line like {line!r} in:\n" + "\n".join(actual)
        assert line_like(line, actual[position]), (
            f"shown {line!r}, got {actual[position]!r} in:\n" + "\n".join(actual)
        )
        bind(line, actual[position])
        position += 1
        skipping = False
    assert skipping or position == len(actual), "lines not shown:\n" + "\n".join(actual[position:])
