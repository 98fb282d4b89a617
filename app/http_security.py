"""What every HTTP answer carries and what every route refuses before it runs (issue 15):
security headers, path integers within the database's bounds, ``/metrics`` for the
monitoring network only."""

from __future__ import annotations

import hmac
import ipaddress

from flask import Flask, Response, abort, request
from werkzeug.routing import IntegerConverter

from app.openapi import INT32

# the console is a same-origin SPA (Element Plus sets inline styles); the APIs answer JSON
_CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
_API_CSP = "default-src 'none'; frame-ancestors 'none'"


class Int32Converter(IntegerConverter):
    """``<int:...>`` of every route: beyond a 32-bit id it names nothing (404), where
    PostgreSQL answered an out-of-range error (500)."""

    def __init__(self, map: object, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max", INT32)
        super().__init__(map, *args, **kwargs)  # type: ignore[arg-type]


def _headers(resp: Response) -> Response:
    h = resp.headers
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    h.setdefault("X-Frame-Options", "DENY")
    path = request.path
    if path.startswith("/admin") or path.startswith("/h5"):
        h.setdefault("Content-Security-Policy", _CONSOLE_CSP)
    elif path.startswith(("/api/mp", "/api/admin", "/evcs/")) or path == "/api/openapi.json":
        h.setdefault("Content-Security-Policy", _API_CSP)
    if request.is_secure:  # behind TLS (the proxy says so): browsers keep to HTTPS
        h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return resp


def metrics_allowed(token_setting: str, remote: str | None, authorization: str) -> bool:
    """``/metrics`` answers the loopback and private networks, or anyone presenting the
    configured bearer token (``EVOP_METRICS_TOKEN``)."""
    if token_setting:
        scheme, _, token = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), token_setting.encode()
        )
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    return address.is_loopback or address.is_private


def install(app: Flask) -> None:
    app.url_map.converters["int"] = Int32Converter
    app.after_request(_headers)

    @app.before_request
    def _guard_metrics() -> None:
        if request.path == "/metrics" and not metrics_allowed(
            str(app.config.get("METRICS_TOKEN", "")),
            request.remote_addr,
            request.headers.get("Authorization", ""),
        ):
            abort(404)
