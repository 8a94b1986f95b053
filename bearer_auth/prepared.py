"""Queries written once as querysets, compiled once per connection, run many times.

On the hot paths (strict authentication, refresh) building a queryset and
letting Django compile it (lookups, joins, ``select_related``, ordering,
``FOR UPDATE``) costs several times what the database spends running it: a
profile of the refresh put 40% of its time there. The statements never
change, only their values; so each is written once as an ordinary queryset
whose variable values are :class:`Param` placeholders. The first call on a
database connection lets Django compile it; every call after that runs the
same SQL with the values in the placeholders' places (always as parameters,
never in the SQL text) and builds model instances the way Django's own
``ModelIterable`` does: the row's converters applied, ``select_related``
objects attached, ``only()`` fields deferred.

Inserts (:class:`PreparedInsert`) are compiled the same way from a model's
fields, and write a model instance's values as ``save()`` would.

A statement can also be bound to its values without running it (``bind()``):
:func:`execute_together` (writes) and :func:`fetch_together` (selects) then
run several, in order, in one round trip to the database where the driver
takes several statements at once (PostgreSQL with psycopg's client-side
binding, Django's default), and one after the other elsewhere. A refresh's
two locking reads are one round trip, and its four writes another.

The queryset's shape must not depend on anything that changes at run time
(settings included): whatever varies is a :class:`Param`. Statements go
through ``connection.cursor()``, so Django's query logging and
``CaptureQueriesContext`` see them like any other query.
"""

from __future__ import annotations

import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections, transaction
from django.db.models import Expression, Field, ForeignObjectRel, Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.models.sql import InsertQuery, UpdateQuery

_M = TypeVar("_M", bound=Model)


class Param(Expression):
    """A value given at each call, by ``name``, prepared for the database as ``field`` does.

    ``field`` is the model field the value is compared with or written to:
    its ``get_db_prep_value`` (compared) or ``get_db_prep_save`` (written)
    turns the call's value into what the driver receives, exactly as for a
    literal value in a lookup or an ``update()``.
    """

    def __init__(self, name: str, field: Field[Any, Any] | ForeignObjectRel) -> None:
        if not isinstance(field, Field):
            raise TypeError(f"Param {name!r} needs a concrete model field, not {field!r}")
        super().__init__(output_field=field)
        self.name = name

    #: Set when Django resolves it as a value to write (an update's ``SET``).
    for_save = False

    def resolve_expression(
        self,
        query: Any = None,
        allow_joins: bool = True,
        reuse: Any = None,
        summarize: bool = False,
        for_save: bool = False,
    ) -> Param:
        resolved: Param = super().resolve_expression(query, allow_joins, reuse, summarize, for_save)
        resolved.for_save = for_save
        return resolved

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        return "%s", (_Slot(self),)

    def prepare(self, value: Any, connection: Any) -> Any:
        """What the driver receives for ``value``, prepared as Django prepares it."""
        field = self.output_field
        if self.for_save:
            return field.get_db_prep_save(value, connection)
        return field.get_db_prep_value(value, connection, prepared=False)

    def __repr__(self) -> str:
        return f"Param({self.name!r})"


@dataclass(frozen=True, eq=False)
class _Slot:
    """Where a :class:`Param` landed among a compiled statement's parameters."""

    param: Param


@dataclass(frozen=True)
class _Statement:
    """One compiled statement: its SQL and how to fill its parameters."""

    sql: str
    params: tuple[Any, ...]  # the constants, with ``None`` where a Param goes
    slots: tuple[tuple[int, Param], ...]  # (position, the Param there)
    names: frozenset[str]

    @classmethod
    def compile(cls, query: Any, connection: Any) -> tuple[_Statement, Any]:
        """Compile ``query`` on ``connection``; return the statement and the compiler.

        A copy is compiled: compilers may adjust the query they are given.
        """
        compiler = query.clone().get_compiler(connection=connection)
        compiled = compiler.as_sql()
        if isinstance(compiled, list):  # an insert: one statement per batch of rows
            [compiled] = compiled
        sql, params = compiled
        slots = tuple(
            (position, value.param)
            for position, value in enumerate(params)
            if isinstance(value, _Slot)
        )
        constants = tuple(None if isinstance(value, _Slot) else value for value in params)
        names = frozenset(param.name for _position, param in slots)
        return cls(sql=sql, params=constants, slots=slots, names=names), compiler

    def parameters(self, connection: Any, values: Mapping[str, Any]) -> list[Any]:
        """The driver's parameters: the constants, and ``values`` prepared by their fields."""
        if values.keys() != self.names:
            raise TypeError(f"expected values for {sorted(self.names)}, got {sorted(values)}")
        params = list(self.params)
        for position, param in self.slots:
            params[position] = param.prepare(values[param.name], connection)
        return params


