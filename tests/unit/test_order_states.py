"""The charge order's state machine (app/charging/session.py): every legal transition in
its table does what the table says, every other from-state is refused, and no module
spells an order state as a string."""

from __future__ import annotations

import ast
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.catalogue.models import Pile
from app.charging import session
from app.charging.models import ChargeOrder, OrderState
from app.charging.session import TRANSITIONS, IllegalTransition
from app.extensions import db

AT = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]

# the functions that move an order in memory, by transition
MOVES: dict[str, Callable[[ChargeOrder], None]] = {
    "start_failed": lambda o: session.start_failed(o, "rejected: test"),
    "start_confirmed": lambda o: session.start_confirmed(o, AT),
    "evidence_without_record": lambda o: session.evidence_without_record(o, AT),
    "record_received": session.record_received,
    "bill_settled": lambda o: session.settled(o, 175),
}
CASES = [
    (name, state)
    for name in MOVES
    for state in OrderState
    if not (name == "record_received" and state is OrderState.SETTLED)  # stays, by design
]


def _order(state: OrderState) -> ChargeOrder:
    return ChargeOrder(order_no="C-TEST", state=state, abnormal_reason="", failure_reason="")


def test_every_transition_of_the_table_has_its_function() -> None:
    assert set(MOVES) | {"stop_accepted"} == set(TRANSITIONS)


@pytest.mark.parametrize(("transition", "state"), CASES)
def test_a_transition_moves_only_from_its_states(transition: str, state: OrderState) -> None:
    sources, target = TRANSITIONS[transition]
    order = _order(state)
    if state in sources:
        MOVES[transition](order)
        assert order.state == target
    else:
        with pytest.raises(IllegalTransition) as exc:
            MOVES[transition](order)
        assert order.state == state, "a refused transition changes nothing"
        assert exc.value.status == 409 and exc.value.details["state"] == state


def test_a_settled_order_stays_settled_when_its_record_comes_again() -> None:
    order = _order(OrderState.SETTLED)
    session.record_received(order)
    assert order.state == OrderState.SETTLED


def test_a_late_start_revives_a_failed_order_and_flags_it() -> None:
    order = _order(OrderState.FAILED)
    order.failure_reason = "timed_out: no reply"
    session.start_confirmed(order, AT)
    assert (order.state, order.abnormal_reason, order.failure_reason) == (
        OrderState.CHARGING,
        "late_start",
        "",
    )
    assert order.started_at == AT


def test_every_new_order_starts_in_the_state_of_its_origin() -> None:
    assert session.OPENED == {
        "remote": OrderState.STARTING,
        "at_pile": OrderState.CHARGING,
        "orphan_record": OrderState.ABNORMAL,
    }


def _python_files() -> list[Path]:
    out: list[Path] = []
    for top in ("app", "miniprogram_api", "admin_spa/api"):
        out.extend(p for p in (ROOT / top).rglob("*.py") if "sandbox" not in p.parts)
    return out


def _enum_bodies(tree: ast.AST) -> set[int]:
    """ids of the nodes inside enum class bodies (where state values are declared)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
            "Enum" in ast.unparse(base) for base in node.bases
        ):
            inside.update(id(n) for n in ast.walk(node))
    return inside


def _dict_keys(tree: ast.AST) -> set[int]:
    return {id(k) for n in ast.walk(tree) if isinstance(n, ast.Dict) for k in n.keys if k}


def test_no_module_spells_an_order_state_as_a_string() -> None:
    states = {s.value for s in OrderState}
    found = []
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        exempt = _enum_bodies(tree) | _dict_keys(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value in states
                and id(node) not in exempt
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert found == [], "use OrderState (or the enum of the state machine meant):\n" + "\n".join(
        found
    )


@pytest.mark.parametrize("state", list(OrderState))
def test_an_accepted_stop_moves_only_a_starting_or_charging_order(
    app: Flask, demo: Any, state: OrderState
) -> None:
    """Set-based, because the pile's record may have finished the order while the stop
    command was answered: then the order keeps what the record made of it."""
    pile = db.session.scalar(select(Pile).where(Pile.code == "DEMO-OCPP-01"))
    assert pile is not None and pile.station is not None
    order = ChargeOrder(
        order_no=f"C-STOP-{state}", operator_id=pile.operator_id, station_id=pile.station_id,
        pile_id=pile.id, connector_number=1, start_method="remote", state=state,
    )  # fmt: skip
    db.session.add(order)
    db.session.flush()
    session.stop_accepted(order.id, "driver", AT)
    db.session.expire_all()
    moved = state in session.STOPPABLE
    assert order.state == (OrderState.STOPPING if moved else state)
    assert order.stop_requested_by == "driver"
    assert (order.awaiting_record_since is not None) is moved
    db.session.rollback()
