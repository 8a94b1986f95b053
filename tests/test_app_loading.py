"""bearer_auth loads in any order of imports: a project without django.contrib.admin.

The test settings install the admin, whose autodiscovery imports
bearer_auth's admin modules first; a project without it (the bench's
settings) reaches ``bearer_auth.services`` first from ``AppConfig.ready``.
An import cycle between the oauth and services packages once broke only
the latter, so it is run here in a fresh interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.processes import ROOT


def test_the_app_loads_without_the_admin() -> None:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    loaded = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('ready')"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "ready"
