"""Prepared queries (``bearer_auth.prepared``): the ORM's result, compiled once per connection."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, OperationalError, connection, connections, transaction
from django.db.models import F, Subquery, Value
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import UpdateQuery
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from bearer_auth import prepared
from bearer_auth.models import TokenSession
from bearer_auth.prepared import (
    BoundWrite,
    Param,
    PreparedInsert,
    PreparedSelect,
    PreparedUpdate,
    execute_together,
    fetch_together,
)
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


INSERT_SESSION: PreparedInsert = PreparedInsert(lambda: TokenSession)
INSERT_REFRESH_TOKEN: PreparedInsert = PreparedInsert(get_refresh_token_model)


def _unsaved_session(user: Any, **fields: Any) -> TokenSession:
    saved = _session(user, **fields)
    values = {field.attname: getattr(saved, field.attname) for field in _concrete(TokenSession)}
    saved.delete()
    return TokenSession(**values)


def _concrete(model: Any) -> list[Any]:
    return [field for field in model._meta.concrete_fields if not field.primary_key]


def test_insert_writes_every_column_as_save_would() -> None:
    session = _unsaved_session(UserFactory(), user_agent="x'); DROP TABLE users; --")
    sent: list[Any] = []

    def receiver(**kwargs: Any) -> None:
        sent.append(kwargs["signal"])

    pre_save.connect(receiver, sender=TokenSession)
    post_save.connect(receiver, sender=TokenSession)
    try:
        with CaptureQueriesContext(connection) as queries:
            INSERT_SESSION.execute(session)
    finally:
        pre_save.disconnect(receiver, sender=TokenSession)
        post_save.disconnect(receiver, sender=TokenSession)
    assert len(queries) == 1
    assert queries[0]["sql"].upper().startswith("INSERT")
    assert sent == []  # like bulk_create(): no signals
    stored = TokenSession.objects.get(token_family=session.token_family)
    assert stored.pk == session.pk  # a primary key with a default is a column like any other
    for field in _concrete(TokenSession):
        assert getattr(stored, field.attname) == getattr(session, field.attname), field.name
    assert stored.user_agent == "x'); DROP TABLE users; --"  # a parameter, never SQL


def test_insert_sets_auto_dates_and_derived_columns_with_pre_save() -> None:
    # DOT's RefreshToken: created (auto_now_add), updated (auto_now), and a
    # token_checksum field whose pre_save hashes the token.
    other = _session(UserFactory())
    model = get_refresh_token_model()
    before = timezone.now()
    token = model(
        user=other.user,
        application=other.application,
        token="a-refresh-token-value",
        token_family=uuid.uuid4(),
    )
    INSERT_REFRESH_TOKEN.execute(token)
    assert token.pk is None  # an auto primary key is the database's: nothing is read back
    stored = model.objects.get(token_family=token.token_family)
    assert before <= stored.created == token.created
    assert before <= stored.updated == token.updated
    assert stored.token_checksum == hashlib.sha256(b"a-refresh-token-value").hexdigest()
    assert stored.resource == []
    assert stored.revoked is None


def test_a_failed_insert_marks_the_transaction_for_rollback() -> None:
    existing = _session(UserFactory())
    duplicate = _unsaved_session(UserFactory(), token_family=uuid.uuid4())
    duplicate.token_family = existing.token_family  # unique
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            INSERT_SESSION.execute(duplicate)
        assert transaction.get_rollback()
    assert TokenSession.objects.filter(token_family=existing.token_family).count() == 1


def test_an_insert_takes_an_instance_of_its_model_with_plain_values() -> None:
    with pytest.raises(TypeError, match="TokenSession"):
        INSERT_SESSION.execute(UserFactory.build())
    session = _unsaved_session(UserFactory())
    session.user_agent = F("ip_address")  # type: ignore[assignment]
    with pytest.raises(TypeError, match="user_agent"):
        INSERT_SESSION.execute(session)
    assert not TokenSession.objects.filter(token_family=session.token_family).exists()


def _access_token_by_digest() -> dict[str, Any]:
    model = get_access_token_model()
    digest = Param("digest", model._meta.get_field("token_checksum"))
    return {"access_token_id": Subquery(model.objects.filter(token_checksum=digest).values("pk"))}


INSERT_LINKED_REFRESH_TOKEN: PreparedInsert = PreparedInsert(
    get_refresh_token_model, computed=_access_token_by_digest
)


def test_a_computed_column_is_an_expression_in_the_insert_itself() -> None:
    # The refresh row finds its access token by digest in the same statement:
    # nothing is read back between the two inserts.
    session = _session(UserFactory())
    access_token = get_access_token_model().objects.create(
        user=session.user,
        application=session.application,
        token="an-access-token",
        expires=timezone.now(),
    )
    other = get_access_token_model().objects.create(
        user=session.user,
        application=session.application,
        token="another-access-token",
        expires=timezone.now(),
    )
    model = get_refresh_token_model()
    token = model(
        user=session.user,
        application=session.application,
        token="a-refresh-token-value",
        token_family=uuid.uuid4(),
        access_token=other,  # the instance's own value is not what is written
    )
    with CaptureQueriesContext(connection) as queries:
        INSERT_LINKED_REFRESH_TOKEN.execute(token, digest=access_token.token_checksum)
    assert len(queries) == 1
    assert "SELECT" in queries[0]["sql"].upper()
    stored = model.objects.get(token_family=token.token_family)
    assert stored.access_token_id == access_token.pk
    assert stored.token_checksum == hashlib.sha256(b"a-refresh-token-value").hexdigest()


def test_a_computed_column_takes_its_values_by_name_and_only_those() -> None:
    session = _session(UserFactory())
    token = get_refresh_token_model()(
        user=session.user, application=session.application, token="t", token_family=uuid.uuid4()
    )
    with pytest.raises(TypeError, match="digest"):
        INSERT_LINKED_REFRESH_TOKEN.execute(token)  # its param has no value
    with pytest.raises(TypeError, match="token_family"):
        INSERT_LINKED_REFRESH_TOKEN.execute(token, digest="d", token_family=uuid.uuid4())
    nowhere: PreparedInsert = PreparedInsert(
        get_refresh_token_model, computed=lambda: {"no_such_column": Value(1)}
    )
    with pytest.raises(ValueError, match="no_such_column"):
        nowhere.execute(token)
    assert not get_refresh_token_model().objects.filter(token_family=token.token_family).exists()


def test_an_insert_writes_one_table() -> None:
    # A child model's row spans its parents' tables too: refused.
    parents = {get_user_model(): TokenSession._meta.get_field("user")}
    child: PreparedInsert = PreparedInsert(lambda: TokenSession)
    session = _unsaved_session(UserFactory())
    with (
        mock.patch.object(TokenSession._meta, "parents", parents),
        pytest.raises(ValueError, match="one table"),
    ):
        child.execute(session)


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


AGENT: PreparedUpdate = PreparedUpdate(
    lambda: (
        TokenSession.objects.filter(token_family=Param("family", _field("token_family"))),
        {"user_agent": Param("agent", _field("user_agent"))},
    )
)


def _one_round_trip() -> bool:
    # Django's default PostgreSQL cursor binds client-side; the second
    # PostgreSQL run of the suite sets server_side_binding.
    options = connection.settings_dict["OPTIONS"]
    return connection.vendor == "postgresql" and not options.get("server_side_binding")


def test_writes_run_together_in_order_in_one_round_trip_where_the_driver_allows() -> None:
    first, second = _session(UserFactory()), _session(UserFactory())
    inserted = _unsaved_session(UserFactory())
    # Values that would break a naive join of the statements' text.
    tricky = "x'; DELETE FROM bearer_auth_tokensession; --\n;\n%s %(a)s 100%"
    writes = [
        AGENT.bind(family=first.token_family, agent=tricky),
        TOUCH.bind(family=second.token_family, when=first.created, ip=None),
        INSERT_SESSION.bind(inserted),
        # Order matters: this one overwrites the first write's value.
        AGENT.bind(family=first.token_family, agent=f"{tricky} again"),
    ]
    with CaptureQueriesContext(connection) as queries:
        execute_together(writes)
    # Outside a transaction they get their own (SQLite logs its BEGIN/COMMIT).
    statements = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"] not in ("BEGIN", "COMMIT")
    ]
    assert len(statements) == (1 if _one_round_trip() else 4)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.user_agent == f"{tricky} again"
    assert second.last_used == first.created
    assert second.ip_address is None
    assert TokenSession.objects.get(token_family=inserted.token_family).user_agent == "tests"
    assert TokenSession.objects.count() == 3


def test_writes_run_together_are_all_or_nothing() -> None:
    session = _session(UserFactory())
    duplicate = _unsaved_session(UserFactory())
    duplicate.token_family = session.token_family  # unique
    later = _session(UserFactory())
    writes = [
        AGENT.bind(family=session.token_family, agent="changed"),
        INSERT_SESSION.bind(duplicate),
        AGENT.bind(family=later.token_family, agent="changed"),
    ]
    # Inside the caller's transaction: it is marked for rollback.
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            execute_together(writes)
        assert transaction.get_rollback()
    # Outside one: a transaction of their own.
    with pytest.raises(IntegrityError):
        execute_together(writes)
    assert TokenSession.objects.filter(user_agent="changed").count() == 0
    assert TokenSession.objects.count() == 2


def test_writes_run_together_go_to_one_connection() -> None:
    session = _session(UserFactory())
    write = AGENT.bind(family=session.token_family, agent="changed")
    other = connections.create_connection("default")
    try:
        elsewhere = BoundWrite(other, write.sql, write.params)
        with pytest.raises(ValueError, match="one database connection"):
            execute_together([write, elsewhere])
    finally:
        other.close()
    session.refresh_from_db()
    assert session.user_agent == "tests"
    with CaptureQueriesContext(connection) as queries:
        execute_together([])
    assert queries.captured_queries == []


def test_a_bound_write_runs_alone_and_reports_its_rows() -> None:
    session = _session(UserFactory())
    write = AGENT.bind(family=session.token_family, agent="changed")
    session.refresh_from_db()
    assert session.user_agent == "tests"  # bound, not run
    assert write.execute() == 1
    session.refresh_from_db()
    assert session.user_agent == "changed"


def test_selects_run_together_in_order_each_with_its_instance() -> None:
    first, second = _session(UserFactory()), _session(UserFactory(), user_agent="x'; --\n;")
    selects = [
        SESSION_BY_FAMILY.bind(family=second.token_family),
        SESSION_BY_FAMILY.bind(family=uuid.uuid4()),  # no row: None, and the rest still run
        NEWEST_SESSION_FROM.bind(agent="tests"),
        SESSION_BY_FAMILY.bind(family=first.token_family),
    ]
    with CaptureQueriesContext(connection) as queries:
        found = fetch_together(selects)
    assert len(queries) == (1 if _one_round_trip() else 4)
    assert [getattr(instance, "pk", None) for instance in found] == [
        second.pk,
        None,
        first.pk,
        first.pk,
    ]
    # Each is what its own first() builds: select_related, only(), annotations.
    assert found[0].user == second.user
    assert found[0].application.client_id == second.application.client_id
    assert (
        found[0].get_deferred_fields()
        == SESSION_BY_FAMILY.first(family=second.token_family).get_deferred_fields()
    )
    assert found[2].lifetime == first.expires - first.created
    assert fetch_together([]) == []


@pytest.mark.postgres
def test_selects_run_together_take_their_row_locks_in_order() -> None:
    # FOR UPDATE in a batch: the locks are held once it returns, so another
    # connection cannot take them until the transaction ends.
    first, second = _session(UserFactory()), _session(UserFactory())
    locking: PreparedSelect[TokenSession] = PreparedSelect(
        lambda: (
            TokenSession.objects.select_for_update()
            .filter(token_family=Param("family", _field("token_family")))
            .only("pk")[:1]
        )
    )

    def try_lock(family: uuid.UUID) -> bool:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM bearer_auth_tokensession WHERE token_family = %s FOR UPDATE NOWAIT",
                [family],
            )
            return cursor.fetchone() is not None

    with transaction.atomic():
        found = fetch_together(
            [locking.bind(family=first.token_family), locking.bind(family=second.token_family)]
        )
        assert [instance.pk for instance in found] == [first.pk, second.pk]
        for family in (first.token_family, second.token_family):
            [outcome] = run_together(lambda family=family: _refused(try_lock, family))
            assert outcome == "locked"
    [outcome] = run_together(lambda: _refused(try_lock, first.token_family))
    assert outcome is True


def _refused(attempt: Any, family: uuid.UUID) -> Any:
    try:
        return attempt(family)
    except OperationalError:
        return "locked"
