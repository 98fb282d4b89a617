"""An xlsx file made by ``app.xlsx_export`` as a download: its Chinese name kept for
browsers (RFC 5987 ``filename*``), an ASCII fallback, never cached.

The rows were streamed into the file in constant memory; the finished file (a few MiB for
100,000 rows) is read once and the temporary file closed here, so that no client that
leaves the response unread or unclosed can leave an open file behind."""

from __future__ import annotations

import io
from typing import IO
from zoneinfo import ZoneInfo

from flask import Response, current_app, send_file

from app.db import utcnow
from app.xlsx_export import MIMETYPE


def xlsx_download(file: IO[bytes], name: str, rows: int) -> Response:
    """``name`` without extension, e.g. ``充电订单-20261204``; ``rows`` goes in the
    ``X-Export-Rows`` header so that a program can check the count without opening it."""
    with file:
        body = io.BytesIO(file.read())
    response = send_file(body, mimetype=MIMETYPE, as_attachment=True, download_name=f"{name}.xlsx")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Export-Rows"] = str(rows)
    return response


def dated(stem: str) -> str:
    """``充电订单`` -> ``充电订单-20261204``: the date the operator sees on the wall clock
    (the platform's time zone), not UTC's, so an export at 07:30 in Shanghai is today's."""
    zone = ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])
    return f"{stem}-{utcnow().astimezone(zone):%Y%m%d}"


# ``@bp.doc(responses=XLSX_RESPONSES)`` on an export route: the OpenAPI answer is a file
XLSX_RESPONSES = {
    "200": {
        "description": "xlsx 文件",
        "content": {MIMETYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}
