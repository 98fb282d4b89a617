"""The drivers' benchmark's ceiling (issue 12): a route of the drivers' surface (same
application, middleware and token check as every other route) that reads nothing and
answers a constant JSON body the size of a live order, so the benchmark can say how near
each route comes to what the framework alone allows on the same machine in the same run.
Mounted only with ``BENCH_CEILING`` (never in production: check_settings refuses it)."""

from __future__ import annotations

import os
from functools import cache

from flask import Response

from app.config import setting
from app.openapi import Schema
from miniprogram_api.auth import current_driver_id
from miniprogram_api.blueprints import blueprint

bp = blueprint("bench", "基准测试上限（仅基准测试挂载）")


@cache
def body_of(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes (at least 16)."""
    head = b'{"ceiling": "'
    tail = b'"}'
    return head + b"x" * max(0, size - len(head) - len(tail)) + tail


class CeilingOut(Schema):
    pass


@bp.route("/bench/ceiling")
@bp.response(200, CeilingOut)
def ceiling() -> Response:
    """基准测试上限：校验令牌后返回固定内容（仅基准测试挂载）"""
    current_driver_id()  # the token was checked; a route reads who it is for
    resp = Response(body_of(int(setting("BENCH_CEILING_BYTES"))), mimetype="application/json")
    # which worker answered: the benchmark waits until every worker has booted
    resp.headers["X-Bench-Worker"] = str(os.getpid())
    return resp
