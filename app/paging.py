"""Server-side pages of any query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from app.extensions import db


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Any]
    total: int
    page: int
    page_size: int


def paginate(stmt: Select[Any], page: int, page_size: int) -> Page:
    page = max(page, 1)
    page_size = min(max(page_size, 1), 100)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(db.session.scalars(stmt.limit(page_size).offset((page - 1) * page_size)).unique())
    return Page(items=items, total=int(total or 0), page=page, page_size=page_size)
