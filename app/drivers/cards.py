"""Cards and pile passwords issued to a driver (issue 10): an operator issues an RFID card
number or a pile-screen password to a member and disables it; a pile then starts a charge
with it (``app.charging.pile_events`` looks the id tag up among the active ones).

A password is never stored as typed: the pile link hands over a typed password as
``pwd:`` + 16 lowercase hex characters of its MD5 (the middle of the digest), and that form is
what is kept and matched. The password itself is shown once, in the answer to its issue.

A driver sees and resets their own password in the drivers' API (issue 13): since only the
hash is kept, "see" is whether one is active and when it was issued; a reset issues new
digits (shown once) and disables the old ones. No two drivers of an operator share a
password: the pile finds the driver by it alone. The unique ``(operator_id, id_tag)`` of
``driver_cards`` guarantees it, also when two issues draw the same digits at once (the
insert is retried in a savepoint with new digits)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.errors import (
    CARD_NOT_FOUND,
    CARD_NUMBER_INVALID,
    CARD_TAKEN,
    CHARGING_PASSWORD_UNAVAILABLE,
    REASON_REQUIRED,
)
from app.extensions import db
from app.tenancy import audit
from app.tenancy.models import Driver, DriverCard
from app.tenancy.scope import Actor, get_scoped
from app.uow import transactional

CARD_READ = "member.read"
CARD_WRITE = "member.write"

KIND_CARD = "card"
KIND_PASSWORD = "password"

PASSWORD_DIGITS = 8  # typed on a pile's keypad; it alone identifies the driver
PASSWORD_ATTEMPTS = 20  # draws of new digits before giving up (10**8 per operator)
_CARD_NUMBER = re.compile(r"^[0-9A-Za-z]{4,32}$")
_PASSWORD_PREFIX = "pwd:"


def password_tag(password: str) -> str:
    """The id tag a pile start with this typed password arrives with."""
    digest = hashlib.md5(password.encode("utf-8"), usedforsecurity=False).hexdigest()
    return f"{_PASSWORD_PREFIX}{digest[8:24]}"


@dataclass(frozen=True, slots=True)
class CardView:
    card: DriverCard
    password: str | None = None  # only in the answer to a password's issue

    @property
    def id(self) -> int:
        return self.card.id

    @property
    def label(self) -> str:
        """What the console shows: the card number; a password never (only that it is one)."""
        if self.card.kind == KIND_PASSWORD:
            return "充电密码（已隐藏）"
        return self.card.id_tag


def list_cards(actor: Actor, driver_id: int) -> list[CardView]:
    """The cards and passwords issued to a member, the active ones first, newest first."""
    actor.require(CARD_READ)
    driver = get_scoped(Driver, driver_id, actor, what="会员")
    rows = db.session.scalars(
        select(DriverCard)
        .where(DriverCard.driver_id == driver.id)
        .order_by(DriverCard.is_active.desc(), DriverCard.id.desc())
    )
    return [CardView(c) for c in rows]


def _taken(operator_id: int, id_tag: str) -> bool:
    return (
        db.session.scalar(
            select(DriverCard.id).where(
                DriverCard.operator_id == operator_id, DriverCard.id_tag == id_tag
            )
        )
        is not None
    )


@transactional
def issue_card(actor: Actor, driver_id: int, card_number: str, *, reason: str = "") -> CardView:
    """Issue an RFID card (its number as the pile reads it) to a member. Audited."""
    actor.require(CARD_WRITE)
    driver = get_scoped(Driver, driver_id, actor, what="会员")
    number = card_number.strip().upper()
    if not _CARD_NUMBER.match(number):
        raise CARD_NUMBER_INVALID(details={"card_number": ["4 到 32 位字母和数字"]})
    if _taken(driver.operator_id, number):
        raise CARD_TAKEN(details={"id_tag": number})
    card = _add(driver, number, KIND_CARD)
    audit.record(
        actor, "driver_card.issue", "driver", driver.id, operator_id=driver.operator_id,
        after={"card_id": card.id, "kind": KIND_CARD, "id_tag": number}, reason=reason.strip(),
    )  # fmt: skip
    return CardView(card)


@transactional
def issue_password(actor: Actor, driver_id: int, *, reason: str = "") -> CardView:
    """Issue a new pile password to a member: random digits, unique within the operator,
    returned once. The driver's earlier active passwords are disabled (one at a time).
    Audited (the password itself is not written to the log)."""
    actor.require(CARD_WRITE)
    driver = get_scoped(Driver, driver_id, actor, what="会员")
    card, password, replaced = _replace_password(driver)
    audit.record(
        actor, "driver_card.issue", "driver", driver.id, operator_id=driver.operator_id,
        after={"card_id": card.id, "kind": KIND_PASSWORD, "disabled_ids": replaced},
        reason=reason.strip(),
    )  # fmt: skip
    return CardView(card, password=password)


@dataclass(frozen=True, slots=True)
class PasswordStatus:
    """A driver's own pile password as the drivers' API shows it: whether one is active and
    when it was issued; the digits only in the answer to a reset."""

    has_password: bool
    issued_at: datetime | None
    password: str | None = None


def own_password(driver: Driver) -> PasswordStatus:
    """The driver's active pile password, if any (issued by the console or by a reset)."""
    active = _active_passwords(driver.id)
    if not active:
        return PasswordStatus(has_password=False, issued_at=None)
    newest = max(active, key=lambda c: (c.created_at, c.id))
    return PasswordStatus(has_password=True, issued_at=newest.created_at)


