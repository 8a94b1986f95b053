"""Every fenced block of README.md and docs/*.md is run by a test, or says why not.

Also checks the harness itself: a comparison that let everything through
would make every page's test pass.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import PurePosixPath

import pytest
from django.http import HttpResponse

import tests.docs
from tests.docs.markdown import Block, claims, page_blocks, pages, parse_blocks, transcript
from tests.docs.replay import (
    ShownResponse,
    assert_like,
    assert_response_like,
    assert_text_like,
    parse_curl,
)
from tests.processes import ROOT

#: Test modules outside tests/docs/ that claim blocks.
CLAIMING_MODULES = (
    "tests.test_quickstart",
    "tests.test_migrating",
    "tests.browser.test_browser_apps_md",
)

#: The blocks that are not run, by page and first line: diagrams and crontab
#: lines for a server. Adding one means changing this list on purpose.
NOT_RUN = {
    ("docs/design.md", "Authorization: Bearer <token>"),
    (
        "docs/design.md",
        "POST /auth/token/  (email, password)       bearer_auth/services/password_sign_in.py",
    ),
    ("docs/design.md", "oauthlib RefreshTokenGrant.create_token_response()       one transaction"),
    ("docs/deployment.md", "┌──────────────── load balancer (TLS) ────────────────┐"),
}


def _import_claiming_modules() -> None:
    for module in CLAIMING_MODULES:
        importlib.import_module(module)
    for info in pkgutil.iter_modules(tests.docs.__path__):
        if info.name.startswith("test_"):
            importlib.import_module(f"tests.docs.{info.name}")


def _all_blocks() -> list[Block]:
    return [block for page in pages() for block in page_blocks(page)]


def test_every_block_is_run_or_says_why_not() -> None:
    _import_claiming_modules()
    claimed = claims()
    unclaimed = [
        f"{block.where} (```{block.language}): "
        + (
            f"sample {block.sample!r} is claimed by no test"
            if block.sample
            else "needs <!-- sample: NAME --> (and a test) or <!-- not-run: reason -->"
        )
        for block in _all_blocks()
        if not block.not_run and (block.page, block.sample) not in claimed
    ]
    assert unclaimed == []


def test_every_claim_names_exactly_one_block() -> None:
    _import_claiming_modules()
    named = [(block.page, block.sample) for block in _all_blocks() if block.sample]
    assert sorted(claims() - set(named)) == []
    assert sorted(name for name in named if named.count(name) > 1) == []


def test_the_blocks_not_run_are_the_known_few() -> None:
    not_run = {
        (block.page, block.text.strip().splitlines()[0].strip())
        for block in _all_blocks()
        if block.not_run
    }
    assert not_run == NOT_RUN


def _anchors(page: str) -> set[str]:
    """GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces to -."""
    text = (ROOT / page).read_text(encoding="utf-8")
    headings = re.findall(r"^#+ (.+)$", re.sub(r"```.*?```", "", text, flags=re.DOTALL), re.M)
    return {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings
    }


def test_relative_links_and_anchors_resolve() -> None:
    broken = []
    for page in pages():
        text = (ROOT / page).read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            linked = str(PurePosixPath(page).parent / path) if path else page
            linked = str(PurePosixPath(linked)).removeprefix("./")
            if not (ROOT / linked).exists():
                broken.append(f"{page}: {target} (no file {linked})")
            elif anchor and linked.endswith(".md") and anchor not in _anchors(linked):
                broken.append(f"{page}: {target} (no heading #{anchor})")
    assert broken == []


# The harness.


def test_markers_sit_right_above_the_fence() -> None:
    text = (
        "<!-- sample: one -->\n```python\nA = 1\n```\n\n"
        "<!-- not-run: a diagram -->\n```\n+--+\n```\n\n"
        "<!-- sample: too-far -->\n\n```console\n$ true\n```\n"
        "- item\n\n  ```sh\n  $ curl -s http://x/ \\\n      -d a=b\n  {}\n  ```\n"
    )
    blocks = parse_blocks("page.md", text)
    assert [(block.sample, block.not_run, block.language) for block in blocks] == [
        ("one", None, "python"),
        (None, "a diagram", ""),
        (None, None, "console"),
        (None, None, "sh"),
    ]
    [exchange] = transcript(blocks[3])
    assert exchange.command == "curl -s http://x/ -d a=b"
    assert exchange.output == ["{}"]


def test_an_unclosed_fence_is_an_error() -> None:
    with pytest.raises(AssertionError, match="never closed"):
        parse_blocks("page.md", "```python\nA = 1\n")


def test_curl_is_read_like_curl() -> None:
    request = parse_curl(
        "curl -si -X DELETE 'http://127.0.0.1:8000/auth/sessions/?a=1' -H 'Authorization: Bearer x'"
    )
    assert (request.method, request.host, request.path) == (
        "DELETE",
        "127.0.0.1:8000",
        "/auth/sessions/?a=1",
    )
    assert request.headers["Authorization"] == "Bearer x"
    assert request.show_headers
    form = parse_curl("curl -s http://h/t/ -d a=b -d 'c=d e'")
    assert (form.method, form.body) == ("POST", "a=b&c=d e")
    assert form.headers["Content-Type"] == "application/x-www-form-urlencoded"
    with pytest.raises(AssertionError, match="unsupported curl option"):
        parse_curl("curl -k http://h/")


@pytest.mark.parametrize(
    ("shown", "actual"),
    [
        ({"a": 1}, {"a": 1, "b": 2}),
        ({"a": 1}, {"a": 2}),
        ({"a": 1}, {"a": "1"}),
        ([{"a": 1}], [{"a": 1}, {"a": 1}]),
        ({"scope": "read write"}, {"scope": "read"}),
        ({"access_token": "eyJhbGci…"}, {"access_token": "eyJzdWIi.x"}),
        ({"refresh_token": "abcdef"}, {"refresh_token": "abcdefg"}),
        ({"id": "a4bc615b-e6e5-41d7-b4e4-5a85bb8f830f"}, {"id": "42"}),
        ({"created": "2026-11-28T04:04:31.221545Z"}, {"created": "yesterday"}),
        ({"current": True}, {"current": 1}),
    ],
)
def test_a_different_answer_does_not_pass(shown: object, actual: object) -> None:
    with pytest.raises(AssertionError):
        assert_like(shown, actual)


def test_values_that_change_every_run_match_by_shape_and_are_learned() -> None:
    learned: dict[str, str] = {}
    assert_like(
        {
            "access_token": "eyJhbGci…",
            "refresh_token": "oiVLbxfrrFAgpikV3pugUR8WJerrkZ",
            "id": "a4bc615b-e6e5-41d7-b4e4-5a85bb8f830f",
            "created": "2026-11-28T04:04:31.221545Z",
        },
        {
            "access_token": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
            "refresh_token": "Q" * 30,
            "id": "63829f0e-b68b-4ecf-887c-cb91b2df273c",
            "created": "2027-01-02T03:04:05.000001+00:00",
        },
        learned=learned,
    )
    assert learned == {
        "oiVLbxfrrFAgpikV3pugUR8WJerrkZ": "Q" * 30,
        "a4bc615b-e6e5-41d7-b4e4-5a85bb8f830f": "63829f0e-b68b-4ecf-887c-cb91b2df273c",
        "2026-11-28T04:04:31.221545Z": "2027-01-02T03:04:05.000001+00:00",
    }


def test_status_and_headers_shown_must_match() -> None:
    response = HttpResponse(status=204)
    response["Cache-Control"] = "no-store"
    assert_response_like(
        ShownResponse(204, "No Content", [("Cache-Control", "no-store")], ""), response, learned={}
    )
    for shown in (
        ShownResponse(200, "OK", [], ""),
        ShownResponse(204, "No Content", [("Cache-Control", "private")], ""),
        ShownResponse(204, "No Content", [("Retry-After", "42")], ""),
        ShownResponse(204, "No Content", [], "{}"),
    ):
        with pytest.raises(AssertionError):
            assert_response_like(shown, response, learned={})


def test_command_output_is_compared_word_by_word() -> None:
    actual = ["KID  ALG", "2yB0abcQ8  ES256", "Pruned 0 expired signing key(s)."]
    assert_text_like(["KID ALG", "2yB0…Q8 ES256", "..."], actual)
    assert_text_like(["...", "Pruned 0 expired signing key(s)."], actual)
    for shown in (
        ["KID ALG", "2yB0…Q8 RS256", "..."],
        ["KID ALG", "2yB0…Q8 ES256"],
        ["...", "Pruned 1 expired signing key(s)."],
    ):
        with pytest.raises(AssertionError):
            assert_text_like(shown, actual)
    assert_text_like(["password: 3kz0H5v1"], ["password: Zz9_Aa-1"], random={"3kz0H5v1"})
    with pytest.raises(AssertionError):
        assert_text_like(["password: 3kz0H5v1"], ["password: Zz9_Aa-1"])
