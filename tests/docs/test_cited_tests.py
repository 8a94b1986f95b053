"""Every test the documentation cites as proof exists.

docs/security.md proves each promise with test ids (``tests/...py::test_name``),
and other pages cite tests too. A test renamed or deleted would leave a
promise standing on nothing: each cited id must name a test function (or
class) of that file. That the test passes is the suite's own business.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from typing import Final

import pytest

from tests.docs.markdown import pages
from tests.processes import ROOT

CITED: Final = re.compile(r"\b(tests/[\w/]+\.py)::(\w+)")


def _citations() -> list[tuple[str, str, str]]:
    found = []
    for page in pages():
        text = (ROOT / page).read_text(encoding="utf-8")
        found.extend((page, path, name) for path, name in CITED.findall(text))
    return sorted(set(found))


@cache
def _defined(path: str) -> frozenset[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return frozenset(node.name for node in ast.walk(tree) if isinstance(node, kinds))


def test_the_security_page_cites_tests() -> None:
    assert sum(page == "docs/security.md" for page, _, _ in _citations()) > 100


@pytest.mark.parametrize(("page", "path", "name"), _citations())
def test_a_cited_test_exists(page: str, path: str, name: str) -> None:
    assert (ROOT / path).is_file(), f"{page} cites {path}, which does not exist"
    assert name in _defined(path), f"{page} cites {path}::{name}, which is not defined there"
