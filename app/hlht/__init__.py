"""Interconnection with partner platforms over T/CEC 102-2016 (互联互通): the envelope
(``envelope``), partners and their tokens (``partners``, ``models``), what we answer as
the pile owner (``pile_owner``), the inbound face ``/evcs/v1/`` (``inbound``)."""
