"""The built sdist and wheel carry what a project needs, and claim exactly what CI runs.

The Python and Django versions in the metadata (classifiers, Requires-Python,
the Django requirement) must be those of tox.ini's matrix, which ``.ci/run``
runs; every run-time dependency is capped.
"""

from __future__ import annotations

import configparser
import re
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from email.message import Message
from email.parser import Parser

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from bearer_auth import __version__
from tests.processes import ROOT

pytestmark = pytest.mark.slow

DIST_INFO = f"django_bearer_auth-{__version__}.dist-info"
SDIST_ROOT = f"django_bearer_auth-{__version__}"


@dataclass(frozen=True)
class Dist:
    wheel_names: set[str]
    sdist_names: set[str]
    metadata: Message
    wheel_license: str
    build_log: str


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """``python -m build``: the sdist, then the wheel built from that sdist."""
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = out.glob("django_bearer_auth-*.whl")
    (sdist,) = out.glob("django_bearer_auth-*.tar.gz")
    assert wheel.name.startswith(f"django_bearer_auth-{__version__}-")
    with zipfile.ZipFile(wheel) as archive:
        wheel_names = set(archive.namelist())
        metadata = Parser().parsestr(archive.read(f"{DIST_INFO}/METADATA").decode())
        wheel_license = archive.read(f"{DIST_INFO}/licenses/LICENSE").decode()
    with tarfile.open(sdist) as archive:
        sdist_names = set(archive.getnames())
    return Dist(wheel_names, sdist_names, metadata, wheel_license, built.stdout + built.stderr)


@pytest.mark.parametrize(
    "member",
    [
        "bearer_auth/py.typed",
        "bearer_auth/templates/bearer_auth/base.html",
        "bearer_auth/static/bearer_auth/bearer_auth.css",
        "bearer_auth/migrations/0001_create_email_user.py",
        "bearer_auth/locale/fr/LC_MESSAGES/django.mo",
        "bearer_auth/locale/fr/LC_MESSAGES/django.po",
        "bearer_auth/static/bearer_auth/admin/client_secret_popup.js",
        "bearer_auth/templates/bearer_auth/admin/sign_out_everywhere.html",
        "bearer_auth/models.py",
        f"{DIST_INFO}/licenses/LICENSE",
    ],
)
def test_wheel_contains(dist: Dist, member: str) -> None:
    assert member in dist.wheel_names


def test_the_build_has_no_package_data_warnings(dist: Dist) -> None:
    """setuptools warned ~150 lines when templates/, static/, locale/ were not declared packages."""
    for warning in ("is absent from the `packages` configuration", "would be ignored"):
        assert warning not in dist.build_log


def test_wheel_leaves_out_demo_and_tests(dist: Dist) -> None:
    assert not [name for name in dist.wheel_names if name.startswith(("demo_project/", "tests/"))]


def test_the_license_is_bsd_3_clause_of_the_bearer_auth_authors(dist: Dist) -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("BSD 3-Clause License\n")
    assert "Copyright (c) 2026, the bearer_auth authors\n" in text
    assert dist.wheel_license == text
    assert f"{SDIST_ROOT}/LICENSE" in dist.sdist_names
    assert dist.metadata["License-Expression"] == "BSD-3-Clause"
    assert dist.metadata.get_all("License-File") == ["LICENSE"]
    assert not [c for c in dist.metadata.get_all("Classifier", []) if c.startswith("License ::")]


def _run_time_requirements(metadata: Message) -> dict[str, Requirement]:
    requirements = [Requirement(line) for line in metadata.get_all("Requires-Dist", [])]
    return {req.name.lower(): req for req in requirements if req.marker is None}


def test_every_run_time_dependency_is_capped(dist: Dist) -> None:
    requirements = _run_time_requirements(dist.metadata)
    assert set(requirements) == {
        "django",
        "djangorestframework",
        "djangorestframework-simplejwt",
        "django-oauth-toolkit",
        "oauthlib",
        "pyjwt",
        "cryptography",
    }
    uncapped = [
        str(req)
        for req in requirements.values()
        if not any(spec.operator in ("<", "<=", "~=", "==") for spec in req.specifier)
    ]
    assert uncapped == []


def _matrix() -> tuple[set[str], set[str]]:
    """The Python and Django versions of tox.ini's environments: ({"3.10", ...}, {"5.2", ...})."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "tox.ini")
    pythons, djangos = set(), set()
    for env in config["tox"]["env_list"].split():
        if match := re.fullmatch(r"py3(\d+)-django(\d)(\d)(-[a-z-]+)?", env):
            pythons.add(f"3.{match[1]}")
            djangos.add(f"{match[2]}.{match[3]}")
    return pythons, djangos


def _classified(metadata: Message, prefix: str) -> set[str]:
    return {
        classifier.removeprefix(prefix)
        for classifier in metadata.get_all("Classifier", [])
        if re.fullmatch(re.escape(prefix) + r"\d+\.\d+", classifier)
    }


def test_python_versions_claimed_are_those_ci_runs(dist: Dist) -> None:
    pythons, _ = _matrix()
    assert pythons >= {"3.11", "3.12", "3.13"}
    assert _classified(dist.metadata, "Programming Language :: Python :: ") == pythons
    requires_python = SpecifierSet(dist.metadata["Requires-Python"])
    allowed = {f"3.{minor}" for minor in range(30) if requires_python.contains(f"3.{minor}.0")}
    assert allowed == pythons


def test_django_versions_claimed_are_those_ci_runs(dist: Dist) -> None:
    _, djangos = _matrix()
    assert djangos >= {"5.2", "6.0", "6.1"}
    assert _classified(dist.metadata, "Framework :: Django :: ") == djangos
    django = _run_time_requirements(dist.metadata)["django"].specifier
    newest = max(Version(version) for version in djangos)
    oldest = min(Version(version) for version in djangos)
    for version in djangos:
        assert django.contains(f"{version}.0"), version
    assert not django.contains(f"{newest.major}.{newest.minor + 1}")
    below_oldest = (
        f"{oldest.major}.{oldest.minor - 1}" if oldest.minor else f"{oldest.major - 1}.9999"
    )
    assert not django.contains(below_oldest)
