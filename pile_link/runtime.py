"""The pile link of one process: the OCPP and YKC endpoints, their connection registry,
the domain's event handler and the command port services use.

Started inside ``make run`` (one process) or alone by ``flask pile-link`` / ``python -m
pile_link`` (production, several processes routed through Redis).
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import Any

import redis
from flask import Flask

from app.billing.session_outcomes import Billing
from app.charging.commands import COMMAND_PORT
from app.charging.pile_events import PileEventService, recover_after_restart
from app.state import state_of
from pile_link.group_commit import GroupCommitEvents, MeterWriterConfig
from pile_link.ocpp16.server import OcppServer, WsConfig
from pile_link.redis_bus import AnnouncingRegistry, RedisCommandPort, RedisNode
from pile_link.registry import ConnectionRegistry, LocalCommandPort
from pile_link.ykc.server import YkcConfig, YkcServer

log = logging.getLogger(__name__)


@dataclass
class Endpoints:
    ocpp: tuple[str, int]
    ykc: tuple[str, int]


class PileLinkRuntime:
    def __init__(self, app: Flask) -> None:
        cfg = app.config
        self.app = app
        self.node_name = node_name(cfg)
        self.domain = PileEventService(app, Billing(), node=self.node_name)
        # meter values are group-committed; every other event goes straight to the domain
        self.events = GroupCommitEvents(
            self.domain,
            MeterWriterConfig(
                max_delay=float(cfg["METER_BATCH_DELAY_MS"]) / 1000,
                max_batch=int(cfg["METER_BATCH_SIZE"]),
                max_in_flight=int(cfg.get("METER_BATCHES_IN_FLIGHT", 2)),
            ),
            max_concurrent=int(cfg["PILE_LINK_DB_CONCURRENCY"]),
        )
        self.node: RedisNode | None = None
        self.registry: ConnectionRegistry
        if cfg.get("REDIS_URL"):
            client = redis_client(cfg)
            registry = AnnouncingRegistry()
            self.node = RedisNode(registry, client)
            registry.node = self.node
            self.registry = registry
            state_of(app)[COMMAND_PORT] = RedisCommandPort(registry, client)
        else:
            self.registry = ConnectionRegistry()
            state_of(app)[COMMAND_PORT] = LocalCommandPort(self.registry)
        self.ocpp = OcppServer(
            self.events,
            self.registry,
            host=cfg["OCPP_HOST"],
            port=int(cfg["OCPP_PORT"]),
            config=WsConfig(heartbeat_interval=int(cfg["OCPP_HEARTBEAT_SECONDS"]),
                            read_timeout=float(cfg["OCPP_READ_TIMEOUT_SECONDS"]),
                            connect_grace=float(cfg.get("OCPP_CONNECT_GRACE_SECONDS", 1.0))),
        )  # fmt: skip
        self.ykc = _ykc_server(self, cfg)

    def start(self) -> Endpoints:
        """Start both endpoints in the current gevent hub (they share one registry), after
        closing what this node's last process left open (a crash leaves a trace)."""
        with self.app.app_context():
            recover_after_restart(self.node_name)
        self.ocpp.start()
        self.ykc.start()
        if self.node is not None:
            self.node.start()
        return Endpoints(ocpp=self.ocpp.address, ykc=self.ykc.address)

    def stop(self, timeout: float = 10.0) -> None:
        if self.node is not None:
            self.node.stop()
        # either order: each endpoint lets go of the shared registry, the last one unbinds it
        self.ykc.stop(timeout)
        self.ocpp.stop(timeout)
        self.events.stop(timeout)  # after the drain: what the connections queued is recorded


def node_name(cfg: Any) -> str:
    """This process's stable name: PILE_LINK_NODE, else host name and OCPP port (two
    processes on one host listen on two ports)."""
    return str(cfg.get("PILE_LINK_NODE") or f"{socket.gethostname()}:{cfg['OCPP_PORT']}")[:64]


def _ykc_server(runtime: PileLinkRuntime, cfg: Any) -> YkcServer:
    return YkcServer(
        runtime.events,
        runtime.registry,
        host=cfg["YKC_HOST"],
        port=int(cfg["YKC_PORT"]),
        config=YkcConfig(read_timeout=float(cfg["YKC_READ_TIMEOUT_SECONDS"])),
    )


def install_routed_port(app: Flask) -> None:
    """For processes that hold no pile (HTTP workers, the scheduler): reach the pile link
    through Redis when it is set; without it the port stays "no pile link"."""
    if app.config.get("REDIS_URL"):
        client = redis_client(app.config)
        state_of(app)[COMMAND_PORT] = RedisCommandPort(ConnectionRegistry(), client)


def redis_client(cfg: Any) -> redis.Redis:
    """A client whose pool waits for a free connection: under gevent, thousands of
    greenlets may talk to Redis at once (a command waits in BLPOP for its reply), and an
    unbounded pool opens a socket for each of them."""
    pool = redis.BlockingConnectionPool.from_url(
        cfg["REDIS_URL"],
        max_connections=int(cfg["REDIS_MAX_CONNECTIONS"]),
        timeout=float(cfg["REDIS_POOL_TIMEOUT_SECONDS"]),
    )
    return redis.Redis(connection_pool=pool)
