"""Storage at rest: a dump of every table (and of the cache) yields no usable secret.

RFC 9700 §4.14/§2.2 token storage, RFC 6749 §10.3-10.5 (tokens, codes and
client secrets), RFC 8725 key handling: after first-party sign-ins,
refreshes, revocations, OAuth flows (one code left unredeemed), client
credentials and a key rotation, every column of every table is read back as
text and searched for each secret the clients were given. On a SQLite file
the raw bytes are searched too: the database file and its write-ahead log,
where deleted rows and every earlier version of a page can still be read.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import caches
from django.db import connection

from tests.processes import ROOT
from tests.security.flows import hand_out_every_secret


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _as_text(value: Any) -> str:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return value.decode("latin-1") + " " + base64.b64encode(value).decode()
    return str(value)


def dump_database() -> str:
    """Every value of every table of the default database, as text (sessions decoded too)."""
    parts: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {_quote(table)}")  # noqa: S608 - introspected names
            for row in cursor.fetchall():
                parts.extend(_as_text(value) for value in row)
            if table == "django_session":
                cursor.execute(f"SELECT session_data FROM {_quote(table)}")  # noqa: S608
                parts.extend(str(SessionStore().decode(data)) for (data,) in cursor.fetchall())
    return "\n".join(parts)


def dump_cache() -> str:
    """Every key and value in the cache (local memory or Redis), as text."""
    cache = caches["default"]
    backend = type(cache).__name__
    if backend == "LocMemCache":
        entries = cache._cache.items()  # type: ignore[attr-defined]
        return "\n".join(
            f"{key} {pickle.loads(value)!r}"  # noqa: S301 - the test's own cache
            for key, value in entries
        )
    assert backend == "RedisCache", f"no dump for the {backend} cache backend"
    client = cache._cache.get_client()  # type: ignore[attr-defined]
    parts = []
    for key in client.scan_iter(match=f"{cache.key_prefix}*"):
        parts.append(f"{key!r} {client.get(key)!r}")
    return "\n".join(parts)


def _assert_nothing_found(dump: str, secrets: dict[str, str]) -> None:
    found = sorted(name for name, value in secrets.items() if value and value in dump)
    assert found == [], f"found at rest: {found}"


def check_storage() -> None:
    """Exercise every flow, then search the database and cache dumps for every secret."""
    secrets = hand_out_every_secret(leave_a_code_unredeemed=True)
    database = dump_database()
    assert "pbkdf2" in database or "md5$" in database  # the dump reads real rows
    _assert_nothing_found(database, secrets)
    _assert_nothing_found(dump_cache(), secrets)


@pytest.mark.django_db
def test_no_secret_is_stored_in_any_table_or_the_cache() -> None:
    check_storage()


@pytest.mark.postgres
@pytest.mark.django_db
def test_no_secret_is_stored_in_any_postgresql_table_or_the_cache() -> None:
    assert connection.vendor == "postgresql"
    check_storage()


@pytest.mark.django_db
def test_the_dump_would_find_a_secret_stored_in_clear() -> None:
    """Control: the search sees plaintext in any table, so a clean result means something."""
    from oauth2_provider.models import get_grant_model

    secrets = hand_out_every_secret(leave_a_code_unredeemed=True)
    get_grant_model().objects.update(code_challenge=secrets["client secret"])
    with pytest.raises(AssertionError, match="client secret"):
        _assert_nothing_found(dump_database(), secrets)


# A SQLite database file, searched byte by byte

#: Run in a child process on a SQLite file (``tests.settings`` with
#: ``DATABASE_URL``) in WAL mode: migrate, drive every flow, copy the
#: database and its write-ahead log while the connection is still open (the
#: log holds every page version written), close, print the secrets handed out.
_FLOWS_ON_A_FILE = """
import json, shutil, sys
import django
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()
from django.core.management import call_command
from django.db import connection
from tests.security.flows import hand_out_every_secret, private_key_bytes

database, snapshot = sys.argv[1], sys.argv[2]
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode=WAL")
    assert cursor.fetchone()[0] == "wal"
call_command("migrate", interactive=False, verbosity=0)
secrets = hand_out_every_secret(leave_a_code_unredeemed=True)
binary = {name: value.hex() for name, value in private_key_bytes().items()}
for suffix in ("", "-wal"):
    shutil.copyfile(database + suffix, snapshot + suffix)
connection.close()
print(json.dumps({"secrets": secrets, "binary": binary}))
"""


def _run_flows_on_a_sqlite_file(database: Path, snapshot: Path) -> dict[str, bytes]:
    """Drive every flow against ``database`` in a child process; return each secret as bytes."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(DJANGO_SETTINGS_MODULE="tests.settings", DATABASE_URL=f"sqlite:///{database}")
    run = subprocess.run(
        [sys.executable, "-c", _FLOWS_ON_A_FILE, str(database), str(snapshot)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    handed_out = json.loads(run.stdout.strip().splitlines()[-1])
    needles = {name: value.encode() for name, value in handed_out["secrets"].items()}
    needles.update({name: bytes.fromhex(value) for name, value in handed_out["binary"].items()})
    return needles


def _files_of(database: Path) -> list[Path]:
    """The database file and whichever of its journal, log and shared-memory files exist."""
    candidates = [database.with_name(database.name + suffix) for suffix in ("", "-wal", "-shm")]
    candidates.append(database.with_name(database.name + "-journal"))
    return [path for path in candidates if path.exists()]


def _found_in_files(files: list[Path], needles: dict[str, bytes]) -> list[str]:
    contents = [path.read_bytes() for path in files]
    return sorted(name for name, value in needles.items() if any(value in c for c in contents))


def test_no_secret_is_in_the_bytes_of_a_sqlite_database_file(tmp_path: Path) -> None:
    database, snapshot = tmp_path / "bearer.sqlite3", tmp_path / "open.sqlite3"
    needles = _run_flows_on_a_sqlite_file(database, snapshot)
    open_files, closed_files = _files_of(snapshot), _files_of(database)
    assert [path.name for path in open_files] == ["open.sqlite3", "open.sqlite3-wal"]
    assert b"md5$" in b"".join(path.read_bytes() for path in open_files)  # real rows were read
    assert _found_in_files(open_files, needles) == []
    assert _found_in_files(closed_files, needles) == []

    # Control: a secret written into a row raw is found in the file's bytes.
    with sqlite3.connect(database) as control:
        control.execute(
            "UPDATE oauth2_provider_grant SET code_challenge = ?",
            (needles["client secret"].decode(),),
        )
    control.close()
    assert _found_in_files(_files_of(database), needles) == ["client secret"]
