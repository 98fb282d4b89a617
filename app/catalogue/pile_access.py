"""Who may connect as a pile (issue 15 #1).

A pile code is printed on the pile: knowing it proves nothing. What a connection can prove:

* **OCPP 1.6J**: the pile's password (security profile 1, HTTP Basic with the pile code as
  user), set, rotated and shown once by :func:`set_password`; only a hash is kept.
* **YKC**: the protocol carries no secret, so the station's allowed source networks
  (``Station.pile_networks``) stand in for one. They apply to OCPP piles of the station too.

With ``PILE_CREDENTIALS_REQUIRED`` (on in production) a pile that can prove nothing is
refused; in demo mode the demo seed's piles stay exempt. Whatever the setting, a
connection that would replace a live one of the same pile is admitted only when it proved
something: an impostor cannot take a real pile's place (with the demo wallet billed three
times, the issue found). Every refusal of a known pile, and every replacement, is kept in
the pile's history (:class:`PileConnectionEvent`).
"""

from __future__ import annotations

import ipaddress
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import lazyload
from werkzeug.security import check_password_hash, generate_password_hash

from app.catalogue.models import Pile, PileConnectionEvent, PileProtocol, Station
from app.config import DEMO_PILE_CODES, setting
from app.db import utcnow
from app.errors import PILE_CREDENTIALS_REQUIRED, PILE_NETWORKS_INVALID
from app.extensions import db
from app.paging import Page, paginate
from app.tenancy import audit
from app.tenancy.scope import Actor, get_scoped
from app.uow import transactional

# the answers of the pile port's admission (app.charging.port.Admission values)
ADMITTED = "admitted"
UNKNOWN_PILE = "unknown_pile"
WRONG_PASSWORD = "wrong_password"
PASSWORD_REQUIRED = "password_required"
NETWORK_NOT_ALLOWED = "network_not_allowed"
REPLACEMENT_REFUSED = "replacement_refused"

PASSWORD_LENGTH = 24  # OCPP 1.6 security profile 1 asks for 16 to 40 characters
# A slow KDF protects guessable passwords; these are 24 random characters (~143 bits) and
# are checked in the pile link's hub on every connect, thousands of them in a reconnect
# storm: a few iterations cost ~1 ms where werkzeug's default costs ~300 ms.
HASH_METHOD = "pbkdf2:sha256:1000"
_ALPHABET = string.ascii_letters + string.digits
REPEAT_WINDOW = timedelta(minutes=1)
MAX_NETWORKS = 32


def credentials_required(pile_code: str) -> bool:
    if not setting("PILE_CREDENTIALS_REQUIRED"):
        return False
    return not (setting("DEMO_MODE") and pile_code in DEMO_PILE_CODES)


def _in_networks(address: str | None, networks: list[str]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(n, strict=False) for n in networks)


@dataclass(frozen=True, slots=True)
class _Verdict:
    answer: str
    proved: bool  # a password checked, or an allowed network matched


def _verdict(
    pile: Pile, networks: list[str], password: str | None, protocol: str, address: str | None
) -> _Verdict:
    if networks and not _in_networks(address, networks):
        return _Verdict(NETWORK_NOT_ALLOWED, False)
    proved = bool(networks)
    if pile.password_hash:
        if password is None:
            return _Verdict(PASSWORD_REQUIRED, False)
        if not check_password_hash(pile.password_hash, password):
            return _Verdict(WRONG_PASSWORD, False)
        return _Verdict(ADMITTED, True)
    if not proved and credentials_required(pile.code):
        carries_secret = protocol == PileProtocol.OCPP16
        return _Verdict(PASSWORD_REQUIRED if carries_secret else NETWORK_NOT_ALLOWED, False)
    return _Verdict(ADMITTED, proved)


@transactional
def admit(
    pile_code: str,
    password: str | None,
    *,
    protocol: str,
    address: str | None = None,
    replacing: bool = False,
) -> str:
    """The admission of one connection (an ``Admission`` value), one pile lookup; refusals
    of a known pile and replacements are recorded in its history."""
    # one query: the pile alone and its station's networks, not the station's graph
    # (operator, tariff and its version joined, segments and visibility: 3 queries)
    row = db.session.execute(
        select(Pile, Station.pile_networks)
        .outerjoin(Station, Station.id == Pile.station_id)
        .where(Pile.code == pile_code)
        .options(lazyload("*"))
    ).first()
    if row is None:
        return UNKNOWN_PILE
    pile, networks = row
    verdict = _verdict(pile, list(networks or []), password, protocol, address)
    answer = verdict.answer
    if answer == ADMITTED and replacing and not verdict.proved:
        answer = REPLACEMENT_REFUSED
    if answer != ADMITTED:
        _record(pile, "refused", answer, address, protocol)
    elif replacing:
        _record(pile, "replaced", "", address, protocol)
    return answer


