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
from cryptography.hazmat.primitives import serialization
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import caches
from django.db import connection

from bearer_auth import keys
from tests.factories import UserFactory
from tests.first_party import REFRESH_URL, REVOKE_URL, sign_in
from tests.oauth_client import SECRET, make_application
from tests.security.flows import authorize, client_credentials_token, exchange

PASSWORD = "a-password-nobody-should-find-9f2c"


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


def _private_key_material() -> dict[str, str]:
    """The active private key as an attacker would want it: PEM body, DER and JWK ``d``."""
    private_key = keys.current_signing_key().private_key
    der = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    d = private_key.private_numbers().d
    d_bytes = d.to_bytes((d.bit_length() + 7) // 8, "big")
    return {
        "private key PEM line": pem.splitlines()[5],
        "private key DER (base64)": base64.b64encode(der).decode()[40:120],
        "private key d (base64url)": base64.urlsafe_b64encode(d_bytes).decode().rstrip("=")[:60],
        "private key d (hex)": d_bytes.hex()[:60],
        "private key d (decimal)": str(d)[:60],
    }


def _exercise_everything(*, leave_a_code_unredeemed: bool = False) -> dict[str, str]:
    """Drive every flow that stores something; return every secret handed out.

    A redeemed authorization code is deleted; an unredeemed one stays in the
    grant table until it expires (see ``pending_storage_at_rest.py``).
    """
    from rest_framework.test import APIClient

    secrets: dict[str, str] = {"user password": PASSWORD}
    users = [UserFactory(password=PASSWORD) for _ in range(3)]
    first = sign_in(users[0], PASSWORD)
    second = sign_in(users[1], PASSWORD)
    rotated = (
        APIClient()
        .post(REFRESH_URL, {"refresh_token": first["refresh_token"]}, format="json")
        .json()
    )
    APIClient().post(REVOKE_URL, {"token": second["refresh_token"]}, format="json")
    for name, pair in {"sign-in": first, "revoked sign-in": second, "refresh": rotated}.items():
        secrets[f"{name} access token"] = pair["access_token"]
        secrets[f"{name} access token signature"] = pair["access_token"].rsplit(".", 1)[1]
        secrets[f"{name} refresh token"] = pair["refresh_token"]

    application = make_application()
    code, verifier = authorize(users[2], application)
    tokens = exchange(application, code, verifier).json()
    secrets["redeemed authorization code"] = code
    secrets["pkce code verifier"] = verifier
    secrets["oauth access token"] = tokens["access_token"]
    secrets["oauth access token signature"] = tokens["access_token"].rsplit(".", 1)[1]
    secrets["oauth refresh token"] = tokens["refresh_token"]
    if leave_a_code_unredeemed:
        secrets["unredeemed authorization code"] = authorize(users[2], application)[0]
    secrets["client secret"] = SECRET
    secrets["client-credentials access token"] = client_credentials_token()

    keys.rotate_signing_key()
    secrets.update(_private_key_material())
    return secrets


def _assert_nothing_found(dump: str, secrets: dict[str, str]) -> None:
    found = sorted(name for name, value in secrets.items() if value and value in dump)
    assert found == [], f"found at rest: {found}"


def check_storage(*, leave_a_code_unredeemed: bool = False) -> None:
    """Exercise every flow, then search the database and cache dumps for every secret."""
    secrets = _exercise_everything(leave_a_code_unredeemed=leave_a_code_unredeemed)
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

    secrets = _exercise_everything(leave_a_code_unredeemed=True)
    get_grant_model().objects.update(code_challenge=secrets["client secret"])
    with pytest.raises(AssertionError, match="client secret"):
        _assert_nothing_found(dump_database(), secrets)
