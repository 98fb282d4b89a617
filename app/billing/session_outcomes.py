"""How billing answers a charging session's end-of-charge evidence (charging's
``SessionOutcomes``): a finished order is settled, a returned gun ends its occupancy."""

from __future__ import annotations

from datetime import datetime

from app.billing import occupancy_charges, settlement
from app.charging.models import ChargeOrder


class Billing:
    """``app.charging.pile_events.SessionOutcomes``, implemented by settlement."""

    def order_finished(self, order: ChargeOrder) -> None:
        settlement.on_order_finished(order)

    def gun_returned(self, connector_id: int, at: datetime) -> None:
        occupancy_charges.on_gun_returned(connector_id, at)
