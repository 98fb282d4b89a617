"""The one xlsx writer every export uses: money to the fen, energy to the Wh, local times."""

from __future__ import annotations

from datetime import UTC, date, datetime

import openpyxl
import pytest
from flask import Flask

from admin_spa.api.export_response import xlsx_download
from app import xlsx_export
from app.xlsx_export import Column, Kind, TooManyRows, write_xlsx

COLUMNS = [
    Column("订单号", lambda r: r["no"]),
    Column("电量(kWh)", lambda r: r["wh"], Kind.WH),
    Column("金额(元)", lambda r: r["fen"], Kind.FEN),
    Column("开始时间", lambda r: r["at"], Kind.TIME),
    Column("日期", lambda r: r["day"], Kind.DATE),
    Column("次数", lambda r: r["n"], Kind.INT),
]


def _rows() -> list[dict]:
    at = datetime(2019, 11, 13, 15, 59, 59, tzinfo=UTC)
    return [
        {"no": "C001", "wh": 12_345, "fen": 1_234_567, "at": at, "day": date(2019, 11, 13), "n": 3},
        {"no": "充电-2", "wh": 1, "fen": 1, "at": None, "day": None, "n": None},
    ]


def _read(file) -> list[list]:
    book = openpyxl.load_workbook(file)
    return [list(row) for row in book.active.iter_rows(values_only=True)]


def test_export_writes_fen_as_yuan_wh_as_kwh_and_times_local() -> None:
    file, count = write_xlsx("订单", COLUMNS, _rows())
    with file:
        rows = _read(file)
    assert count == 2
    assert rows[0] == ["订单号", "电量(kWh)", "金额(元)", "开始时间", "日期", "次数"]
    assert rows[1][:3] == ["C001", 12.345, 12345.67]
    assert rows[1][3] == datetime(2019, 11, 13, 23, 59, 59)  # Beijing time of 15:59:59 UTC
    assert rows[1][4] == datetime(2019, 11, 13)
    assert rows[2] == ["充电-2", 0.001, 0.01, None, None, None]  # empty cells, never "None"


def test_export_title_goes_above_the_headings() -> None:
    file, count = write_xlsx("订单", COLUMNS, iter([]), title="筛选：站点 A")
    with file:
        rows = _read(file)
    assert count == 0
    assert rows[0][0] == "筛选：站点 A" and rows[1][0] == "订单号"


def test_export_refuses_more_rows_than_a_sheet_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx_export, "MAX_ROWS", 1)
    with pytest.raises(TooManyRows):
        write_xlsx("订单", COLUMNS, _rows())


def test_export_download_keeps_the_chinese_name_and_leaves_no_open_file() -> None:
    file, count = write_xlsx("订单", COLUMNS, _rows())
    with Flask(__name__).test_request_context():
        response = xlsx_download(file, "充电订单-20191113", count)
        disposition = response.headers["Content-Disposition"]
        assert "attachment" in disposition
        assert "filename*=UTF-8''%E5%85%85%E7%94%B5%E8%AE%A2%E5%8D%95-20191113.xlsx" in disposition
        assert response.headers["X-Export-Rows"] == "2"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.mimetype == xlsx_export.MIMETYPE
        assert file.closed  # even a response nobody reads or closes leaves no open file
        response.close()


def test_export_cells_carry_their_number_formats_widths_and_frozen_headings() -> None:
    """The package is written by hand (speed): Excel's formats, widths and the frozen
    heading rows must survive a round trip through another reader."""
    file, _ = write_xlsx("订单<&>", COLUMNS, _rows(), title="筛选：a & <b>")
    with file:
        book = openpyxl.load_workbook(file)
    ws = book.active
    assert ws.title == "订单<&>"
    assert ws["A1"].value == "筛选：a & <b>"
    assert ws.freeze_panes == "A3"  # the title and the headings stay in view
    assert ws["A2"].font.b and ws["A2"].fill.fgColor.rgb == "FFF2F3F5"
    formats = {cell.column_letter: cell.number_format for cell in ws[3]}
    assert formats["B"] == "0.000" and formats["C"] == "0.00"
    assert formats["D"] == "yyyy-mm-dd hh:mm:ss" and formats["E"] == "yyyy-mm-dd"
    assert formats["F"] == "0"
    assert ws.column_dimensions["A"].width > 14


def test_export_drops_characters_xml_cannot_hold_and_keeps_spaces() -> None:
    rows = [{"no": " 备注\x07含控制符 ", "wh": 0, "fen": -150, "at": None, "day": None, "n": 0}]
    file, _ = write_xlsx("订单", COLUMNS, rows)
    with file:
        got = _read(file)
    assert got[1][:3] == [" 备注含控制符 ", 0, -1.5]
    assert got[1][5] == 0  # zero is a value, not an empty cell