class _Prepared(ABC):
    """The query (built once, on first use) and its compiled form, one per connection.

    Compiled forms are per connection object: Django's converters take the
    connection they were made for, and each thread has its own.
    """

    def __init__(self) -> None:
        self._built: tuple[QuerySet[Any], Any] | None = None
        self._compiled: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    @abstractmethod
    def _build(self) -> tuple[QuerySet[Any], Any]:
        """Return the queryset that picks the database (its router) and the query to compile."""

    @abstractmethod
    def _compile(self, query: Any, connection: Any) -> Any:
        """Return the compiled form of ``query`` on ``connection``."""

    def _connection_and_compiled(self) -> tuple[Any, Any]:
        built = self._built
        if built is None:
            with self._lock:
                built = self._built = self._built or self._build()
        queryset, query = built
        connection = connections[queryset.db]
        compiled = self._compiled.get(connection)
        if compiled is None:
            compiled = self._compiled[connection] = self._compile(query, connection)
        return connection, compiled


class PreparedSelect(_Prepared, Generic[_M]):
    """A ``SELECT`` that returns at most one model instance.

    ``build`` returns the queryset, sliced to one row (``[:1]``) and ordered
    if several rows can match; it is called once, on first use.
    """

    def __init__(self, build: Callable[[], QuerySet[_M]]) -> None:
        super().__init__()
        self._builder = build

    def _build(self) -> tuple[QuerySet[Any], Any]:
        queryset = self._builder()
        if queryset.query.high_mark != 1:
            raise ValueError("A PreparedSelect returns one row: slice its queryset with [:1]")
        return queryset, queryset.query

    def _compile(self, query: Any, connection: Any) -> _CompiledSelect:
        statement, compiler = _Statement.compile(query, connection)
        klass_info = compiler.klass_info
        select = compiler.select
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        return _CompiledSelect(
            statement=statement,
            compiler=compiler,
            model=klass_info["model"],
            attnames=tuple(column[0].target.attname for column in select[start:end]),
            start=start,
            end=end,
            # Django 5.2's signature (the stubs know a later one).
            related=tuple(get_related_populators(klass_info, select, connection.alias)),  # type: ignore[call-arg]
            annotations=tuple(compiler.annotation_col_map.items()),
            converters=compiler.get_converters([column[0] for column in select]),
        )

    def first(self, **values: Any) -> _M | None:
        """Run the query with ``values`` for its params; the instance, or ``None``."""
        # Not through bind(): strict authentication runs this on every request.
        connection, compiled = self._connection_and_compiled()
        found: _M | None = compiled.first(
            connection, compiled.statement.parameters(connection, values)
        )
        return found

    def bind(self, **values: Any) -> BoundSelect:
        """The query with ``values`` for its params, not yet run (:func:`fetch_together`)."""
        connection, compiled = self._connection_and_compiled()
        statement = compiled.statement
        return BoundSelect(connection, compiled, statement.parameters(connection, values))


@dataclass(frozen=True, slots=True)
class BoundSelect:
    """A prepared ``SELECT`` with its values, ready to run alone or with others."""

    connection: Any
    compiled: _CompiledSelect
    params: list[Any]

    @property
    def sql(self) -> str:
        return self.compiled.statement.sql

    def instance(self, row: tuple[Any, ...] | None) -> Any:
        """The model instance of ``row`` (``None`` for no row)."""
        return None if row is None else self.compiled.instance(self.connection.alias, row)


@dataclass(frozen=True)
class _CompiledSelect:
    statement: _Statement
    compiler: Any
    model: type[Model]
    attnames: tuple[str, ...]
    start: int
    end: int
    related: tuple[Any, ...]
    annotations: tuple[tuple[str, int], ...]
    converters: dict[int, tuple[list[Any], Any]]

    def first(self, connection: Any, params: list[Any]) -> Any:
        """Run the statement with ``params`` on ``connection``; the instance, or ``None``."""
        with connection.cursor() as cursor:
            cursor.execute(self.statement.sql, params)
            row = cursor.fetchone()
        return None if row is None else self.instance(connection.alias, row)

    def instance(self, alias: str, row: tuple[Any, ...]) -> Any:
        """Build the model instance (and its related ones) from one row, as Django does."""
        if self.converters:
            values = next(self.compiler.apply_converters([row], self.converters))
        else:
            values = list(row)
        instance = self.model.from_db(alias, self.attnames, values[self.start : self.end])
        for populator in self.related:
            populator.populate(values, instance)
        for name, position in self.annotations:
            setattr(instance, name, values[position])
        return instance


