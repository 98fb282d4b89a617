"""Prometheus metrics for HTTP requests, served at /metrics."""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

REQUESTS = Counter("evop_http_requests_total", "HTTP requests", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "evop_http_request_seconds",
    "HTTP request latency",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def init_metrics(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g._evop_t0 = time.perf_counter()

    @app.after_request
    def _observe(resp: Response) -> Response:
        t0 = g.pop("_evop_t0", None)
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(request.method, endpoint, str(resp.status_code)).inc()
        if t0 is not None:
            LATENCY.labels(endpoint).observe(time.perf_counter() - t0)
        return resp

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
