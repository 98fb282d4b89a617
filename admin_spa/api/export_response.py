"""An xlsx file made by ``app.xlsx_export`` as a download: its Chinese name kept for
browsers (RFC 5987 ``filename*``), an ASCII fallback, never cached, closed once sent."""

from __future__ import annotations

from typing import IO

from flask import Response, send_file

from app.xlsx_export import MIMETYPE


def xlsx_download(file: IO[bytes], name: str, rows: int) -> Response:
    """``name`` without extension, e.g. ``充电订单-20261204``; ``rows`` goes in the
    ``X-Export-Rows`` header so that a program can check the count without opening it."""
    response = send_file(file, mimetype=MIMETYPE, as_attachment=True, download_name=f"{name}.xlsx")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Export-Rows"] = str(rows)
    response.call_on_close(file.close)
    return response
