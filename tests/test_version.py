"""The package, its metadata, the CHANGELOG and the README name one version."""

from __future__ import annotations

import configparser
import re
from importlib import metadata

import bearer_auth
from tests.processes import ROOT

# PEP 440 public versions of the shape this project uses: 1.2.3, 1.2.3rc1.
VERSION = re.compile(r"\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?")


def test_version_is_a_pep_440_release_number() -> None:
    assert VERSION.fullmatch(bearer_auth.__version__)


def test_setup_cfg_reads_the_version_from_the_package() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert config["metadata"]["version"] == "attr: bearer_auth.__version__"


def test_installed_metadata_has_the_package_version() -> None:
    assert metadata.version("django-bearer-auth") == bearer_auth.__version__


def test_changelog_newest_entry_is_the_package_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    versions = re.findall(r"^## (\S+)", changelog, flags=re.MULTILINE)
    assert versions, "CHANGELOG.md has no version headings"
    assert versions[0] == bearer_auth.__version__


def test_readme_names_the_package_version() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.findall(r"^Version (\S+) \(see \[CHANGELOG", readme, flags=re.MULTILINE) == [
        bearer_auth.__version__
    ]
