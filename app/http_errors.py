"""The one JSON error contract of every route, on the HTTP side: domain errors, the HTTP
errors Flask and webargs raise themselves, and crashes, each as
``status + {"error": {"code", "message", "details"}}`` with a code of the catalogue."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from app.errors import (
    AUTH_REQUIRED,
    BAD_REQUEST,
    CONFLICT,
    DATA_IN_USE,
    HTTP_ERROR,
    INTERNAL_ERROR,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    PAYLOAD_TOO_LARGE,
    PERMISSION_DENIED,
    RATE_LIMITED,
    UNSUPPORTED_MEDIA_TYPE,
    VALIDATION_ERROR,
    DomainError,
    error_body,
)

log = logging.getLogger(__name__)

# the HTTP errors Flask raises itself: the catalogue entry, and a message of their own
_HTTP_ERRORS: dict[int, tuple[type[DomainError], str | None]] = {
    400: (BAD_REQUEST, "请求格式不正确"),
    401: (AUTH_REQUIRED, None),
    403: (PERMISSION_DENIED, None),
    404: (NOT_FOUND, "请求的地址不存在"),
    405: (METHOD_NOT_ALLOWED, None),
    409: (CONFLICT, None),
    413: (PAYLOAD_TOO_LARGE, None),
    415: (UNSUPPORTED_MEDIA_TYPE, None),
    422: (VALIDATION_ERROR, None),
    429: (RATE_LIMITED, None),
}


def _json_safe(value: Any) -> Any:
    """Field errors as JSON can carry them: webargs keys a multipart part's errors by its
    index or by None, and sorted keys of mixed types crashed the error answer itself."""
    if isinstance(value, dict):
        return {("" if k is None else str(k)): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _response(status: int, code: str, message: str, details: Any = None) -> Response:
    resp = jsonify(error_body(code, message, _json_safe(details)))
    resp.status_code = status
    return resp


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(err: DomainError) -> Response:
        return _response(err.status, err.code, err.message, err.details)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Response:
        status = err.code or 500
        entry, message = _HTTP_ERRORS.get(status, (HTTP_ERROR, err.name))
        details: dict[str, Any] = {}
        # flask-smorest / webargs put field errors in err.data["messages"]
        data = getattr(err, "data", None)
        if isinstance(data, dict) and "messages" in data:
            details = {"fields": data["messages"]}
        resp = _response(status, entry.code, message or entry.message, details)
        valid_methods = getattr(err, "valid_methods", None)
        if status == 405 and valid_methods:
            resp.headers["Allow"] = ", ".join(valid_methods)
        return resp

    @app.errorhandler(IntegrityError)
    def _integrity(err: IntegrityError) -> Response:
        # A constraint the services did not check first (a row still referenced, a duplicate
        # a concurrent request inserted): the write did not happen, say so as a 409. The
        # session is rolled back when the request's context ends.
        log.warning("integrity error answered 409: %s", err.orig)
        return _response(DATA_IN_USE.status, DATA_IN_USE.code, DATA_IN_USE.message)

    @app.errorhandler(Exception)
    def _crash(err: Exception) -> Response:
        log.exception("unhandled error: %s", err)
        return _response(INTERNAL_ERROR.status, INTERNAL_ERROR.code, INTERNAL_ERROR.message)
