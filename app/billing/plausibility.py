"""Is an order's energy believable? A pile's word is money: a meter glitch (0xFFFFFFFF on a
7 kW pile billed ¥6,957,847 and took the driver's next top-up as arrears) must never reach
a wallet. An order whose energy is beyond what its pile could deliver in the time is held
for review (``HELD_FOR_REVIEW``): recorded, never debited until an operator decides
(app/billing/corrections.py)."""

from __future__ import annotations

from app.catalogue.models import Pile
from app.charging.models import ChargeOrder
from app.config import setting
from app.extensions import db

# and a short session carries what the meter's resolution and a late stop add
SLACK_WH = 500


def energy_ceiling_wh(rated_power_w: int, seconds: float, margin_percent: int = 125) -> int:
    """The most energy a pile of this power could deliver in ``seconds``: its rated power
    may be exceeded a little (nameplates round down, meters differ), by the margin."""
    return int(rated_power_w * max(seconds, 0.0) / 3600 * margin_percent / 100) + SLACK_WH


def energy_doubt(order: ChargeOrder) -> str | None:
    """Why the order's energy cannot be believed, in Chinese for the review queue; None
    when it can (or when the pile's power is unknown and nothing can be judged). Readings
    that are unreadable or go backwards are the pile events' to see (they hold the order
    with HELD_FOR_REVIEW as the record arrives); this judges the energy against physics."""
    margin = int(setting("ENERGY_PLAUSIBILITY_MARGIN_PERCENT"))
    pile = db.session.get(Pile, order.pile_id) if order.pile_id is not None else None
    if margin <= 0 or pile is None or pile.rated_power_w <= 0:
        return None
    began = order.started_at or order.requested_at
    ended = order.energy_ended_at or order.stopped_at or began
    ceiling = energy_ceiling_wh(pile.rated_power_w, (ended - began).total_seconds(), margin)
    if order.energy_wh > ceiling:
        return (
            f"电量 {order.energy_wh} Wh 超过额定功率 {pile.rated_power_w} W 在 "
            f"{int((ended - began).total_seconds())} 秒内可充的 {ceiling} Wh"
        )
    return None
