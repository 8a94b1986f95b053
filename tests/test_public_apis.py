"""bearer_auth uses its dependencies' public APIs only; whatever cannot lives in ``compat.py``.

Users upgrade Django, DRF, DOT, oauthlib and PyJWT on their own schedule. A
private name of theirs (underscore attributes, their internals, patching
their modules, unregistering their admin) breaks on their upgrade, not ours.
This reads every module of the package except ``bearer_auth/compat.py``
(the one place such a use may live, each with a test in ``tests/test_compat.py``
that fails when the dependency changes it) and
refuses:

- importing an underscore name, or from an underscore module, of a dependency;
- an underscore attribute reached from a dependency's module or class
  (``Model._meta`` and ``Model._default_manager`` are documented Django API);
- ``super()._name(...)`` other than DOT's documented override points;
- assigning to an attribute of a dependency's module or class (monkeypatching);
- ``admin.site.unregister`` of another app's model;
- the internals this package once used, by name.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bearer_auth"
DEPENDENCIES = (
    "django",
    "rest_framework",
    "rest_framework_simplejwt",
    "oauth2_provider",
    "oauthlib",
    "jwt",
    "cryptography",
    # bearer_auth.mcp (the mcp extra)
    "mcp",
    "starlette",
    "pydantic",
    "pydantic_core",
    "asgiref",
    # bearer_auth.ninja (the ninja extra)
    "ninja",
)
#: Underscore names that are public API: Django's documented ``Model._meta`` and
#: ``Model._default_manager``.
DOCUMENTED = frozenset({"_meta", "_default_manager"})
#: DOT's validator docstring asks subclasses to override ``_save_bearer_token``.
OVERRIDE_POINTS = frozenset({"_save_bearer_token"})
#: Internals the package once reached into (the issue that moved it to public APIs).
FORMER_INTERNALS = re.compile(
    r"\b(get_related_populators|klass_info|get_converters|apply_converters|InsertQuery"
    r"|UpdateQuery|_for_write|CursorWrapper|_password|_set_token_value|_add_iss_to_redirect"
    r"|_get_endpoint_url|_grant_types|_response_types|_request|_check_and_set_request_resource"
    r"|_create_authorization_code|_create_access_token|_create_refresh_token"
    r"|_load_application)\b|cursor\.cursor\b"
)


def modules() -> list[Path]:
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if path.name != "compat.py" and "migrations" not in path.parts
    )


def _is_dependency(module: str | None) -> bool:
    return bool(module) and str(module).split(".")[0] in DEPENDENCIES


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name not in DOCUMENTED


class _Uses(ast.NodeVisitor):
    def __init__(self) -> None:
        self.found: list[str] = []
        self.dependency_names: set[str] = set()

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if _is_dependency(alias.name):
                if any(_private(part) for part in alias.name.split(".")):
                    self.found.append(f"line {node.lineno}: import {alias.name}")
                self.dependency_names.add((alias.asname or alias.name).split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if not _is_dependency(node.module):
            return
        if any(_private(part) for part in str(node.module).split(".")):
            self.found.append(f"line {node.lineno}: from {node.module}")
        for alias in node.names:
            if _private(alias.name):
                self.found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
            self.dependency_names.add(alias.asname or alias.name)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        root: ast.AST = node
        chain = []
        while isinstance(root, ast.Attribute):
            chain.append(root.attr)
            root = root.value
        if isinstance(root, ast.Name) and root.id in self.dependency_names:
            private = [name for name in chain if _private(name)]
            if private:
                self.found.append(f"line {node.lineno}: {root.id}...{private[0]}")
        if (
            isinstance(root, ast.Call)
            and isinstance(root.func, ast.Name)
            and root.func.id == "super"
            and _private(node.attr)
            and node.attr not in OVERRIDE_POINTS
        ):
            self.found.append(f"line {node.lineno}: super().{node.attr}")
        if node.attr == "unregister":
            self.found.append(f"line {node.lineno}: unregister")
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id in self.dependency_names
            ):
                self.found.append(f"line {node.lineno}: patches {target.value.id}.{target.attr}")
        self.generic_visit(node)


@pytest.mark.parametrize("path", modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_dependency_internals_outside_compat(path: Path) -> None:
    source = path.read_text()
    uses = _Uses()
    uses.visit(ast.parse(source))
    former = [
        f"line {source.count(chr(10), 0, match.start()) + 1}: {match.group()}"
        for match in FORMER_INTERNALS.finditer(source)
    ]
    assert uses.found + former == [], (
        "use public APIs, or move the use to bearer_auth/compat.py with a test"
    )


def test_the_check_sees_what_it_refuses() -> None:
    # The visitor itself: each refused form is found in a sample module.
    sample = """
from django.db.models.query import _private_helper
from oauth2_provider.oauth2_backends import get_oauthlib_core
from oauth2_provider.management.commands import cleartokens
import rest_framework

get_oauthlib_core._cache = None
cleartokens.Command = object
value = rest_framework.request._internal
admin.site.unregister(Model)

class Validator(Base):
    def save(self):
        super()._create_access_token()
        super()._save_bearer_token()
        return Model._meta
"""
    uses = _Uses()
    uses.visit(ast.parse(sample))
    assert [finding.split(": ", 1)[1] for finding in uses.found] == [
        "from django.db.models.query import _private_helper",
        "patches get_oauthlib_core._cache",
        "get_oauthlib_core..._cache",
        "patches cleartokens.Command",
        "rest_framework..._internal",
        "unregister",
        "super()._create_access_token",
    ]
