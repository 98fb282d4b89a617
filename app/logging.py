"""Structured logging: one JSON object per line on stdout.

Pass context with ``log.info("...", extra={"pile_code": ..., "order_no": ...})``: every
extra field lands in the line, so a pile or an order can be grepped end to end.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", json_lines: bool = True) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_evop", False) for h in root.handlers):
        root.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stdout)
    handler._evop = True  # type: ignore[attr-defined]
    handler.setFormatter(
        JsonFormatter() if json_lines else logging.Formatter("%(levelname)s %(name)s %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level)
    # urllib3 logs request lines at DEBUG, and WeChat puts secrets in query strings
    logging.getLogger("urllib3").setLevel(max(logging.INFO, logging.getLevelName(level)))
    # APScheduler says "Running job" / "executed successfully" at INFO on every run: our
    # own "job done" line says it once, at INFO only when the job did something (issue 14)
    logging.getLogger("apscheduler.executors").setLevel(
        max(logging.WARNING, logging.getLevelName(level))
    )
