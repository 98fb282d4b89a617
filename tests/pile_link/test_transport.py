"""The transport both endpoints share (pile_link/transport.py): the registry's hub binding
survives either stop order, and a stop is idempotent."""

from __future__ import annotations

from typing import Any

import pytest

from pile_link.ocpp16.server import OcppServer
from pile_link.registry import ConnectionRegistry
from pile_link.transport import Server
from pile_link.ykc.server import YkcServer


def _pair(registry: ConnectionRegistry) -> dict[str, Server[Any]]:
    events: Any = object()  # no pile connects: the domain is never asked
    return {
        "ocpp": OcppServer(events, registry, host="127.0.0.1", port=0),
        "ykc": YkcServer(events, registry, host="127.0.0.1", port=0),
    }


@pytest.mark.parametrize("first, second", [("ocpp", "ykc"), ("ykc", "ocpp")])
def test_endpoints_sharing_a_registry_stop_in_either_order(first: str, second: str) -> None:
    registry = ConnectionRegistry()
    servers = _pair(registry)
    for server in servers.values():
        server.start()
    servers[first].stop(timeout=1)
    # the endpoint still serving keeps the hub: commands from other threads still reach it
    assert registry._hub is not None
    servers[second].stop(timeout=1)
    assert registry._hub is None and registry._hub_thread is None


def test_a_second_stop_does_not_let_go_of_the_registry_twice() -> None:
    registry = ConnectionRegistry()
    servers = _pair(registry)
    for server in servers.values():
        server.start()
    servers["ocpp"].stop(timeout=1)
    servers["ocpp"].stop(timeout=1)
    assert registry._hub is not None  # YKC still holds it
    servers["ykc"].stop(timeout=1)
    assert registry._hub is None


def test_the_registry_forgets_its_hub_only_when_no_endpoint_holds_it() -> None:
    registry = ConnectionRegistry()
    registry.bind_to_current_hub()
    registry.bind_to_current_hub()
    registry.unbind()
    assert registry._hub is not None
    registry.unbind()
    assert registry._hub is None
    registry.unbind()  # one too many changes nothing
    registry.bind_to_current_hub()
    assert registry._hub is not None
