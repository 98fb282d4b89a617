"""Session references the platform mints for a start it is about to send, per protocol
(the domain stores the reference on the order before the pile hears of it)."""

from __future__ import annotations

from app.catalogue.models import PileProtocol
from app.db import utcnow
from pile_link.ykc.session import new_serial


def new_session_ref(pile_code: str, protocol: str, connector_number: int) -> str | None:
    """YKC names the session in the start command (§3.3 serial); an OCPP pile numbers its
    transaction on StartTransaction, so there is nothing to mint."""
    if protocol == PileProtocol.YKC:
        return new_serial(pile_code, connector_number, utcnow())
    return None
