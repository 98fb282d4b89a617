"""Drivers (members) of a sub-operator: identity, pricing group, cards, wallet."""

from __future__ import annotations

from sqlalchemy import Select, select

from app.errors import CARD_TAKEN, PRICING_GROUP_INVALID
from app.extensions import db
from app.ledger import wallet
from app.paging import Page, paginate
from app.promotions.models import PRICING_GROUPS
from app.tenancy.models import Driver, DriverCard
from app.tenancy.scope import Actor, get_scoped, scoped


def create_driver(
    operator_id: int,
    *,
    openid: str | None = None,
    unionid: str | None = None,
    nickname: str = "",
    phone: str = "",
    pricing_group: str = "none",
) -> Driver:
    """A new driver with an empty wallet; the caller commits."""
    if pricing_group not in PRICING_GROUPS:
        raise PRICING_GROUP_INVALID()
    driver = Driver(
        operator_id=operator_id,
        openid=openid,
        unionid=unionid,
        nickname=nickname,
        phone=phone,
        pricing_group=pricing_group,
    )
    db.session.add(driver)
    db.session.flush()
    wallet.open_wallet(driver)
    return driver


def add_card(driver: Driver, id_tag: str, kind: str = "card") -> DriverCard:
    exists = db.session.scalar(
        select(DriverCard).where(
            DriverCard.operator_id == driver.operator_id, DriverCard.id_tag == id_tag
        )
    )
    if exists is not None:
        raise CARD_TAKEN(details={"id_tag": id_tag})
    card = DriverCard(operator_id=driver.operator_id, driver_id=driver.id, id_tag=id_tag, kind=kind)
    db.session.add(card)
    db.session.flush()
    return card


def list_members(
    actor: Actor,
    *,
    q: str | None = None,
    phone: str | None = None,
    operator_id: int | None = None,
    pricing_group: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> Page:
    stmt = member_filter(
        actor, q=q, phone=phone, operator_id=operator_id, pricing_group=pricing_group
    )
    return paginate(stmt.order_by(Driver.id.desc()), page, page_size)


def member_filter(
    actor: Actor,
    *,
    q: str | None = None,
    phone: str | None = None,
    operator_id: int | None = None,
    pricing_group: str | None = None,
) -> Select[tuple[Driver]]:
    """The members list's one filter (its page and its export): the members in the
    actor's view matching the filters given (permission checked), unordered."""
    actor.require("member.read")
    stmt = scoped(select(Driver), Driver.operator_id, actor)
    if q:
        stmt = stmt.where(Driver.nickname.contains(q) | Driver.phone.contains(q))
    if phone and phone.strip():
        stmt = stmt.where(Driver.phone.contains(phone.strip(), autoescape=True))
    if operator_id:
        stmt = stmt.where(Driver.operator_id == operator_id)
    if pricing_group:
        stmt = stmt.where(Driver.pricing_group == pricing_group)
    return stmt


def get_member(actor: Actor, driver_id: int) -> Driver:
    actor.require("member.read")
    return get_scoped(Driver, driver_id, actor, what="会员")
