"""Rate limits of the HTTP faces: a moving window per subject (Flask-Limiter's storage:
this process's memory, or Redis shared by every worker), and the ``Retry-After`` header on
the 429 they answer. The drivers' API limits logins and starts; the console limits failed
logins per address and per account (the lockout)."""

from __future__ import annotations

import math
import time

from flask import Response, current_app
from limits import RateLimitItemPerSecond

from app.errors import RATE_LIMITED, DomainError
from app.extensions import limiter


def rate_limit(
    bucket: str,
    subject: str,
    limit_setting: str,
    *,
    window_setting: str = "RATE_LIMIT_WINDOW_SECONDS",
    error: type[DomainError] = RATE_LIMITED,
) -> None:
    """One hit on ``subject``'s moving window of ``window_setting`` seconds (Flask-Limiter:
    counted and checked in one step by its storage); over ``limit_setting`` (0: no limit)
    answers ``error`` (429 RATE_LIMITED) with the seconds to wait (``Retry-After``)."""
    limit = int(current_app.config[limit_setting])
    if limit <= 0:
        return
    item = RateLimitItemPerSecond(limit, int(current_app.config[window_setting]))
    if limiter.limiter.hit(item, bucket, subject):
        return
    reset_at = limiter.limiter.get_window_stats(item, bucket, subject).reset_time
    raise error(details={"retry_after": max(math.ceil(reset_at - time.time()), 1)})


def _window(limit: int, seconds: int) -> RateLimitItemPerSecond:
    return RateLimitItemPerSecond(limit, seconds)


def exhausted(bucket: str, subject: str, limit: int, seconds: int) -> int:
    """0 when ``subject`` may still try, else the seconds until its window frees a try
    (nothing is counted: a failure is counted with :func:`count_failure`)."""
    item = _window(limit, seconds)
    if limit <= 0 or limiter.limiter.test(item, bucket, subject):
        return 0
    reset_at = limiter.limiter.get_window_stats(item, bucket, subject).reset_time
    return max(math.ceil(reset_at - time.time()), 1)


def count_failure(bucket: str, subject: str, limit: int, seconds: int) -> bool:
    """Count one failure of ``subject``; True when this one used up its window."""
    if limit <= 0:
        return False
    item = _window(limit, seconds)
    limiter.limiter.hit(item, bucket, subject)
    return not limiter.limiter.test(item, bucket, subject)


def retry_after(resp: Response) -> Response:
    """``after_request``: a 429 says in ``Retry-After`` how long to wait."""
    if resp.status_code == 429 and resp.is_json:
        details = (resp.get_json(silent=True) or {}).get("error", {}).get("details", {})
        if isinstance(details, dict) and details.get("retry_after"):
            resp.headers["Retry-After"] = str(details["retry_after"])
    return resp
