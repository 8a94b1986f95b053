"""The built wheel carries everything a project needs at run time."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bearer_auth import __version__
from tests.processes import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("django_bearer_auth-*.whl")
    assert wheel.name.startswith(f"django_bearer_auth-{__version__}-")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


@pytest.mark.parametrize(
    "member",
    [
        "bearer_auth/py.typed",
        "bearer_auth/templates/bearer_auth/base.html",
        "bearer_auth/static/bearer_auth/bearer_auth.css",
        "bearer_auth/migrations/0001_create_email_user.py",
        "bearer_auth/models.py",
    ],
)
def test_wheel_contains(wheel_names: set[str], member: str) -> None:
    assert member in wheel_names


def test_wheel_leaves_out_demo_and_tests(wheel_names: set[str]) -> None:
    assert not [name for name in wheel_names if name.startswith(("demo_project/", "tests/"))]


def test_wheel_metadata_names_the_dependencies(wheel_names: set[str], tmp_path: Path) -> None:
    (metadata,) = [name for name in wheel_names if name.endswith(".dist-info/METADATA")]
    assert metadata.startswith(f"django_bearer_auth-{__version__}.dist-info/")
