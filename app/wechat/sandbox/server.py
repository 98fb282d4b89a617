"""The fake served over real HTTP on 127.0.0.1 from a thread, for tests and the demo."""

from __future__ import annotations

import logging
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from app.wechat.config import WeChatEndpoints
from app.wechat.sandbox.routes import create_fake_wechat
from app.wechat.sandbox.state import FakeWeChat

log = logging.getLogger(__name__)


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
