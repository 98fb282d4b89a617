"""The fake served over real HTTP on 127.0.0.1 from a thread, for tests and the demo."""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from app.wechat.config import WeChatEndpoints
from app.wechat.sandbox.routes import create_fake_wechat
from app.wechat.sandbox.state import FakeWeChat

log = logging.getLogger(__name__)

# where the demo serves the sandbox on its own server (make run)
MOUNT_PREFIX = "/sandbox/wechat"


def mount(app: Flask, state: FakeWeChat) -> None:
    """Serve the sandbox at :data:`MOUNT_PREFIX` on ``app``'s own server (demo mode)."""
    sandbox = create_fake_wechat(state)
    app.extensions["wechat_sandbox"] = state
    app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, {MOUNT_PREFIX: sandbox.wsgi_app}
    )


def mounted(app: Flask) -> FakeWeChat | None:
    """The sandbox state ``app`` serves, if it serves one."""
    state = app.extensions.get("wechat_sandbox")
    return state if isinstance(state, FakeWeChat) else None


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        log.debug("fake wechat: " + message, *args)


class FakeWeChatServer:
    """The fake served over real HTTP on 127.0.0.1 in a thread; a context manager."""

    def __init__(self, state: FakeWeChat | None = None, host: str = "127.0.0.1", port: int = 0):
        self.state = state or FakeWeChat()
        self._server: BaseWSGIServer = make_server(
            host,
            port,
            create_fake_wechat(self.state),
            threaded=True,
            request_handler=_QuietHandler,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll
            name="fake-wechat",
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    @property
    def endpoints(self) -> WeChatEndpoints:
        return WeChatEndpoints(api_base=self.base_url, pay_base=self.base_url)

    def start(self) -> FakeWeChatServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeWeChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
