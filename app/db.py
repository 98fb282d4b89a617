"""Declarative base, constraint naming convention and the column types every model uses."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    String,
    TypeDecorator,
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
