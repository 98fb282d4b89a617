"""The pile link of one process: the OCPP and YKC endpoints, their connection registry,
the domain's event handler and the command port services use.

Started inside ``make run`` (one process) or alone by ``flask pile-link`` / ``python -m
pile_link`` (production, several processes routed through Redis).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import redis
from flask import Flask

from app.services import pile_commands
from app.services.pile_events import PileEventService
from pile_link.redis_bus import AnnouncingRegistry, RedisCommandPort, RedisNode
from pile_link.registry import ConnectionRegistry, LocalCommandPort
from pile_link.ws import OcppServer, WsConfig

log = logging.getLogger(__name__)


@dataclass
class Endpoints:
    ocpp: tuple[str, int]
    ykc: tuple[str, int] | None


class PileLinkRuntime:
    def __init__(self, app: Flask) -> None:
        cfg = app.config
        self.app = app
        self.events = PileEventService(app)
        self.node: RedisNode | None = None
        self.registry: ConnectionRegistry
        if cfg.get("REDIS_URL"):
            client = redis.Redis.from_url(cfg["REDIS_URL"])
            registry = AnnouncingRegistry()
            self.node = RedisNode(registry, client)
            registry.node = self.node
            self.registry = registry
            pile_commands.install(app, RedisCommandPort(registry, client))
        else:
            self.registry = ConnectionRegistry()
            pile_commands.install(app, LocalCommandPort(self.registry))
        self.ocpp = OcppServer(
            self.events,
            self.registry,
            host=cfg["OCPP_HOST"],
            port=int(cfg["OCPP_PORT"]),
            config=WsConfig(heartbeat_interval=int(cfg["OCPP_HEARTBEAT_SECONDS"]),
                            read_timeout=float(cfg["OCPP_READ_TIMEOUT_SECONDS"])),
        )  # fmt: skip
        self.ykc: Any = _ykc_server(self, cfg)

    def start(self) -> Endpoints:
        self.ocpp.start()
        ykc_addr = None
        if self.ykc is not None:
            self.ykc.start()
            ykc_addr = self.ykc.address
        if self.node is not None:
            self.node.start()
        return Endpoints(ocpp=self.ocpp.address, ykc=ykc_addr)

    def stop(self, timeout: float = 10.0) -> None:
        if self.node is not None:
            self.node.stop()
        self.ocpp.stop(timeout)
        if self.ykc is not None:
            self.ykc.stop(timeout)


def _ykc_server(runtime: PileLinkRuntime, cfg: Any) -> Any:
    try:
        from pile_link.ykc.server import YkcServer  # type: ignore[attr-defined]
    except ImportError:  # the YKC endpoint is optional until it is installed
        log.warning("YKC endpoint not available")
        return None
    return YkcServer(
        runtime.events, runtime.registry, host=cfg["YKC_HOST"], port=int(cfg["YKC_PORT"])
    )


def install_port(app: Flask, api: Any = None) -> None:
    """For processes that hold no pile (HTTP workers): reach the pile link through Redis."""
    if app.config.get("REDIS_URL"):
        client = redis.Redis.from_url(app.config["REDIS_URL"])
        pile_commands.install(app, RedisCommandPort(ConnectionRegistry(), client))
