"""Declarative base, constraint naming convention and the column types every model uses."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    TypeDecorator,
    event,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.functions import FunctionElement

# FlaskBB's convention: stable constraint names keep Alembic migrations stable
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite keeps them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: times are stored as aware UTC")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Money: integer fen. BIGINT on PostgreSQL, INTEGER on SQLite (its only auto-increment type).
Fen = BigInteger().with_variant(Integer(), "sqlite")

# Unit prices: yuan per kWh (or per minute), four decimals.
UnitPrice = Numeric(10, 4)

BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def postgresql_only(index: Index) -> Index:
    """An index that exists on PostgreSQL alone (created there by ``create_all`` and the
    migrations, never on SQLite); :func:`in_schema_of` keeps the drift check from asking
    SQLite for it."""
    index.info["dialect"] = "postgresql"
    return index.ddl_if(dialect="postgresql")


def in_schema_of(dialect: str) -> Callable[..., bool]:
    """Alembic's ``include_object`` for a database of ``dialect``: the model objects that
    database has (every one but another dialect's :func:`postgresql_only` indexes)."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        only_on = obj.info.get("dialect") if type_ == "index" else None
        return only_on in (None, dialect)

    return include


def with_trigram_ops(table: Table) -> None:
    """Before ``create_all`` makes ``table`` on PostgreSQL: the pg_trgm extension its
    trigram index needs, and its operator classes visible for this transaction (a test or
    bench schema of its own sets ``search_path`` to that schema alone). Production gets
    the index from its migration, which degrades when the extension is refused."""

    @event.listens_for(table, "before_create")
    def _trigram_ops(target: Table, connection: Connection, **kw: Any) -> None:
        if connection.dialect.name != "postgresql":
            return
        find = text(
            "SELECT n.nspname FROM pg_extension e "
            "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
        )
        schema = connection.scalar(find)
        if schema is None:
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
            schema = connection.scalar(find)
        connection.execute(
            text("SELECT set_config('search_path', current_setting('search_path') || ', ' "
                 "|| quote_ident(:schema), true)"),
            {"schema": schema},
        )  # fmt: skip


class local_date(FunctionElement[str]):
    """The local calendar date (``YYYY-MM-DD``) of a UTC timestamp column, in SQL.

    PostgreSQL converts with the zone itself; SQLite has no zones, so it shifts by the
    zone's offset now (exact for zones without daylight saving, such as Asia/Shanghai)."""

    type = String()
    name = "local_date"
    inherit_cache = False

    def __init__(self, column: Any, tz: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9/_+-]+", tz):
            raise ValueError(f"not a time zone name: {tz!r}")
        self.tz = tz
        offset = datetime.now(ZoneInfo(tz)).utcoffset()
        self.offset_seconds = int(offset.total_seconds()) if offset else 0
        super().__init__(column)


@compiles(local_date, "postgresql")
def _local_date_pg(element: local_date, compiler: Any, **kw: Any) -> str:
    column = compiler.process(next(iter(element.clauses)), **kw)
    # inline, not a bind: GROUP BY must repeat the very same expression (a zone name from
    # ZoneInfo holds letters, digits, '/', '_', '+' and '-' only)
    return f"to_char(({column}) AT TIME ZONE '{element.tz}', 'YYYY-MM-DD')"


@compiles(local_date, "sqlite")
def _local_date_sqlite(element: local_date, compiler: Any, **kw: Any) -> str:
    column = compiler.process(next(iter(element.clauses)), **kw)
    return f"strftime('%Y-%m-%d', {column}, '{element.offset_seconds:+d} seconds')"