@transactional
def reset_own_password(driver: Driver) -> PasswordStatus:
    """The driver asks for a new pile password: new digits, shown in this answer only; the
    old ones stop working now. Audited as the driver's action (without the digits)."""
    card, password, replaced = _replace_password(driver)
    audit.record_driver(
        driver.id, "driver_card.reset_password", "driver", driver.id,
        operator_id=driver.operator_id,
        after={"card_id": card.id, "kind": KIND_PASSWORD, "disabled_ids": replaced},
    )  # fmt: skip
    return PasswordStatus(has_password=True, issued_at=card.created_at, password=password)


def _new_digits() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(PASSWORD_DIGITS))


def _replace_password(driver: Driver) -> tuple[DriverCard, str, list[int]]:
    """Disable the driver's active passwords and add a new one, unique within the operator:
    digits already taken (by any driver, active or not) are drawn again, and an insert that
    meets another one made at the same moment (the unique constraint) is retried. The
    driver's row is locked first: a reset and a console issue at once would otherwise leave
    the driver two active passwords."""
    db.session.execute(select(Driver.id).where(Driver.id == driver.id).with_for_update())
    replaced = []
    for old in _active_passwords(driver.id):
        old.is_active = False
        replaced.append(old.id)
    db.session.flush()
    for _ in range(PASSWORD_ATTEMPTS):
        password = _new_digits()
        tag = password_tag(password)
        if _taken(driver.operator_id, tag):
            continue
        try:
            with db.session.begin_nested():
                card = _add(driver, tag, KIND_PASSWORD)
        except IntegrityError:  # another issue took these digits since the check
            continue
        return card, password, replaced
    raise CHARGING_PASSWORD_UNAVAILABLE(details={"attempts": PASSWORD_ATTEMPTS})


def _active_passwords(driver_id: int) -> list[DriverCard]:
    return list(
        db.session.scalars(
            select(DriverCard).where(
                DriverCard.driver_id == driver_id,
                DriverCard.kind == KIND_PASSWORD,
                DriverCard.is_active.is_(True),
            )
        )
    )


def _add(driver: Driver, id_tag: str, kind: str) -> DriverCard:
    card = DriverCard(operator_id=driver.operator_id, driver_id=driver.id, id_tag=id_tag, kind=kind)
    db.session.add(card)
    db.session.flush()
    return card


@transactional
def disable_card(actor: Actor, card_id: int, *, reason: str) -> CardView:
    """Disable a card or password (lost card, leaked password): piles refuse it from now
    on. Its number stays with this member. With a reason, audited; disabling twice is a
    no-op that writes nothing."""
    actor.require(CARD_WRITE)
    if not reason.strip():
        raise REASON_REQUIRED("请填写停用原因", details={"reason": ["必填"]})
    card = db.session.get(DriverCard, card_id)
    if card is None or not actor.sees_operator(card.operator_id):
        raise CARD_NOT_FOUND(details={"id": card_id})
    if card.is_active:
        card.is_active = False
        audit.record(
            actor, "driver_card.disable", "driver", card.driver_id,
            operator_id=card.operator_id, before={"card_id": card.id, "is_active": True},
            after={"card_id": card.id, "is_active": False}, reason=reason.strip(),
        )  # fmt: skip
    return CardView(card)
