"""The HTTP server of the embedded single process (API + console + docs on gevent).

``wsgi.py`` composes the process: it starts the pile link and the scheduler and hands
their stop functions here, so SIGTERM drains everything within a bound.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Sequence

import gevent
from flask import Flask
from gevent.pywsgi import WSGIServer

log = logging.getLogger(__name__)


def serve(
    app: Flask,
    stops: Sequence[Callable[[], None]] = (),
    ready: Sequence[Callable[[], None]] = (),
) -> None:
    """Serve until SIGTERM; each of ``ready`` runs in a greenlet once the socket listens
    (the demo downloads its platform key from the sandbox this server serves)."""
    host, port = app.config["HTTP_HOST"], int(app.config["HTTP_PORT"])
    server = WSGIServer((host, port), app, log=None, error_log=log)
    base = f"http://{host}:{port}"
    print(f"运营后台  {base}/admin/", flush=True)
    print(f"API 文档  {base}/api/docs", flush=True)
    print(f"健康检查  {base}/healthz  {base}/readyz  {base}/metrics", flush=True)
    if app.config.get("DEMO_MODE"):
        print(
            "演示登录  admin / admin123（平台）  yc_admin / yc123456  kc_admin / kc123456",
            flush=True,
        )
        if app.config.get("WECHAT_SANDBOX"):
            print(f"司机 H5   {base}/h5/  （微信沙箱里选一位演示车主登录）", flush=True)

    def _stop() -> None:
        log.info("shutting down", extra={"drain_seconds": 10})
        server.stop(timeout=10)
        for stop in stops:
            try:
                stop()
            except Exception:
                log.exception("stop failed")

    gevent.signal_handler(signal.SIGTERM, _stop)
    gevent.signal_handler(signal.SIGINT, _stop)
    server.start()
    for job in ready:
        gevent.spawn(job)
    server.serve_forever()
