"""Where services find the pile command port.

The composition root installs the port that fits the process (the pile link's own
registry in one process, Redis routing across processes); with none installed every
command answers "pile offline", which is the truth for this process."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from app.charging.port import CommandOutcome, CommandResult, PileCommandPort

_KEY = "evop_pile_command_port"


class NoPileLink:
    """The port of a process that holds no pile connection and has no route to one."""

    def _offline(self, *args: Any, **kwargs: Any) -> CommandResult:
        return CommandResult(CommandOutcome.PILE_OFFLINE, "no pile link reachable")

    remote_start = remote_stop = reset = change_availability = push_tariff = sync_time = _offline

    def is_online(self, pile_code: str) -> bool:
        return False


def install(app: Flask, port: PileCommandPort) -> None:
    app.extensions[_KEY] = port


def port() -> PileCommandPort:
    found: PileCommandPort | None = current_app.extensions.get(_KEY)
    return found if found is not None else NoPileLink()
