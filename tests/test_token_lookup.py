"""Strict mode's one query: the raw look-up and the queryset find the same row and user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import get_access_token_model

from bearer_auth import token_lookup
from bearer_auth.jwt import token_checksum
from bearer_auth.token_lookup import find_token_row, raw_lookup
from tests.factories import ApplicationFactory, UserFactory
from tests.issuing import issue_access_token

pytestmark = pytest.mark.django_db

#: The extra column only the raw statement has.
RAW_MARK = token_lookup._TOKEN_PK


@pytest.fixture(autouse=True)
def _fresh_lookups() -> Iterator[None]:
    raw_lookup.cache_clear()
    yield
    raw_lookup.cache_clear()


@pytest.fixture
def untested_django(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Django version CI never ran the raw look-up on."""
    monkeypatch.setattr(token_lookup.django, "VERSION", (9, 9, 0, "final", 0))


def found(checksum: str, *, opaque: bool = False) -> tuple[Any, str]:
    """The row found for ``checksum`` and the one statement that found it."""
    with CaptureQueriesContext(connection) as queries:
        row = find_token_row(checksum, opaque=opaque)
    [query] = queries.captured_queries
    return row, query["sql"]


def describe(row: Any) -> dict[str, Any] | None:
    """What a caller can see of a row and its user, read without any query."""
    if row is None:
        return None
    with CaptureQueriesContext(connection) as queries:
        user = row.user
        seen = {
            "type": type(row),
            "pk": row.pk,
            "db": row._state.db,
            "adding": row._state.adding,
            "deferred": row.get_deferred_fields(),
            "user_id": row.user_id,
            "user": None
            if user is None
            else {
                "type": type(user),
                "db": user._state.db,
                "adding": user._state.adding,
                "deferred": user.get_deferred_fields(),
                "attributes": {
                    name: value for name, value in vars(user).items() if name != "_state"
                },
            },
        }
    assert queries.captured_queries == []
    return seen


def the_tokens(user: Any) -> dict[str, str]:
    """A user's token, a client's token (no user) and a digest nobody holds."""
    inactive = UserFactory()
    inactive_token = issue_access_token(inactive)
    get_user_model().objects.filter(pk=inactive.pk).update(is_active=False)
    client = ApplicationFactory(authorization_grant_type="client-credentials")
    return {
        "user": token_checksum(issue_access_token(user)),
        "inactive user": token_checksum(inactive_token),
        "client": token_checksum(issue_access_token(None, application=client)),
        "unknown": token_checksum("never-issued"),
    }


def test_the_raw_lookup_runs_on_the_django_and_databases_ci_tests(user: Any) -> None:
    assert raw_lookup(get_access_token_model(), connection.vendor) is not None
    row, sql = found(token_checksum(issue_access_token(user)))
    assert RAW_MARK in sql
    assert row.user == user


def test_an_untested_django_gets_the_queryset(user: Any, untested_django: None) -> None:
    assert raw_lookup(get_access_token_model(), connection.vendor) is None
    row, sql = found(token_checksum(issue_access_token(user)))
    assert RAW_MARK not in sql
    assert row.user == user


def test_an_untested_database_gets_the_queryset() -> None:
    assert raw_lookup(get_access_token_model(), "mysql") is None
    assert raw_lookup(get_access_token_model(), "oracle") is None


def test_opaque_tokens_always_get_the_queryset(user: Any) -> None:
    row, sql = found(token_checksum(issue_access_token(user)), opaque=True)
    assert RAW_MARK not in sql
    assert row.application.client_id
    assert row.user == user


def test_both_ways_find_the_same_rows_and_users(user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    checksums = the_tokens(user)
    raw = {name: describe(found(checksum)[0]) for name, checksum in checksums.items()}
    monkeypatch.setattr(token_lookup.django, "VERSION", (9, 9, 0, "final", 0))
    raw_lookup.cache_clear()
    orm = {name: describe(found(checksum)[0]) for name, checksum in checksums.items()}
    assert raw == orm
    assert raw["unknown"] is None
    assert raw["client"] is not None
    assert raw["client"]["user"] is None
    assert raw["user"] is not None
    assert raw["user"]["user"] is not None
    assert raw["user"]["user"]["deferred"] == set()
    assert raw["user"]["deferred"] == {
        field.attname
        for field in get_access_token_model()._meta.concrete_fields
        if field.attname not in {"id", "user_id"}
    }


def test_the_raw_statement_reads_every_user_column(user: Any) -> None:
    lookup = raw_lookup(get_access_token_model(), connection.vendor)
    assert lookup is not None
    for field in get_user_model()._meta.concrete_fields:
        assert lookup.sql.count(f'."{field.column}"') >= 1
    assert lookup.sql.count("%s") == 1


def test_a_quoted_table_name_is_kept_as_it_is() -> None:
    assert token_lookup._quoted("plain") == '"plain"'
    assert token_lookup._quoted('"schema"."table"') == '"schema"."table"'
    assert token_lookup._quoted('odd"name') == '"odd""name"'
