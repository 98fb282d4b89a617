"""A charge of the demo driver (card DEMO-CARD-01) on a pile that then goes offline, made
the way a pile makes it (pile events through the domain's service) in the live server's
database: ``python -m tests.e2e.seed_offline_order`` prints the order number as JSON."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from app.charging.port import PileDisconnected
from app.db import utcnow
from app.extensions import db
from app.tenancy.models import Operator
from tests.support.money import build_world
from wsgi import compose


def main() -> None:
    app = compose()
    with app.app_context():
        yc = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
        assert yc is not None
        world = build_world(app, operator=yc, code="E2E-YC-OFFLINE-01")
        t0 = utcnow() - timedelta(minutes=20)
        world.connect(t0)
        ref = world.start(t0 + timedelta(minutes=1), samples=[(5, 900)], card="DEMO-CARD-01")
        world.svc.handle(
            PileDisconnected(world.code, t0 + timedelta(minutes=10), "heartbeat_timeout")
        )
        db.session.commit()
        print(json.dumps({"order_no": world.order(ref).order_no}))


if __name__ == "__main__":
    main()
