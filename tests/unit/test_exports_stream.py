"""The one export path (app/tenancy/exports.py): rows are read from the database only once
the export is allowed, one batch at a time."""

from __future__ import annotations

import pytest

from app.errors import DomainError
from app.tenancy.exports import audited_export, in_batches
from app.tenancy.scope import SYSTEM
from app.xlsx_export import Column


def test_an_export_refused_above_its_ceiling_never_runs_its_row_query() -> None:
    """On PostgreSQL a streamed query is a server-side cursor: run and then refused, it was
    left open (the suite's unraisable-exception check found it). The query runs only when
    the first row is wanted."""
    reads: list[int] = []

    def read(batch: int) -> list[int]:
        reads.append(batch)
        return [1, 2, 3]

    rows = in_batches(read, lambda batch: [{"n": n} for n in batch])
    assert reads == []  # made, not run
    with pytest.raises(DomainError) as refused:
        audited_export(
            SYSTEM, sheet="订单", columns=[Column("n", lambda r: r["n"])], rows=rows,
            matched=10, action="x.export", target_type="x", filters={}, limit=5,
        )  # fmt: skip
    assert refused.value.code == "EXPORT_TOO_MANY_ROWS"
    assert reads == []


def test_rows_come_in_batches_of_the_size_the_query_streams() -> None:
    batches: list[list[int]] = []

    def complete(batch: list[int]) -> list[dict[str, int]]:
        batches.append(list(batch))
        return [{"n": n} for n in batch]

    asked: list[int] = []
    rows = list(in_batches(lambda n: asked.append(n) or range(5), complete, batch=2))
    assert asked == [2] and [r["n"] for r in rows] == [0, 1, 2, 3, 4]
    assert batches == [[0, 1], [2, 3], [4]]
