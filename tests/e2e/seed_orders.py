"""Charge orders for the browser tests, made the way a pile makes them (pile events through
the domain's service) in the live server's database: ``python -m tests.e2e.seed_orders``
with the live server's environment prints the order numbers as JSON."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from app.billing import lost_bills
from app.charging.port import ConnectorState
from app.extensions import db
from app.tenancy.models import Operator
from tests.support.money import World, build_world, recent
from wsgi import compose


def _settled(world: World, hours: float, wh: int) -> str:
    t0 = recent(hours)
    ref = world.start(t0, samples=[(3, wh // 4), (6, wh // 2), (9, wh * 3 // 4), (12, wh)])
    world.stop(ref, t0 + timedelta(minutes=13), wh)
    world.status(ConnectorState.AVAILABLE, t0 + timedelta(minutes=14))
    return world.order(ref).order_no


def main() -> None:
    app = compose()
    with app.app_context():
        yc = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
        kc = db.session.scalar(select(Operator).where(Operator.name == "深圳快充"))
        assert yc is not None and kc is not None
        yc_world = build_world(app, operator=yc, code="E2E-YC-ORD-01")
        kc_world = build_world(app, operator=kc, code="E2E-KC-ORD-01")
        yc_world.driver.phone = "13800138111"
        db.session.commit()
        out = {}
        for name, world in (("yc", yc_world), ("kc", kc_world)):
            world.connect(recent(8))
            out[name] = _settled(world, 7, 12_345)
        # case #25: the final record never comes, the bill is estimated from the last reading
        t0 = recent(5)
        ref = yc_world.start(t0, samples=[(10, 800)])
        yc_world.status(ConnectorState.AVAILABLE, t0 + timedelta(minutes=20))
        lost_bills.settle_lost_bills(t0 + timedelta(hours=2))
        out["yc_estimated"] = yc_world.order(ref).order_no
        print(json.dumps(out))


if __name__ == "__main__":
    main()
