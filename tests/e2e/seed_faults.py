"""An emergency stop during a charge and two disconnections for the browser tests, made the
way a pile makes them (pile events through the domain's service) in the live server's
database: ``python -m tests.e2e.seed_faults`` prints the order number and pile code as JSON."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from app.charging.port import (
    ConnectorState,
    ConnectorStatusChanged,
    FaultRaised,
    PileConnected,
    PileDisconnected,
)
from app.db import utcnow
from app.extensions import db
from app.tenancy.models import Operator
from tests.support.money import build_world, recent
from wsgi import compose


def main() -> None:
    app = compose()
    with app.app_context():
        yc = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
        assert yc is not None
        world = build_world(app, operator=yc, code="E2E-YC-FAULT-01")
        t0 = recent(6)
        world.connect(t0)
        ref = world.start(t0 + timedelta(minutes=1), samples=[(2, 300)])
        world.svc.handle(FaultRaised(world.code, 1, "EmergencyStop", t0 + timedelta(minutes=5)))
        for hours in (1, 3):  # offline for 30 minutes, twice
            world.svc.handle(
                PileDisconnected(world.code, t0 + timedelta(hours=hours), "heartbeat_timeout")
            )
            world.svc.handle(
                PileConnected(world.code, "ocpp16", t0 + timedelta(hours=hours, minutes=30))
            )
        # and alive now (a status for connector 0, the whole pile): left silent since its
        # last reconnection, the live server's offline detection would add a third
        # disconnection within a minute, whenever its job ticks (CI failed on 3 == 2)
        world.svc.handle(ConnectorStatusChanged(world.code, 0, ConnectorState.AVAILABLE, utcnow()))
        print(json.dumps({"order_no": world.order(ref).order_no, "pile_code": world.code}))


if __name__ == "__main__":
    main()
