"""Spreadsheets for people: one function writes any list of rows to an xlsx file.

Exports (orders, members, refunds, statements, partner reconciliations...) describe their
columns once and hand over an iterable of rows; the rows are streamed into the file
(XlsxWriter's constant-memory mode), so an export of 100,000 orders holds one row in memory
at a time. Money is written as a number of yuan with two decimals from integer fen (the
cell's value is ``fen / 100``, exact to the fen for any amount a platform holds), energy as
kWh with three decimals from integer Wh, and every time in the time zone the export names,
as an Excel date so that it sorts and filters. The file is a temporary file the caller
sends and closes; nothing here knows about HTTP.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import IO, Any
from zoneinfo import ZoneInfo

import xlsxwriter

MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 1_048_575  # one sheet of Excel, less the heading row


class Kind(Enum):
    """How a column's values are written."""

    TEXT = "text"
    INT = "int"
    FEN = "fen"  # integer fen, shown as yuan 0.00
    WH = "wh"  # integer Wh, shown as kWh 0.000
    TIME = "time"  # an aware datetime (UTC in the database), shown local
    DATE = "date"
    PERCENT = "percent"  # a fraction, shown as 0.0%


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its heading (Chinese, for people), how to read it from a row, how to
    write it, and its width in characters."""

    title: str
    value: Callable[[Any], Any]
    kind: Kind = Kind.TEXT
    width: int = 14


class TooManyRows(Exception):
    """More rows than one sheet holds: the caller narrows the filter."""


_FORMATS = {
    Kind.INT: "0",
    Kind.FEN: "0.00",
    Kind.WH: "0.000",
    Kind.TIME: "yyyy-mm-dd hh:mm:ss",
    Kind.DATE: "yyyy-mm-dd",
    Kind.PERCENT: "0.0%",
}


def write_xlsx(
    sheet: str,
    columns: list[Column],
    rows: Iterable[Any],
    *,
    timezone: str = "Asia/Shanghai",
    title: str | None = None,
) -> tuple[IO[bytes], int]:
    """The rows in a new workbook of one sheet, in a temporary file positioned at its start,
    and the number of rows written. ``title`` (for example the filter used) goes in a first
    line above the headings."""
    zone = ZoneInfo(timezone)
    out = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the caller closes it
    book = xlsxwriter.Workbook(
        out, {"constant_memory": True, "in_memory": False, "tmpdir": tempfile.gettempdir()}
    )
    try:
        ws = book.add_worksheet(sheet[:31])
        bold = book.add_format({"bold": True, "bg_color": "#F2F3F5", "border": 1})
        formats = {kind: book.add_format({"num_format": f}) for kind, f in _FORMATS.items()}
        for i, col in enumerate(columns):
            ws.set_column(i, i, col.width)
        first = 0
        if title:
            ws.write_string(0, 0, title)
            first = 1
        for i, col in enumerate(columns):
            ws.write_string(first, i, col.title, bold)
        ws.freeze_panes(first + 1, 0)
        count = 0
        for count, row in enumerate(rows, start=1):
            if count > MAX_ROWS - first:
                raise TooManyRows(count)
            r = first + count
            for i, col in enumerate(columns):
                _write(ws, r, i, col.kind, col.value(row), formats, zone)
        book.close()
    except BaseException:
        with contextlib.suppress(Exception):
            book.close()  # closes the sheet's own temporary file too
        out.close()
        raise
    out.seek(0)
    return out, count


def _write(ws: Any, r: int, c: int, kind: Kind, value: Any, formats: dict, zone: ZoneInfo) -> None:
    if value is None or value == "":
        return  # an empty cell, never "None"
    if kind is Kind.TEXT:
        ws.write_string(r, c, str(value))
    elif kind is Kind.INT:
        ws.write_number(r, c, int(value), formats[kind])
    elif kind is Kind.FEN:
        ws.write_number(r, c, int(value) / 100, formats[kind])
    elif kind is Kind.WH:
        ws.write_number(r, c, int(value) / 1000, formats[kind])
    elif kind is Kind.PERCENT:
        ws.write_number(r, c, float(value), formats[kind])
    elif kind is Kind.TIME:
        at: datetime = value
        if at.tzinfo is not None:
            at = at.astimezone(zone).replace(tzinfo=None)
        ws.write_datetime(r, c, at, formats[kind])
    elif kind is Kind.DATE:
        day: date = value
        ws.write_datetime(r, c, datetime(day.year, day.month, day.day), formats[kind])
