"""bearer_auth: a bearer-token authorization server and resource server for Django.

The version is read by setuptools (``setup.cfg``: ``attr: bearer_auth.__version__``);
CHANGELOG.md and the README name the same one (``tests/test_version.py``).
"""

from __future__ import annotations

__version__ = "0.1.0"
