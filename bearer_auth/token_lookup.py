"""Strict authentication's one query: DOT's access-token row by digest, with its user.

:func:`token_rows` is the query, an ordinary queryset. Building and compiling
it costs several times what the database spends running it (on SQLite about
270 µs, against 30 µs for the same ``SELECT`` on a cursor), which alone is
more than simplejwt's whole ``authenticate()``. So where it was tested
(:func:`raw_lookup`) a JWT's row is read with ``QuerySet.raw()`` instead: the
same ``SELECT``, written once from the models' ``_meta`` and run with the
digest as its parameter; Django's ``raw()`` builds the user (its converters,
its ``from_db``) and ``Model.from_db`` the row, with its primary key and
user, as the queryset loads them. Public Django APIs only. Anywhere else (a
Django version or a database CI has not run it on, a user or token model it
does not fit) the queryset runs; ``tests/test_token_lookup.py`` holds both to
the same results.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import django
from django.db import connections, models, router
from django.db.models import QuerySet
from oauth2_provider.models import get_access_token_model

#: The Django versions CI runs the raw look-up on (tox.ini); any other uses the queryset.
TESTED_DJANGO_VERSIONS: Final = ((5, 2), (6, 0), (6, 1))
#: The databases CI runs it on; both quote identifiers the SQL-standard way.
TESTED_VENDORS: Final = frozenset({"sqlite", "postgresql"})
#: Columns of the access-token row an opaque token's authentication reads (and the primary key).
_OPAQUE_TOKEN_COLUMNS: Final = (
    "user",
    "application",
    "expires",
    "scope",
    "resource",
    "application__client_id",
)
#: The column of the raw look-up that carries the token row's primary key.
_TOKEN_PK: Final = "bearer_auth_token_pk"


def token_rows(*, opaque: bool) -> QuerySet[Any]:
    """DOT's access-token rows, each with its user (every column: it becomes ``request.user``).

    Of the row itself only the primary key and the user are loaded (the rest
    is read on access); an ``opaque`` token's row also brings the columns its
    authentication reads: expiry, scope and the application's ``client_id``.
    """
    rows: QuerySet[Any] = get_access_token_model().objects.all()
    if opaque:
        rows = rows.select_related("user", "application").only(*_OPAQUE_TOKEN_COLUMNS)
    else:
        rows = rows.select_related("user").only("user")
    return rows


def find_token_row(checksum: str, *, opaque: bool) -> Any | None:
    """Return DOT's row whose ``token_checksum`` is ``checksum``, with its user; or ``None``.

    One indexed query (the digest is unique). The raw look-up where it
    applies, else :func:`token_rows`; on the database the router reads
    access tokens from.
    """
    token_model = get_access_token_model()
    alias = router.db_for_read(token_model)
    lookup = None if opaque else raw_lookup(token_model, connections[alias].vendor)
    if lookup is not None:
        return lookup.first(checksum, using=alias)
    rows = token_rows(opaque=opaque).using(alias).filter(token_checksum=checksum)
    return next(iter(rows[:1]), None)


@dataclass(frozen=True)
class RawTokenLookup:
    """:func:`token_rows` (a JWT's) as one ``QuerySet.raw()`` statement on the user model."""

    sql: str
    token_model: type[models.Model]
    #: The user model's default manager: ``raw()`` builds users with it.
    users: models.Manager[Any]
    #: The attnames ``Model.from_db`` loads on the token row: its primary key and user.
    loaded: tuple[str, str]

    def first(self, checksum: str, *, using: str) -> Any | None:
        """Run the statement; the token row with its user (``None`` for a client's token)."""
        user = next(iter(self.users.raw(self.sql, [checksum], using=using)), None)
        if user is None:
            return None
        token_pk = getattr(user, _TOKEN_PK)
        delattr(user, _TOKEN_PK)
        row = self.token_model.from_db(using, list(self.loaded), [token_pk, user.pk])
        if user.pk is not None:  # a client-credentials token's join found no user
            row.user = user
        return row


@cache
def raw_lookup(token_model: type[models.Model], vendor: str) -> RawTokenLookup | None:
    """The raw look-up for ``token_model`` on a ``vendor`` database, if it applies there.

    It applies on a Django version and a database CI runs it on, when each
    model's columns are in its own table (no multi-table inheritance, no
    proxy, no composite key), the token's ``user`` is a foreign key to the
    user's primary key, and the token's primary key is an integer column
    Django reads unconverted (the raw statement carries it as an extra
    column, which ``raw()`` does not convert). ``None``: use
    :func:`token_rows`.
    """
    meta = token_model._meta
    user_field, checksum_field, token_pk = (
        meta.get_field("user"),
        meta.get_field("token_checksum"),
        meta.pk,
    )
    user_model = user_field.related_model
    if not (
        django.VERSION[:2] in TESTED_DJANGO_VERSIONS
        and vendor in TESTED_VENDORS
        and isinstance(user_field, models.ForeignKey)
        and user_field.to_fields == [None]  # to the user's primary key
        and isinstance(checksum_field, models.Field)
        and isinstance(token_pk, models.IntegerField)
        and not hasattr(token_pk, "from_db_value")
        and isinstance(user_model, type)
        and _own_columns(token_model)
        and _own_columns(user_model)
    ):
        return None
    user_meta = user_model._meta
    if (
        user_meta.pk is None
        or user_meta.default_manager is None
        or _TOKEN_PK in {field.column for field in user_meta.concrete_fields}
    ):
        return None
    user_table, token_table = _quoted(user_meta.db_table), _quoted(meta.db_table)
    columns = [_qualified(user_table, field) for field in user_meta.concrete_fields]
    columns.append(f"{_qualified(token_table, token_pk)} AS {_quoted(_TOKEN_PK)}")
    join = f"{_qualified(user_table, user_meta.pk)} = {_qualified(token_table, user_field)}"
    checksum = _qualified(token_table, checksum_field)
    # Identifiers from the models' _meta only; the digest is a parameter.
    sql = (
        f"SELECT {', '.join(columns)} FROM {token_table}"  # noqa: S608
        f" LEFT OUTER JOIN {user_table} ON {join} WHERE {checksum} = %s"
    )
    return RawTokenLookup(
        sql=sql,
        token_model=token_model,
        users=user_meta.default_manager,
        loaded=(token_pk.attname, user_field.attname),
    )


def _qualified(table: str, field: models.Field[Any, Any]) -> str:
    """``table.column`` of a concrete field, quoted (``table`` already is)."""
    return f"{table}.{_quoted(str(field.column))}"


def _own_columns(model: type[models.Model]) -> bool:
    """Whether every column of ``model`` is in its own table, the primary key one of them."""
    meta = model._meta
    return (
        not meta.proxy
        and meta.pk is not None
        and meta.pk.concrete
        and all(field.model is model for field in meta.concrete_fields)
    )


def _quoted(name: str) -> str:
    """Quote an SQL identifier the standard way (SQLite and PostgreSQL); a quoted one is kept."""
    if name.startswith('"') and name.endswith('"'):
        return name
    return '"' + name.replace('"', '""') + '"'
