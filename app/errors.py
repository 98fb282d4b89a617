"""Domain errors and the one JSON error contract for every route.

Every error leaves as ``HTTP status + {"error": {"code", "message", "details"}}``:
``code`` is stable for programs, ``message`` is Chinese for people.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class DomainError(Exception):
    status = 400
    code = "BAD_REQUEST"
    message = "请求有误"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.code = code or self.code
        self.details = details or {}
        if status is not None:
            self.status = status


class NotFound(DomainError):
    status = 404
    code = "NOT_FOUND"
    message = "资源不存在"


class Conflict(DomainError):
    status = 409
    code = "CONFLICT"
    message = "与现有数据冲突"


class ValidationFailed(DomainError):
    status = 422
    code = "VALIDATION_ERROR"
    message = "提交的数据不正确"


class Unauthorized(DomainError):
    status = 401
    code = "AUTH_REQUIRED"
    message = "请先登录"


class Forbidden(DomainError):
    status = 403
    code = "PERMISSION_DENIED"
    message = "没有权限执行此操作"


class MissingBaseData(DomainError):
    """Base data an operation needs is missing (case #2): say exactly what."""

    status = 409
    code = "BASE_DATA_MISSING"
    message = "基础数据不完整"


class InsufficientBalance(DomainError):
    status = 409
    code = "WALLET_INSUFFICIENT"
    message = "余额不足"


class RateLimited(DomainError):
    status = 429
    code = "RATE_LIMITED"
    message = "请求过于频繁，请稍后再试"


# Chinese messages for the HTTP errors Flask raises itself
_HTTP_MESSAGES = {
    400: ("BAD_REQUEST", "请求格式不正确"),
    401: ("AUTH_REQUIRED", "请先登录"),
    403: ("PERMISSION_DENIED", "没有权限执行此操作"),
    404: ("NOT_FOUND", "请求的地址不存在"),
    405: ("METHOD_NOT_ALLOWED", "不支持该请求方法"),
    409: ("CONFLICT", "与现有数据冲突"),
    413: ("PAYLOAD_TOO_LARGE", "上传的内容过大"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "不支持的内容类型"),
    422: ("VALIDATION_ERROR", "提交的数据不正确"),
    429: ("RATE_LIMITED", "请求过于频繁，请稍后再试"),
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _response(status: int, code: str, message: str, details: Any = None) -> Response:
    resp = jsonify(error_body(code, message, details))
    resp.status_code = status
    return resp


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(err: DomainError) -> Response:
        return _response(err.status, err.code, err.message, err.details)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Response:
        status = err.code or 500
        code, message = _HTTP_MESSAGES.get(status, ("HTTP_ERROR", err.name))
        details: dict[str, Any] = {}
        # flask-smorest / webargs put field errors in err.data["messages"]
        data = getattr(err, "data", None)
        if isinstance(data, dict) and "messages" in data:
            details = {"fields": data["messages"]}
        resp = _response(status, code, message, details)
        valid_methods = getattr(err, "valid_methods", None)
        if status == 405 and valid_methods:
            resp.headers["Allow"] = ", ".join(valid_methods)
        return resp

    @app.errorhandler(Exception)
    def _crash(err: Exception) -> Response:
        log.exception("unhandled error: %s", err)
        return _response(500, "INTERNAL_ERROR", "服务器内部错误，请稍后重试")
