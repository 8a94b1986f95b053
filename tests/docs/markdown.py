"""Read the fenced code blocks of the documentation, and who runs each one.

A block is run by a test that claims it by page and name at import time
(``SETTINGS = sample("docs/settings.md", "bearer-auth")``); the Markdown
names it with ``<!-- sample: NAME -->`` on the line just before its fence.
A block that cannot run says why instead: ``<!-- not-run: reason -->``.
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from tests.processes import ROOT

_FENCE: Final = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<language>[\w+-]*)\s*$")
_MARKER: Final = re.compile(r"^\s*<!--\s*(?P<kind>sample|not-run):\s*(?P<value>.+?)\s*-->\s*$")
# "# mysite/settings.py" or "# settings.py, during the transition": a file of a Python block.
_FILE_HEADER: Final = re.compile(r"^# (?P<path>[\w./-]+\.py)\b")

_claims: set[tuple[str, str]] = set()


def pages() -> list[str]:
    """Every documentation page, relative to the repository root."""
    return ["README.md", *(f"docs/{path.name}" for path in sorted((ROOT / "docs").glob("*.md")))]


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: str
    line: int  # of the opening fence, 1-based
    language: str
    text: str  # the body, without the indentation of a list item
    sample: str | None  # NAME of <!-- sample: NAME -->
    not_run: str | None  # reason of <!-- not-run: reason -->

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    def lines(self) -> list[str]:
        return self.text.splitlines()


def parse_blocks(page: str, text: str) -> list[Block]:
    """Return the fenced blocks of Markdown ``text``, each with its marker if any."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        body: list[str] = []
        end = index + 1
        while end < len(lines) and lines[end].strip() != fence:
            body.append(lines[end][indent:] if lines[end][:indent].isspace() else lines[end])
            end += 1
        if end == len(lines):
            raise AssertionError(f"{page}:{index + 1}: the fence is never closed")
        marker = _MARKER.match(lines[index - 1]) if index else None
        blocks.append(
            Block(
                page=page,
                line=index + 1,
                language=opening["language"],
                text="\n".join(body) + "\n",
                sample=marker["value"] if marker and marker["kind"] == "sample" else None,
                not_run=marker["value"] if marker and marker["kind"] == "not-run" else None,
            )
        )
        index = end + 1
    return blocks


@cache
def _page_blocks(page: str, mtime_ns: int) -> tuple[Block, ...]:
    return tuple(parse_blocks(page, (ROOT / page).read_text(encoding="utf-8")))


def page_blocks(page: str) -> list[Block]:
    """The blocks of a page (``README.md``, ``docs/api.md``, ...)."""
    return list(_page_blocks(page, (ROOT / page).stat().st_mtime_ns))


@dataclass(frozen=True)
class Sample:
    """A test's claim on the block named ``name`` of ``page``."""

    page: str
    name: str

    @property
    def block(self) -> Block:
        found = [block for block in page_blocks(self.page) if block.sample == self.name]
        assert len(found) == 1, f"{self.page} has {len(found)} blocks marked sample: {self.name}"
        return found[0]


def sample(page: str, name: str) -> Sample:
    """Claim a block for the calling test module; call it at import time."""
    _claims.add((page, name))
    return Sample(page, name)


def claims() -> frozenset[tuple[str, str]]:
    """Every (page, name) claimed by the test modules imported so far."""
    return frozenset(_claims)


@dataclass(frozen=True)
class Exchange:
    """One ``$ command`` of a console block and the output shown under it."""

    command: str
    output: list[str]


def transcript(block: Block) -> list[Exchange]:
    """Split a console block into commands and their output.

    A command starts with ``$ ``; a trailing backslash continues it on the
    next line, as in a shell.
    """
    exchanges: list[Exchange] = []
    continued = False
    for line in block.lines():
        if continued:
            exchanges[-1] = Exchange(f"{exchanges[-1].command[:-1]}{line.strip()}", [])
        elif line.startswith("$ "):
            exchanges.append(Exchange(line[2:], []))
        else:
            assert exchanges, f"{block.where}: output before the first $ command"
            exchanges[-1].output.append(line)
        continued = exchanges[-1].command.endswith("\\") and not exchanges[-1].output
    return exchanges


@dataclass(frozen=True)
class Snippet:
    """One file's part of a Python block: ``# path`` on its first line names the file."""

    path: str | None
    heading: str
    code: str
    origin: str  # page:line, for messages
    first_line: int  # the line of the page the code starts on

    def run(self, **namespace: Any) -> dict[str, Any]:
        """Execute the code in a fresh module namespace (pre-filled with ``namespace``).

        Line numbers in tracebacks are those of the Markdown page.
        """
        page = self.origin.rsplit(":", 1)[0]
        module = types.ModuleType(f"doc_sample_{self.first_line}")
        module.__dict__.update(namespace)
        source = "\n" * (self.first_line - 1) + self.code
        exec(compile(source, str(ROOT / page), "exec"), module.__dict__)  # noqa: S102
        return module.__dict__

    def settings(self, **namespace: Any) -> dict[str, Any]:
        """Run the code as a settings module and return its UPPER_CASE names."""
        return {name: value for name, value in self.run(**namespace).items() if name.isupper()}


def snippets(block: Block) -> list[Snippet]:
    """Split a Python block into its files (one part when it names no file)."""
    parts: list[Snippet] = []
    lines = block.lines()
    starts = [index for index, line in enumerate(lines) if _FILE_HEADER.match(line)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    for number, start in enumerate(starts):
        stop = starts[number + 1] if number + 1 < len(starts) else len(lines)
        header = _FILE_HEADER.match(lines[start])
        code_start = start + 1 if header else start
        parts.append(
            Snippet(
                path=header["path"] if header else None,
                heading=lines[start] if header else "",
                code="\n".join(lines[code_start:stop]).rstrip("\n") + "\n",
                origin=f"{block.where}",
                first_line=block.line + 1 + code_start,
            )
        )
    return parts


def snippet(block: Block, heading: str) -> Snippet:
    """The one part of a Python block whose first line starts with ``heading``."""
    found = [part for part in snippets(block) if part.heading.startswith(heading)]
    assert len(found) == 1, f"{block.where}: {len(found)} parts start with {heading!r}"
    return found[0]
