"""An operator's remote commands to a pile: each reaches the command port with the right
arguments, answers what the pile said and leaves an audit row, offline piles included."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.charging.commands import COMMAND_PORT
from app.charging.port import CommandOutcome, PileTariff
from app.extensions import db
from app.state import state_of
from app.tenancy.models import AuditLog, Operator
from tests.support.money import World, build_world, recent
from tests.support.ports import FakePort


@pytest.fixture
def port(app: Flask, monkeypatch: pytest.MonkeyPatch) -> FakePort:
    fake = FakePort()
    monkeypatch.setitem(state_of(app), COMMAND_PORT, fake)
    return fake


@pytest.fixture
def world(app: Flask, demo: Any) -> World:
    yc = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
    assert yc is not None
    w = build_world(app, operator=yc, code="CMD-YC-01")
    w.connect(recent(3))
    return w


def _send(client: FlaskClient, headers: dict[str, str], pile_id: int, **body: Any) -> Any:
    return client.post(f"/api/admin/v1/piles/{pile_id}/commands", json=body, headers=headers)


def _audits(pile_id: int) -> list[dict[str, Any]]:
    db.session.expire_all()
    rows = db.session.scalars(
        select(AuditLog)
        .where(AuditLog.action == "pile.command", AuditLog.target_id == str(pile_id))
        .order_by(AuditLog.id)
    )
    return [dict(r.after or {}) | {"reason": r.reason} for r in rows]


def test_each_command_reaches_the_pile_and_is_audited(
    client: FlaskClient, as_yc: dict[str, str], port: FakePort, world: World
) -> None:
    pid, code = world.pile.id, world.code
    asks = [
        ({"command": "hard_reset", "reason": "死机"}, ("reset", code, {"hard": True})),
        ({"command": "soft_reset"}, ("reset", code, {"hard": False})),
        ({"command": "make_unavailable"},
         ("change_availability", code, {"connector_number": 0, "available": False})),
        ({"command": "make_available", "connector_number": 2},
         ("change_availability", code, {"connector_number": 2, "available": True})),
        ({"command": "unlock_connector", "connector_number": 2},
         ("unlock_connector", code, {"connector_number": 2})),
        ({"command": "sync_time"}, ("sync_time", code, {})),
    ]  # fmt: skip
    for body, call in asks:
        resp = _send(client, as_yc, pid, **body)
        assert resp.status_code == 200, resp.get_json()
        assert resp.get_json()["outcome"] == "accepted"
        assert port.commands[-1] == call
    resp = _send(client, as_yc, pid, command="push_tariff")
    assert resp.get_json()["outcome"] == "accepted"
    name, _, args = port.commands[-1]
    tariff = args["tariff"]
    assert name == "push_tariff" and isinstance(tariff, PileTariff)
    assert [p.tier for p in tariff.periods] == ["flat"]
    audits = _audits(pid)
    assert [a["command"] for a in audits] == [b["command"] for b, _ in asks] + ["push_tariff"]
    assert audits[0]["outcome"] == "accepted" and audits[0]["reason"] == "死机"
    assert audits[3]["connector_number"] == 2


def test_the_piles_refusal_and_absence_are_answered_and_audited(
    client: FlaskClient, as_yc: dict[str, str], port: FakePort, world: World
) -> None:
    port.command_outcome = CommandOutcome.REJECTED
    assert _send(client, as_yc, world.pile.id, command="soft_reset").get_json()["outcome"] == (
        "rejected"
    )
    port.command_outcome = CommandOutcome.TIMED_OUT
    assert _send(client, as_yc, world.pile.id, command="sync_time").get_json()["outcome"] == (
        "timed_out"
    )
    port.online = set()
    assert _send(client, as_yc, world.pile.id, command="hard_reset").get_json()["outcome"] == (
        "pile_offline"
    )
    assert [a["outcome"] for a in _audits(world.pile.id)] == [
        "rejected", "timed_out", "pile_offline",
    ]  # fmt: skip


def test_remote_stop_of_the_running_order(
    client: FlaskClient, as_yc: dict[str, str], port: FakePort, world: World
) -> None:
    ref = world.start(recent(1), connector=2, samples=[(1, 300)])
    order = world.order(ref)
    resp = _send(client, as_yc, world.pile.id, command="remote_stop", connector_number=2)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() | {"detail": ""} == {
        "command": "remote_stop", "outcome": "accepted", "detail": "",
        "order_no": order.order_no,
    }  # fmt: skip
    assert port.stops == [(world.code, 2, ref)]
    assert world.order(ref).state == "stopping"
    assert _audits(world.pile.id)[-1]["order_no"] == order.order_no
    # once the record came, nothing is left to stop
    world.stop(ref, recent(1) + timedelta(minutes=5), 500, connector_number=2)
    again = _send(client, as_yc, world.pile.id, command="remote_stop", order_no=order.order_no)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "ORDER_NOT_STOPPABLE"
    nothing = _send(client, as_yc, world.pile.id, command="remote_stop")
    assert nothing.status_code == 404


def test_commands_stay_within_the_operator(
    client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str], port: FakePort,
    world: World,
) -> None:  # fmt: skip
    other = _send(client, as_kc, world.pile.id, command="hard_reset")
    assert other.status_code == 404
    assert port.commands == [] and _audits(world.pile.id) == []
    unknown = _send(client, as_yc, world.pile.id, command="unlock_connector", connector_number=9)
    assert unknown.status_code == 404
    assert unknown.get_json()["error"]["code"] == "CONNECTOR_NOT_FOUND"
    bad = _send(client, as_yc, world.pile.id, command="explode")
    assert bad.status_code == 422
