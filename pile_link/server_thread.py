"""Run a pile endpoint in a thread of its own, with its own gevent hub.

For processes that are not monkey-patched (tests, ``flask run``): the OCPP and YKC
servers are otherwise started in the main hub of a patched process.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

import gevent
import gevent.event


class Endpoint(Protocol):
    @property
    def address(self) -> tuple[str, int]: ...

    def start(self) -> None: ...

    def stop(self, timeout: float = 10.0) -> None: ...


class ServerThread:
    """Run a pile endpoint (OCPP or YKC server) in its own OS thread and gevent hub.

    For processes that are not monkey-patched (tests, ``flask run``). Commands sent through
    the server's registry from other threads hop into this hub
    (:meth:`ConnectionRegistry.run_in_hub`). Do not use it in a monkey-patched process:
    there, call ``server.start()`` in the main hub.
    """

    def __init__(
        self, server: Endpoint, *, name: str = "ocpp-ws", drain_timeout: float = 5.0
    ) -> None:
        self.server = server
        self._drain_timeout = drain_timeout
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._hub: Any = None
        self._stop_requested: gevent.event.Event | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self, timeout: float = 10.0) -> tuple[str, int]:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"{self._thread.name} server thread did not start")
        if self._error is not None:
            raise self._error
        return self.server.address

    def _run(self) -> None:
        hub = gevent.get_hub()
        try:
            try:
                self.server.start()
            except BaseException as exc:
                self._error = exc
                return
            self._stop_requested = gevent.event.Event()
            self._hub = hub
            self._ready.set()
            self._stop_requested.wait()
            self.server.stop(self._drain_timeout)
        finally:
            self._ready.set()
            hub.destroy(destroy_loop=True)

    def stop(self, timeout: float = 15.0) -> None:
        if self._hub is not None and self._stop_requested is not None:
            self._hub.loop.run_callback_threadsafe(self._stop_requested.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError(f"{self._thread.name} server thread did not stop")