@transactional
def admit_many(
    requests: Sequence[tuple[str, str | None, str, str | None, bool]],
) -> list[str | None]:
    """:func:`admit` for many connections, ``(pile_code, password, protocol, address,
    replacing)`` each, with one query for all their piles (issue 12: a reconnect storm).
    None for a request this does not answer, one that a refusal or a replacement records
    in the pile's history: the caller hands those to :func:`admit`."""
    codes = sorted({r[0] for r in requests})
    rows = db.session.execute(
        select(Pile, Station.pile_networks)
        .outerjoin(Station, Station.id == Pile.station_id)
        .where(Pile.code.in_(codes))
        .options(lazyload("*"))
    ).all()
    found = {pile.code: (pile, list(networks or [])) for pile, networks in rows}
    out: list[str | None] = []
    for code, password, protocol, address, replacing in requests:
        hit = found.get(code)
        if hit is None:
            out.append(UNKNOWN_PILE)
            continue
        if replacing:
            out.append(None)  # recorded, refused or not
            continue
        verdict = _verdict(hit[0], hit[1], password, protocol, address)
        out.append(ADMITTED if verdict.answer == ADMITTED else None)
    return out


def _record(pile: Pile, kind: str, reason: str, address: str | None, protocol: str) -> None:
    now = utcnow()
    recent = db.session.scalar(
        select(PileConnectionEvent)
        .where(
            PileConnectionEvent.pile_id == pile.id,
            PileConnectionEvent.kind == kind,
            PileConnectionEvent.reason == reason,
            PileConnectionEvent.address == (address or ""),
            PileConnectionEvent.last_at >= now - REPEAT_WINDOW,
        )
        .order_by(PileConnectionEvent.id.desc())
        .limit(1)
    )
    if recent is not None:  # a pile (or a prober) retrying: one row, counted
        recent.attempts += 1
        recent.last_at = now
        return
    db.session.add(
        PileConnectionEvent(
            pile_id=pile.id, at=now, last_at=now, kind=kind, reason=reason,
            address=(address or "")[:64], protocol=protocol,
        )
    )  # fmt: skip


# --- the operator's side ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewPassword:
    pile: Pile
    password: str  # shown once: only its hash is kept


@transactional
def set_password(actor: Actor, pile_id: int) -> NewPassword:
    """A new random password for the pile (set, or rotated): returned once, audited without
    it. The pile must be given it (its AuthorizationKey); a live connection stays until
    it reconnects, and then needs the new one."""
    actor.require("pile.write")
    pile = get_scoped(Pile, pile_id, actor, what="充电桩")
    password = "".join(secrets.choice(_ALPHABET) for _ in range(PASSWORD_LENGTH))
    rotated = bool(pile.password_hash)
    pile.password_hash = generate_password_hash(password, method=HASH_METHOD)
    pile.password_set_at = utcnow()
    audit.record(
        actor, "pile.password_rotated" if rotated else "pile.password_set", "pile", pile.id,
        operator_id=pile.operator_id, after={"pile_code": pile.code, "has_password": True},
    )  # fmt: skip
    return NewPassword(pile, password)


@transactional
def clear_password(actor: Actor, pile_id: int) -> Pile:
    """Remove the pile's password (refused while credentials are required for it)."""
    actor.require("pile.write")
    pile = get_scoped(Pile, pile_id, actor, what="充电桩")
    if credentials_required(pile.code):
        raise PILE_CREDENTIALS_REQUIRED(details={"pile_code": pile.code})
    if pile.password_hash:
        pile.password_hash = ""
        pile.password_set_at = None
        audit.record(
            actor, "pile.password_cleared", "pile", pile.id, operator_id=pile.operator_id,
            after={"pile_code": pile.code, "has_password": False},
        )  # fmt: skip
    return pile


def normalise_networks(raw: Any) -> list[str]:
    """The allowed networks as CIDR strings, or PILE_NETWORKS_INVALID naming the bad ones."""
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_NETWORKS:
        raise PILE_NETWORKS_INVALID(details={"pile_networks": [f"至多 {MAX_NETWORKS} 个网段"]})
    networks: list[str] = []
    bad: list[str] = []
    for item in raw:
        try:
            networks.append(str(ipaddress.ip_network(str(item).strip(), strict=False)))
        except ValueError:
            bad.append(str(item))
    if bad:
        raise PILE_NETWORKS_INVALID(details={"pile_networks": bad})
    return sorted(set(networks))


def connection_events(actor: Actor, pile_id: int, *, page: int = 1, page_size: int = 20) -> Page:
    pile = get_scoped(Pile, pile_id, actor, what="充电桩")
    stmt = (
        select(PileConnectionEvent)
        .where(PileConnectionEvent.pile_id == pile.id)
        .order_by(PileConnectionEvent.at.desc(), PileConnectionEvent.id.desc())
    )
    return paginate(stmt, page, page_size)
