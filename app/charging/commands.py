"""Where services find the pile command port.

``create_app`` puts :class:`NoPileLink` in the ``COMMAND_PORT`` slot: every command answers
"pile offline", which is the truth for a process that holds no pile and has no route to
one. Each entry point that can reach piles puts its own port there (the pile link's
registry in one process, Redis routing across processes)."""

from __future__ import annotations

from typing import Any

from app.charging.port import CommandOutcome, CommandResult, PileCommandPort
from app.state import Slot, part

COMMAND_PORT: Slot[PileCommandPort] = Slot("pile command port")


class NoPileLink:
    """The port of a process that holds no pile connection and has no route to one."""

    def _offline(self, *args: Any, **kwargs: Any) -> CommandResult:
        return CommandResult(CommandOutcome.PILE_OFFLINE, "no pile link reachable")

    remote_start = remote_stop = reset = change_availability = push_tariff = sync_time = _offline
    unlock_connector = _offline

    def new_session_ref(self, pile_code: str, protocol: str, connector_number: int) -> str | None:
        return None

    def is_online(self, pile_code: str) -> bool:
        return False


def port() -> PileCommandPort:
    return part(COMMAND_PORT)