class PreparedUpdate(_Prepared):
    """An ``UPDATE`` of the rows a queryset selects: ``queryset.update(**changes)``.

    ``build`` returns ``(queryset, changes)``; values that vary are
    :class:`Param`. Like ``QuerySet.update()`` it sends no signals and does
    not touch ``auto_now`` fields unless ``changes`` names them.
    """

    def __init__(self, build: Callable[[], tuple[QuerySet[Any], Mapping[str, Any]]]) -> None:
        super().__init__()
        self._builder = build

    def _build(self) -> tuple[QuerySet[Any], Any]:
        queryset, changes = self._builder()
        queryset = queryset.all()
        queryset._for_write = True  # the router's db_for_write, as update() asks
        query = queryset.query.chain(UpdateQuery)
        query.add_update_values(dict(changes))
        if query.related_updates:
            raise ValueError("A PreparedUpdate writes one table")
        return queryset, query

    def _compile(self, query: Any, connection: Any) -> _Statement:
        statement, _compiler = _Statement.compile(query, connection)
        return statement

    def execute(self, **values: Any) -> int:
        """Run the update with ``values`` for its params; the number of rows changed."""
        return self.bind(**values).execute()

    def bind(self, **values: Any) -> BoundWrite:
        """The update with ``values`` for its params, not yet run (:func:`execute_together`)."""
        connection, statement = self._connection_and_compiled()
        return BoundWrite(connection, statement.sql, statement.parameters(connection, values))


class PreparedInsert(_Prepared):
    """An ``INSERT`` of one instance of a model, with the values ``save()`` would write.

    ``model`` returns the model class (called once, on first use, so a
    swappable model is looked up after the app registry is ready). Every
    concrete column is written except an auto-incremented primary key and
    generated fields, each as its field's ``pre_save()`` value for a new row
    (so ``auto_now_add``/``auto_now`` dates are set on the instance, as by
    ``save()``), prepared by ``get_db_prep_save``. Like ``bulk_create()`` it
    sends no ``pre_save``/``post_save`` signals; unlike ``save()`` it reads
    nothing back: an auto primary key stays ``None`` on the instance, which is
    therefore not for saving again. Models with parents (multi-table
    inheritance) are refused: their row spans several tables.

    ``computed`` returns (called once, on first use) a mapping of column
    attnames to expressions written in the statement in place of the
    instance's values, e.g. a foreign key as a ``Subquery`` finding a row
    inserted just before; the values of the ``Param`` placeholders in them
    are given to ``bind()`` by name.
    """

    def __init__(
        self,
        model: Callable[[], type[Model]],
        *,
        computed: Callable[[], Mapping[str, Expression]] | None = None,
    ) -> None:
        super().__init__()
        self._model = model
        self._computed = computed

    def _build(self) -> tuple[QuerySet[Any], Any]:
        model = self._model()
        meta = model._meta
        if meta.parents:
            raise ValueError("A PreparedInsert writes one table: no multi-table inheritance")
        fields = [
            field
            for field in meta.local_concrete_fields
            if field is not meta.auto_field and not field.generated
        ]
        computed = dict(self._computed()) if self._computed else {}
        unknown = computed.keys() - {field.attname for field in fields}
        if unknown:
            raise ValueError(f"computed values for no written column: {sorted(unknown)}")
        placeholders = _Placeholders(
            {
                field.attname: (
                    computed[field.attname]
                    if field.attname in computed
                    else Param(field.attname, field)
                )
                for field in fields
            }
        )
        query = InsertQuery(model)
        rows: list[Any] = [placeholders]  # read like model instances, by attname
        query.insert_values(fields, rows, raw=True)  # raw: no pre_save at compile time
        queryset = model._default_manager.all()
        queryset._for_write = True  # the router's db_for_write, as save() asks
        return queryset, (query, frozenset(computed))

    def _compile(self, query: Any, connection: Any) -> _CompiledInsert:
        insert, computed = query
        statement, _compiler = _Statement.compile(insert, connection)
        written = tuple(field for field in insert.fields if field.attname not in computed)
        return _CompiledInsert(statement=statement, fields=written)

    def execute(self, instance: Model, **computed: Any) -> None:
        """Insert ``instance`` as a new row (its ``pre_save`` values), in one statement."""
        self.bind(instance, **computed).execute()

    def bind(self, instance: Model, **computed: Any) -> BoundWrite:
        """The insert of ``instance``, not yet run (:func:`execute_together`).

        The ``pre_save`` values are taken (and ``auto_now`` dates set on the
        instance) now, when it is bound; ``computed`` gives the values of the
        params in the ``computed`` expressions.
        """
        if not isinstance(instance, self._model()):
            raise TypeError(f"expected a {self._model().__name__}, got {type(instance).__name__}")
        connection, compiled = self._connection_and_compiled()
        values = {field.attname: field.pre_save(instance, True) for field in compiled.fields}
        for name, value in values.items():
            if hasattr(value, "resolve_expression"):
                raise TypeError(f"{name}: an expression cannot be a prepared value")
        clash = values.keys() & computed.keys()
        if clash:
            raise TypeError(f"{sorted(clash)}: taken from the instance")
        statement = compiled.statement
        return BoundWrite(
            connection, statement.sql, statement.parameters(connection, {**values, **computed})
        )


