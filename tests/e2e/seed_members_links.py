"""Data for test_console_members_cards_links in the live server's database: a taxi-group member
of 广东云创 with a card and a pile, later a charge on that pile made the way a pile makes it
(pile events through the domain's service), and a sub-operator with its own mini-program.

``python -m tests.e2e.seed_coupon_use member CODE`` prints the member's id and phone as JSON;
``python -m tests.e2e.seed_coupon_use charge CODE`` charges 1.76 kWh with the member's card and
prints the order number (settlement then uses the member's best coupon, case #6);
``python -m tests.e2e.seed_members_links operator NAME`` adds a sub-operator with a
mini-program app id and prints its id and app id."""

from __future__ import annotations

import json
import sys
import uuid
from datetime import timedelta

from sqlalchemy import select

from app.catalogue.models import Pile
from app.charging.models import ChargeOrder
from app.charging.port import PileConnected, SessionStarted, SessionStopped
from app.extensions import db
from app.tenancy.models import Driver, DriverCard, Operator
from tests.support.money import build_world, recent
from tests.support.ports import pile_events
from wsgi import compose


def member(code: str) -> dict[str, object]:
    app = compose()
    with app.app_context():
        yc = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
        assert yc is not None
        world = build_world(app, operator=yc, code=code)
        world.driver.pricing_group = "taxi"
        world.driver.nickname = f"分组券车主{code[-4:]}"
        world.driver.phone = f"139{int(uuid.uuid4().hex[:8], 16) % 10**8:08d}"
        db.session.commit()
        return {"driver_id": world.driver.id, "phone": world.driver.phone}


def charge(code: str) -> dict[str, object]:
    app = compose()
    with app.app_context():
        pile = db.session.scalar(select(Pile).where(Pile.code == code))
        assert pile is not None
        card = db.session.scalar(
            select(DriverCard)
            .join(Driver, Driver.id == DriverCard.driver_id)
            .where(DriverCard.operator_id == pile.operator_id, DriverCard.id_tag == f"CARD-{code}")
        )
        assert card is not None
        svc = pile_events(app)
        t0 = recent(3)
        assert svc.handle(PileConnected(code, "ocpp16", t0)).accepted
        reply = svc.handle(SessionStarted(code, 1, t0, meter_start_wh=0, id_tag=card.id_tag))
        assert reply.accepted and reply.session_ref
        stop = SessionStopped(code, reply.session_ref, t0 + timedelta(minutes=20),
                              meter_stop_wh=1760, reason="Local")  # fmt: skip
        assert svc.handle(stop).accepted
        order = db.session.scalar(
            select(ChargeOrder).where(
                ChargeOrder.pile_id == pile.id, ChargeOrder.pile_session_ref == reply.session_ref
            )
        )
        assert order is not None
        return {"order_no": order.order_no}


def operator(name: str, with_app: bool = True) -> dict[str, object]:
    """A sub-operator of the platform with a mini-program AppID of its own, or with none."""
    app = compose()
    with app.app_context():
        platform = db.session.scalar(select(Operator).where(Operator.kind == "platform"))
        app_id = f"wx-e2e-{uuid.uuid4().hex[:10]}" if with_app else ""
        op = Operator(name=name, kind="sub", parent_id=platform.id if platform else None,
                      wechat_app_id=app_id)  # fmt: skip
        db.session.add(op)
        db.session.commit()
        return {"operator_id": op.id, "app_id": app_id}


def operator_without_app(name: str) -> dict[str, object]:
    return operator(name, with_app=False)


STEPS = {
    "member": member,
    "charge": charge,
    "operator": operator,
    "operator-without-app": operator_without_app,
}

if __name__ == "__main__":
    print(json.dumps(STEPS[sys.argv[1]](sys.argv[2])))
