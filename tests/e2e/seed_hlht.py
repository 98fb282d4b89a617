"""Interconnection orders for the browser tests in the live server's database, both
directions with the demo partner (演示互联平台), settled in the middle of last month
(China time): ``python -m tests.e2e.seed_hlht`` with the live server's environment prints
their order numbers and the month as JSON."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.billing.models import Bill
from app.catalogue.models import Pile
from app.charging.models import ChargeOrder, OrderState
from app.demo import DEMO_PARTNER_ID
from app.extensions import db
from app.hlht import partners
from app.hlht.envelope import CHINA
from app.hlht.models import CustomerOrder, CustomerState, RoamingOrder
from app.tenancy.models import Driver
from wsgi import compose


def last_month_middle(now: datetime) -> datetime:
    """The 15th of last month, 12:00 in Shanghai."""
    first = now.astimezone(CHINA).replace(day=1, hour=12, minute=0, second=0, microsecond=0)
    return (first - timedelta(days=1)).replace(day=15)


def main() -> None:
    app = compose()
    with app.app_context():
        partner = partners.by_operator_id(DEMO_PARTNER_ID)
        driver = db.session.scalars(select(Driver).order_by(Driver.id)).first()
        pile = db.session.scalars(select(Pile).order_by(Pile.id)).first()
        assert partner is not None and driver is not None and pile is not None
        at = last_month_middle(datetime.now(UTC))
        tag = uuid.uuid4().hex[:8].upper()
        ours = f"{partner.operator_id}{tag}" + "0" * 10  # its StartChargeSeq
        theirs = [f"MA5EVOP01{tag}{n:010d}" for n in (1, 2, 3)]
        billed, estimated, reconciled = (
            CustomerOrder(order_no=f"HE{tag}{n}", start_charge_seq=seq, partner_id=partner.id,
                          driver_id=driver.id, connector_code="SB0001001",
                          state=CustomerState.SETTLED, settled_at=at, started_at=at,
                          stopped_at=at, **cols)
            for n, (seq, cols) in enumerate(zip(theirs, (
                {"energy_wh": 1760, "partner_energy_wh": 1760, "partner_total_fen": 175,
                 "partner_elec_fen": 113, "partner_service_fen": 62, "charged_fen": 175},
                {"energy_wh": 5000, "estimated": True, "estimate_fen": 480, "charged_fen": 480,
                 "disputed": True, "dispute_reason": "check_orders:2"},
                {"energy_wh": 2000, "partner_energy_wh": 2010, "partner_total_fen": 201,
                 "estimate_fen": 199, "charged_fen": 201, "reconciled_at": at},
            ), strict=True), start=1)
        )  # fmt: skip
        db.session.add_all([billed, estimated, reconciled])
        order = ChargeOrder(
            order_no=f"HR{tag}", operator_id=pile.operator_id, station_id=pile.station_id,
            pile_id=pile.id, connector_number=1, start_method="hlht", state=OrderState.SETTLED,
            energy_wh=12_345, started_at=at, stopped_at=at,
        )  # fmt: skip
        db.session.add(order)
        db.session.flush()
        db.session.add(Bill(order_id=order.id, order_no=order.order_no,
                            operator_id=order.operator_id, energy_wh=12_345,
                            electricity_fen=988, service_fen=494, total_fen=1482,
                            settled_at=at))  # fmt: skip
        db.session.add(RoamingOrder(partner_id=partner.id, start_charge_seq=ours,
                                    order_id=order.id, connector_code=f"{pile.code}01",
                                    confirm_result=0))  # fmt: skip
        db.session.commit()
        print(json.dumps({
            "billed": billed.order_no, "estimated": estimated.order_no,
            "reconciled": reconciled.order_no, "roaming": order.order_no,
            "month": f"{at:%Y-%m}",
        }))  # fmt: skip


if __name__ == "__main__":
    main()