class _Placeholders:
    """What the insert compiler reads the row's values from (``raw``: by ``attname``)."""

    def __init__(self, params: Mapping[str, Expression]) -> None:
        self.__dict__.update(params)


@dataclass(frozen=True)
class _CompiledInsert:
    statement: _Statement
    fields: tuple[Field[Any, Any], ...]


@dataclass(frozen=True, slots=True)
class BoundWrite:
    """A prepared write with its values, ready to run alone or with others."""

    connection: Any
    sql: str
    params: list[Any]

    def execute(self) -> int:
        """Run it; the number of rows it changed."""
        with (
            transaction.mark_for_rollback_on_error(using=self.connection.alias),
            self.connection.cursor() as cursor,
        ):
            cursor.execute(self.sql, self.params)
            count: int = cursor.rowcount
        return count


#: Between the statements of one round trip (where the driver takes several).
_STATEMENT_SEPARATOR = ";\n"


def execute_together(writes: Sequence[BoundWrite]) -> None:
    """Run ``writes`` in order, on their one connection, in one round trip where possible.

    PostgreSQL through psycopg's client-side binding (Django's default;
    psycopg sends the statement text with the values quoted by libpq, over
    the simple query protocol, which runs several statements in order) gets
    them as one ``execute()``: one entry in Django's query log, one round
    trip instead of one per statement. Elsewhere (SQLite, MySQL,
    ``server_side_binding``, psycopg2) each runs as its own ``execute()``.
    Either way they are all or nothing: they run in the caller's
    ``atomic()`` block (marked for rollback when one fails) or, outside
    one, in their own transaction; the first failure raises and stops the
    rest. Per-statement row counts are not reported.
    """
    if not writes:
        return
    connection = _connection_of(writes)
    with (
        transaction.atomic(using=connection.alias, savepoint=False),
        connection.cursor() as cursor,
    ):
        for _result in _each_executed(connection, cursor, writes):
            pass


def fetch_together(selects: Sequence[BoundSelect]) -> list[Any]:
    """Run ``selects`` in order, in one round trip where possible; each one's instance or ``None``.

    Where :func:`execute_together` sends writes as one ``execute()``
    (PostgreSQL with client-side binding), the statements go as one and
    their results are read one after the other (``nextset()``); elsewhere
    each runs as its own ``execute()``. They run in order either way, so
    row locks (``FOR UPDATE``) are taken in the order given; all of them
    run, even when an earlier one finds nothing.
    """
    if not selects:
        return []
    connection = _connection_of(selects)
    with connection.cursor() as cursor:
        rows = [cursor.fetchone() for _result in _each_executed(connection, cursor, selects)]
    return [select.instance(row) for select, row in zip(selects, rows, strict=True)]


def _connection_of(statements: Sequence[BoundWrite | BoundSelect]) -> Any:
    """The one connection of ``statements`` (bound statements run together share it)."""
    connection = statements[0].connection
    if any(statement.connection is not connection for statement in statements):
        raise ValueError("statements run together go to one database connection")
    return connection


def _each_executed(
    connection: Any, cursor: Any, statements: Sequence[BoundWrite | BoundSelect]
) -> Iterator[None]:
    """Run ``statements`` in order; yield once each, with its result current on ``cursor``.

    One ``execute()`` for all where the driver takes several statements at
    once (the results then follow one another: ``nextset()``), one each
    elsewhere.
    """
    if len(statements) > 1 and _takes_several_statements(connection, cursor):
        cursor.execute(
            _STATEMENT_SEPARATOR.join(statement.sql for statement in statements),
            [param for statement in statements for param in statement.params],
        )
        for position in range(len(statements)):
            if position and not cursor.nextset():
                raise RuntimeError("the driver returned fewer results than statements")
            yield
    else:
        for statement in statements:
            cursor.execute(statement.sql, statement.params)
            yield


def _takes_several_statements(connection: Any, cursor: Any) -> bool:
    """Whether one ``execute()`` on ``cursor`` may hold several statements with parameters.

    Only psycopg 3's ``ClientCursor`` (Django's cursor unless the database's
    ``OPTIONS`` set ``server_side_binding``): a server-side binding cursor
    sends one statement per extended-protocol message.
    """
    if connection.vendor != "postgresql":
        return False
    # Imported here: SQLite-only projects have no PostgreSQL driver at all.
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if not is_psycopg3:
        return False
    import psycopg

    return isinstance(cursor.cursor, psycopg.ClientCursor)
