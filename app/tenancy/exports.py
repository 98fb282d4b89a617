"""One audited xlsx export of a list (issue 10): the list's own filter counted first and
refused above a ceiling (EXPORT_TOO_MANY_ROWS) before anything is written, the rows
streamed into :func:`app.xlsx_export.write_xlsx`, and who exported which filter and how
many rows recorded in the audit log. Each export (members, refunds, abnormal orders, a
wallet's ledger) describes its columns and rows; the filter is always the list's."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import IO, Any, TypeVar

from app.errors import EXPORT_TOO_MANY_ROWS
from app.tenancy import audit
from app.tenancy.scope import Actor
from app.uow import transactional
from app.xlsx_export import Column, write_xlsx

MAX_ROWS = 300_000
BATCH = 1000

T = TypeVar("T")


def in_batches(
    read: Callable[[int], Iterable[T]],
    complete: Callable[[list[T]], list[dict[str, Any]]],
    batch: int = BATCH,
) -> Iterator[dict[str, Any]]:
    """A query's results turned into rows by ``complete`` one batch at a time (its lookups
    are one query per batch, never per row): one batch in memory, whatever the count.
    ``read(batch)`` runs the query, streamed ``yield_per=batch``, only when the first row
    is wanted: an export refused above its ceiling opens no cursor it would leave behind
    (a PostgreSQL server-side cursor, found by the suite on PostgreSQL)."""
    pending: list[T] = []
    for item in read(batch):
        pending.append(item)
        if len(pending) == batch:
            yield from complete(pending)
            pending = []
    if pending:
        yield from complete(pending)


def audited_export(
    actor: Actor,
    *,
    sheet: str,
    columns: list[Column],
    rows: Iterable[Any],
    matched: int,
    action: str,
    target_type: str,
    target_id: Any = "",
    filters: dict[str, Any],
    limit: int | None = None,
) -> tuple[IO[bytes], int]:
    """The xlsx (a temporary file at its start) and its row count. ``matched`` is the
    list filter's count; ``rows`` is consumed only when it is within ``limit``."""
    limit = MAX_ROWS if limit is None else limit  # read at the call: one setting to change
    if matched > limit:
        raise EXPORT_TOO_MANY_ROWS(details={"rows": matched, "limit": limit})
    plain = plain_filters(filters)
    described = "，".join(f"{k}={v}" for k, v in plain.items())
    title = sheet + (f"（筛选：{described}）" if described else "")
    file, count = write_xlsx(sheet, columns, rows, title=title)
    _audit(actor, action, target_type, target_id, plain, count)
    return file, count


def plain_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """The filters given (None left out), JSON-safe for the audit row."""
    return {
        k: v.isoformat() if isinstance(v, datetime) else v
        for k, v in filters.items()
        if v is not None and v != ""
    }


@transactional
def _audit(
    actor: Actor,
    action: str,
    target_type: str,
    target_id: Any,
    filters: dict[str, Any],
    count: int,
) -> None:
    audit.record(
        actor, action, target_type, target_id,
        operator_id=actor.operator_id, after={"filters": filters, "rows": count},
    )  # fmt: skip
