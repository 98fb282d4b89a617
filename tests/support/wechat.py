"""The WeChat test apps and a helper that serves a Flask app over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from werkzeug.serving import make_server

from app.wechat.config import (
    MiniProgramApp,
    OfficialAccountApp,
)

MP_APP = MiniProgramApp("wx1234567890abcdef", "mp-secret-0123456789")
OA_APP = OfficialAccountApp("wxfedcba0987654321", "oa-secret-0123456789")


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve a WSGI app on 127.0.0.1 in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
