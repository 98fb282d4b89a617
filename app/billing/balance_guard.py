"""The balance guard: a charge stops when its running cost reaches the driver's balance."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select

from app.billing.bills import PRICING_ERRORS, live_bill
from app.catalogue.models import TariffSegment
from app.charging import stops
from app.charging.models import ChargeOrder, OrderState
from app.db import utcnow
from app.extensions import db
from app.ledger.models import Wallet
from app.money import fee_fen

log = logging.getLogger(__name__)

# margin for per-line rounding in the cheap upper bound below (fen)
_BOUND_MARGIN_FEN = 100


def guard_balances(now: datetime | None = None) -> list[str]:
    """The balance job: stop every charging order whose running cost has reached the
    driver's balance, through the pile port. Cheap first: an upper bound from the energy
    and the tariff's highest prices; only orders near their balance are priced exactly.
    Each stop is its own unit of work; returns the order numbers asked to stop."""
    moment = now or utcnow()
    rows = db.session.execute(
        select(ChargeOrder, Wallet.balance_fen)
        .join(Wallet, Wallet.driver_id == ChargeOrder.driver_id)
        .where(ChargeOrder.state == OrderState.CHARGING)
    ).all()
    if not rows:
        return []
    versions = {order.tariff_version_id for order, _ in rows if order.tariff_version_id}
    highest = {
        version_id: (Decimal(e), Decimal(s))
        for version_id, e, s in db.session.execute(
            select(
                TariffSegment.version_id,
                func.max(TariffSegment.electricity_price),
                func.max(TariffSegment.service_price),
            )
            .where(TariffSegment.version_id.in_(versions))
            .group_by(TariffSegment.version_id)
        )
    }
    stopped: list[str] = []
    for order, balance in rows:
        prices = highest.get(order.tariff_version_id or -1)
        if prices is None:
            continue
        energy = max(order.energy_wh or 0, 0)
        bound = fee_fen(energy, prices[0]) + fee_fen(energy, prices[1])
        if bound + _BOUND_MARGIN_FEN < balance:
            continue
        try:
            preview = live_bill(order, moment)
        except PRICING_ERRORS:
            log.exception("cannot price running order", extra={"order_no": order.order_no})
            continue
        if preview is None or preview.total_fen < balance:
            continue
        result = stops.request_stop(order, by="balance")
        log.info(
            "running cost reached the balance: stop requested",
            extra={"order_no": order.order_no, "cost_fen": preview.total_fen,
                   "balance_fen": balance, "outcome": result.outcome.value},
        )  # fmt: skip
        if result.ok:
            stopped.append(order.order_no)
    return stopped
