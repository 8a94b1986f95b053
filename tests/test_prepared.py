"""Prepared queries (``bearer_auth.prepared``): the ORM's result, compiled once per connection."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.sql import UpdateQuery
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import get_refresh_token_model

from bearer_auth import prepared
from bearer_auth.models import TokenSession
from bearer_auth.prepared import Param, PreparedSelect, PreparedUpdate
from bearer_auth.services.store import first_party_application
from tests.factories import UserFactory
from tests.threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)

_field = TokenSession._meta.get_field


def _session(user: Any, **fields: Any) -> TokenSession:
    now = timezone.now()
    values: dict[str, Any] = {
        "token_family": uuid.uuid4(),
        "user": user,
        "application": first_party_application(),
        "created": now,
        "last_used": now,
        "expires": now + timedelta(days=1),
        "ip_address": "192.0.2.1",
        "user_agent": "tests",
        "password_fingerprint": "fingerprint",
        **fields,
    }
    return TokenSession.objects.create(**values)


SESSION_BY_FAMILY: PreparedSelect[TokenSession] = PreparedSelect(
    lambda: (
        TokenSession.objects.select_related("user", "application")
        .only("token_family", "expires", "user", "application__client_id")
        .filter(token_family=Param("family", _field("token_family")))[:1]
    )
)
NEWEST_SESSION_FROM: PreparedSelect[TokenSession] = PreparedSelect(
    lambda: (
        TokenSession.objects.filter(user_agent=Param("agent", _field("user_agent")))
        .annotate(lifetime=F("expires") - F("created"))
        .order_by("-created")[:1]
    )
)
TOUCH: PreparedUpdate = PreparedUpdate(
    lambda: (
        TokenSession.objects.filter(token_family=Param("family", _field("token_family"))),
        {
            "last_used": Param("when", _field("last_used")),
            "ip_address": Param("ip", _field("ip_address")),
        },
    )
)


def test_select_builds_what_the_orm_builds() -> None:
    session = _session(UserFactory())
    found = SESSION_BY_FAMILY.first(family=session.token_family)
    assert found is not None
    expected = (
        TokenSession.objects.select_related("user", "application")
        .only("token_family", "expires", "user", "application__client_id")
        .get(token_family=session.token_family)
    )
    assert found.pk == expected.pk
    assert found.expires == expected.expires == session.expires
    assert found.expires.tzinfo is not None  # the backend's converters ran
    assert found.get_deferred_fields() == expected.get_deferred_fields()
    assert "user_agent" in found.get_deferred_fields()
    # select_related objects are attached: no query to reach them.
    with CaptureQueriesContext(connection) as queries:
        assert found.user.pk == session.user.pk
        assert found.user.password == session.user.password
        assert found.application.client_id == session.application.client_id
    assert len(queries) == 0
    assert found.application.get_deferred_fields() == expected.application.get_deferred_fields()
    assert found._state.db == "default"
    assert not found._state.adding


def test_select_is_one_query_and_none_when_nothing_matches() -> None:
    _session(UserFactory())
    with CaptureQueriesContext(connection) as queries:
        assert SESSION_BY_FAMILY.first(family=uuid.uuid4()) is None
    assert len(queries) == 1
    assert "LIMIT 1" in queries[0]["sql"].upper()


def test_select_orders_and_annotates_like_the_queryset() -> None:
    user = UserFactory()
    now = timezone.now()
    _session(user, created=now - timedelta(hours=2), user_agent="phone")
    newest = _session(user, created=now - timedelta(hours=1), user_agent="phone")
    _session(user, created=now, user_agent="laptop")
    found = NEWEST_SESSION_FROM.first(agent="phone")
    assert found is not None
    assert found.pk == newest.pk
    assert found.lifetime == newest.expires - newest.created  # type: ignore[attr-defined]


def test_values_are_parameters_never_sql() -> None:
    _session(UserFactory(), user_agent="tests")
    assert NEWEST_SESSION_FROM.first(agent="x' OR '1'='1") is None
    assert NEWEST_SESSION_FROM.first(agent="tests") is not None


def test_the_values_given_must_be_the_params() -> None:
    with pytest.raises(TypeError, match="agent"):
        NEWEST_SESSION_FROM.first()
    with pytest.raises(TypeError, match="agent"):
        NEWEST_SESSION_FROM.first(agent="tests", other="x")


def test_a_select_must_be_sliced_to_one_row() -> None:
    unsliced: PreparedSelect[TokenSession] = PreparedSelect(
        lambda: TokenSession.objects.filter(user_agent=Param("agent", _field("user_agent")))
    )
    with pytest.raises(ValueError, match=r"\[:1\]"):
        unsliced.first(agent="tests")


def test_compiled_once_per_connection_and_again_for_another_thread() -> None:
    session = _session(UserFactory())
    query: PreparedSelect[TokenSession] = PreparedSelect(
        lambda: TokenSession.objects.filter(token_family=Param("family", _field("token_family")))[
            :1
        ]
    )
    with mock.patch.object(
        prepared._Statement, "compile", wraps=prepared._Statement.compile
    ) as compiled:
        for _ in range(3):
            assert query.first(family=session.token_family) == session
        assert compiled.call_count == 1
        # Another thread has its own connection, so its own compiled form
        # (Django's converters take the connection they were made for).
        [other] = run_together(lambda: query.first(family=session.token_family))
        assert other == session
        assert other.last_used == session.last_used
        assert compiled.call_count == 2


def test_update_writes_the_values_prepared_by_their_fields() -> None:
    touched, untouched = _session(UserFactory()), _session(UserFactory())
    when = timezone.now() + timedelta(minutes=5)
    with CaptureQueriesContext(connection) as queries:
        count = TOUCH.execute(family=touched.token_family, when=when, ip="2001:db8::1")
    assert count == 1
    assert len(queries) == 1
    assert queries[0]["sql"].upper().startswith("UPDATE")
    touched.refresh_from_db()
    assert touched.last_used == when
    assert touched.ip_address == "2001:db8::1"
    before = untouched.last_used
    untouched.refresh_from_db()
    assert untouched.last_used == before
    assert TOUCH.execute(family=uuid.uuid4(), when=when, ip=None) == 0


def test_a_failed_update_marks_the_transaction_for_rollback() -> None:
    session = _session(UserFactory())
    not_null: PreparedUpdate = PreparedUpdate(
        lambda: (
            TokenSession.objects.filter(token_family=Param("family", _field("token_family"))),
            {"user_agent": Param("agent", _field("user_agent"))},
        )
    )
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            not_null.execute(family=session.token_family, agent=None)
        assert transaction.get_rollback()
    session.refresh_from_db()
    assert session.user_agent == "tests"


def test_an_update_writes_one_table() -> None:
    # Multi-table inheritance splits an update over parent tables; one
    # compiled statement would silently leave those out, so it is refused.
    user_model = get_user_model()

    def across_tables(query: Any, values: dict[str, Any]) -> None:
        query.add_related_update(user_model, user_model._meta.get_field("is_active"), False)

    spread: PreparedUpdate = PreparedUpdate(
        lambda: (TokenSession.objects.all(), {"user_agent": "x"})
    )
    with (
        mock.patch.object(
            UpdateQuery, "add_update_values", autospec=True, side_effect=across_tables
        ),
        pytest.raises(ValueError, match="one table"),
    ):
        spread.execute()


def test_a_param_needs_a_concrete_field() -> None:
    reverse: Any = TokenSession._meta.get_field("user").remote_field
    with pytest.raises(TypeError, match="concrete model field"):
        Param("user", reverse)


def test_written_values_are_prepared_as_django_writes_them() -> None:
    # A JSONField tells the two apart: None written by update() is SQL NULL,
    # None compared in a lookup is JSON null.
    resource = get_refresh_token_model()._meta.get_field("resource")
    compared = Param("resource", resource)
    written = compared.resolve_expression(for_save=True)
    assert written.prepare(None, connection) is None
    assert compared.prepare(None, connection) is not None
    # PostgreSQL's adapter (psycopg's Jsonb) has no equality: compare what it wraps.
    prepared, expected = (
        written.prepare(["https://api.example"], connection),
        resource.get_db_prep_save(["https://api.example"], connection),
    )
    assert type(prepared) is type(expected)
    assert getattr(prepared, "obj", prepared) == getattr(expected, "obj", expected)


@pytest.mark.postgres
def test_with_server_side_binding_psycopg_prepares_the_statement_on_the_server() -> None:
    # docs/deployment.md recommends these OPTIONS: a prepared query sends the
    # same SQL every time, so psycopg prepares it once per connection and
    # PostgreSQL stops parsing and planning it.
    options = connection.settings_dict["OPTIONS"]
    if not (options.get("server_side_binding") and options.get("prepare_threshold") is not None):
        pytest.skip("make test's second PostgreSQL pass sets these OPTIONS (DATABASE_OPTIONS)")
    session = _session(UserFactory())
    select = PreparedSelect(
        lambda: TokenSession.objects.filter(
            token_family=Param("family", _field("token_family"))
        ).only("pk")[:1]
    )
    for _ in range(options["prepare_threshold"] + 2):
        found = select.first(family=session.token_family)
        assert found is not None
        assert found.pk == session.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared_statements = [row[0] for row in cursor.fetchall()]
    ours = [sql for sql in prepared_statements if '"token_family" = ($1)' in sql]
    assert len(ours) == 1, prepared_statements
