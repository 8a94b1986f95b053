"""Storage at rest: a dump of every table (and of the cache) yields no usable secret.

RFC 9700 §4.14/§2.2 token storage, RFC 6749 §10.3-10.5 (tokens, codes and
client secrets), RFC 8725 key handling: after first-party sign-ins,
refreshes, revocations, OAuth flows (one code left unredeemed), client
credentials and a key rotation, every column of every table is read back as
text and searched for each secret the clients were given.
"""

from __future__ import annotations

import base64
import pickle
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import caches
from django.db import connection

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
