"""The one fake of the pile link's command port, and the pile-event service as the pile
link composes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask, has_app_context

from app.billing.session_outcomes import Billing
from app.charging.commands import NoPileLink
from app.charging.pile_events import PileEventService
from app.charging.port import CommandOutcome, CommandResult, EventReply, MeterSample, PileEvent
from app.extensions import db
from pile_link.session_refs import new_session_ref


@dataclass
class FakePort(NoPileLink):
    """A pile link in memory: the piles in ``online`` (every pile when True) answer and do
    what they are told (``start_outcome``); starts and stops are recorded; session
    references are minted as the real adapters mint them."""

    online: bool | set[str] = True
    start_outcome: CommandOutcome = CommandOutcome.ACCEPTED
    starts: list[tuple[str, int, str]] = field(default_factory=list)
    start_options: list[dict[str, Any]] = field(default_factory=list)
    stops: list[tuple[str, int, str]] = field(default_factory=list)
    online_checks: int = 0
    # the other commands (reset, availability, unlock, tariff, clock): what was asked, and
    # what the pile answers
    command_outcome: CommandOutcome = CommandOutcome.ACCEPTED
    commands: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def is_online(self, pile_code: str) -> bool:
        self.online_checks += 1  # what the domain asked
        return self._online(pile_code)

    def _online(self, pile_code: str) -> bool:
        return pile_code in self.online if isinstance(self.online, set) else self.online

    def new_session_ref(self, pile_code: str, protocol: str, connector_number: int) -> str | None:
        return new_session_ref(pile_code, protocol, connector_number)

    def remote_start(
        self, pile_code: str, connector_number: int, id_tag: str, **kw: Any
    ) -> CommandResult:
        if not self._online(pile_code):
            return CommandResult(CommandOutcome.PILE_OFFLINE)
        self.starts.append((pile_code, connector_number, id_tag))
        self.start_options.append(kw)
        return CommandResult(self.start_outcome)

    def remote_stop(
        self, pile_code: str, connector_number: int, session_ref: str, **kw: Any
    ) -> CommandResult:
        if not self._online(pile_code):
            return CommandResult(CommandOutcome.PILE_OFFLINE)
        self.stops.append((pile_code, connector_number, session_ref))
        return CommandResult(CommandOutcome.ACCEPTED)

    def _command(self, name: str, pile_code: str, **args: Any) -> CommandResult:
        if not self._online(pile_code):
            return CommandResult(CommandOutcome.PILE_OFFLINE)
        self.commands.append((name, pile_code, args))
        return CommandResult(self.command_outcome, "from the fake pile")

    def reset(self, pile_code: str, *, hard: bool = False, timeout: float = 10.0) -> CommandResult:
        return self._command("reset", pile_code, hard=hard)

    def change_availability(
        self, pile_code: str, connector_number: int, available: bool, *, timeout: float = 10.0
    ) -> CommandResult:
        return self._command(
            "change_availability", pile_code, connector_number=connector_number,
            available=available,
        )  # fmt: skip

    def unlock_connector(
        self, pile_code: str, connector_number: int, *, timeout: float = 10.0
    ) -> CommandResult:
        return self._command("unlock_connector", pile_code, connector_number=connector_number)

    def push_tariff(self, pile_code: str, tariff: Any, *, timeout: float = 10.0) -> CommandResult:
        return self._command("push_tariff", pile_code, tariff=tariff)

    def sync_time(self, pile_code: str, *, timeout: float = 10.0) -> CommandResult:
        return self._command("sync_time", pile_code)


class _TestPileEvents(PileEventService):
    """The pile link's handler, called from a test's own application context. In
    production the pile link and the caller hold separate connections; on PostgreSQL the
    tests share one, and each session's transaction is a savepoint on it: a caller whose
    transaction stayed open across an event would, on rolling back, take the event's
    committed work with it. So the caller's transaction ends first, as it would have."""

    def handle(self, event: PileEvent) -> EventReply:
        _end_callers_transaction()
        return super().handle(event)

    def handle_meter_samples(self, events: list[MeterSample]) -> list[EventReply | Exception]:
        _end_callers_transaction()
        return super().handle_meter_samples(events)


def _end_callers_transaction() -> None:
    if has_app_context():
        db.session.commit()


def pile_events(app: Flask) -> PileEventService:
    """The domain's event handler with billing behind it, as the pile link runs it."""
    return _TestPileEvents(app, Billing())
