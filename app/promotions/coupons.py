"""Coupons: templates, grants (by admins, top-up offers, registration), the driver's choice,
use at settlement, revocation, expiry and reminders.

Rules come from :mod:`app.pricing` (kinds, deduction, default choice, validity);
this module stores them. A coupon's use is written in the settlement transaction together
with the bill and the wallet debit (case #6): no cache is the source of truth."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, literal, select, update

from app.catalogue.models import Station
from app.config import setting
from app.db import utcnow
from app.errors import (
    COUPON_GROUP_GRANT_KEY_INVALID,
    COUPON_KIND_INVALID,
    COUPON_LIMIT_REACHED,
    COUPON_NOT_FOUND,
    COUPON_NOT_REVOCABLE,
    COUPON_PERCENT_INVALID,
    COUPON_STATIONS_INVALID,
    COUPON_TEMPLATE_INACTIVE,
    COUPON_TEMPLATE_INVALID,
    COUPON_VALIDITY_INVALID,
    DRIVER_NOT_FOUND,
    NAME_REQUIRED,
    PRICING_GROUP_INVALID,
    QUANTITY_INVALID,
    REASON_REQUIRED,
    TIME_NAIVE,
    TIME_RANGE_INVALID,
    TIMEZONE_INVALID,
    TOPUP_OFFER_INVALID,
)
from app.extensions import db
from app.ledger import wallet
from app.money import fen_to_yuan_str, parse_unit_price
from app.notices.models import OutboxMessage, OutboxStatus
from app.paging import Page, paginate
from app.pricing import (
    COUPON_KINDS,
    CouponOption,
    display_valid_until,
    validity_end,
    zone_for,
)
from app.promotions.member_pricing import NO_GROUP, group_exists
from app.promotions.models import (
    Coupon,
    CouponState,
    CouponTemplate,
    TopUpGrant,
    TopUpOffer,
    TopUpOfferItem,
)
from app.tenancy import audit
from app.tenancy.models import AuditLog, Driver
from app.tenancy.operators import resolve_target_operator
from app.tenancy.scope import SYSTEM, Actor, get_scoped, scoped
from app.uow import transactional

COUPON_READ = "member.read"

COUPON_WRITE = "member.write"

MAX_GRANT_QUANTITY = 100

# rendered inline so PostgreSQL matches the partial index ix_coupons_available_expires
AVAILABLE = literal(CouponState.AVAILABLE, literal_execute=True)


def _ref(value: str) -> Any:
    """A source reference rendered inline: PostgreSQL then proves it non-empty and uses the
    partial index ix_coupons_source_ref."""
    return literal(value, literal_execute=True)


def _int_or_none(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise COUPON_TEMPLATE_INVALID(
            f"{name} 须为不小于 0 的整数", details={name: ["须为不小于 0 的整数"]}
        )
    return value


def _option_from(values: dict[str, Any], ident: int | str = 0) -> CouponOption:
    ids = values.get("station_ids")
    return CouponOption(
        id=ident,
        kind=values["kind"],
        amount_fen=values.get("amount_fen") or 0,
        threshold_fen=values.get("threshold_fen") or 0,
        percent=values.get("percent"),
        cap_fen=values.get("cap_fen"),
        expires_at=values.get("expires_at"),
        station_ids=None if ids is None else frozenset(ids),
    )


def _validated_template(actor: Actor, data: dict[str, Any], operator_id: int) -> dict[str, Any]:
    kind = data.get("kind")
    if kind not in COUPON_KINDS:
        raise COUPON_KIND_INVALID(details={"kind": [str(kind)]})
    values: dict[str, Any] = {"kind": kind}
    for name in ("amount_fen", "threshold_fen", "cap_fen"):
        values[name] = _int_or_none(data, name)
    values["amount_fen"] = values["amount_fen"] or 0
    values["threshold_fen"] = values["threshold_fen"] or 0
    percent = data.get("percent")
    if percent is not None:
        try:
            percent = parse_unit_price(percent)
        except (TypeError, ValueError):
            percent = Decimal(-1)
        if not Decimal(0) <= percent <= Decimal(1):
            raise COUPON_PERCENT_INVALID()
    values["percent"] = percent
    problems = {
        "fixed": values["amount_fen"] <= 0,
        "threshold": values["amount_fen"] <= 0 or values["threshold_fen"] <= 0,
        "percent": percent is None,
        "service_only": values["amount_fen"] <= 0 and percent is None,
    }
    if problems[kind]:
        raise COUPON_TEMPLATE_INVALID(
            "优惠券面额不完整：满减券须有门槛和金额，折扣券须有折扣，其余须有金额"
        )
    station_ids = data.get("station_ids")
    if station_ids is not None:
        ids = sorted({int(i) for i in station_ids})
        owned = set(
            db.session.scalars(
                select(Station.id).where(Station.id.in_(ids), Station.operator_id == operator_id)
            )
        )
        if not ids or owned != set(ids):
            raise COUPON_STATIONS_INVALID(details={"station_ids": sorted(set(ids) - owned)})
        station_ids = ids
    values["station_ids"] = station_ids
    days, months = _int_or_none(data, "validity_days"), _int_or_none(data, "validity_months")
    valid_from, valid_until = data.get("valid_from"), data.get("valid_until")
    chosen = [x is not None for x in (valid_until, days, months)]
    if sum(chosen) != 1 or days == 0 or months == 0:
        raise COUPON_VALIDITY_INVALID()
    for name, value in (("valid_from", valid_from), ("valid_until", valid_until)):
        if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
            raise TIME_NAIVE(details={name: ["须带时区"]})
    if valid_from is not None and valid_until is not None and valid_until <= valid_from:
        raise TIME_RANGE_INVALID()
    tz = data.get("timezone") or "Asia/Shanghai"
    try:
        zone_for(tz)
    except (ValueError, KeyError):
        raise TIMEZONE_INVALID() from None
    try:
        _option_from(values)
    except (TypeError, ValueError) as err:
        raise COUPON_TEMPLATE_INVALID(str(err)) from err
    values.update(
        valid_from=valid_from, valid_until=valid_until, validity_days=days,
        validity_months=months, timezone=tz,
        per_driver_limit=_int_or_none(data, "per_driver_limit"),
        registration_quantity=_int_or_none(data, "registration_quantity") or 0,
    )  # fmt: skip
    return values


@transactional
def create_template(actor: Actor, data: dict[str, Any]) -> CouponTemplate:
    actor.require(COUPON_WRITE)
    name = str(data.get("name") or "").strip()
    if not name:
        raise NAME_REQUIRED(details={"name": ["必填"]})
    operator_id = resolve_target_operator(actor, data.get("operator_id"))
    values = _validated_template(actor, data, operator_id)
    template = CouponTemplate(
        operator_id=operator_id, name=name, created_by_id=actor.admin_id, **values
    )
    db.session.add(template)
    db.session.flush()
    audit.record(
        actor, "coupon_template.create", "coupon_template", template.id,
        operator_id=operator_id, after=audit.snapshot(template, _TEMPLATE_FIELDS),
    )  # fmt: skip
    return template


_TEMPLATE_FIELDS = (
    "name", "kind", "amount_fen", "threshold_fen", "percent", "cap_fen", "station_ids",
    "valid_from", "valid_until", "validity_days", "validity_months", "per_driver_limit",
    "registration_quantity", "is_active",
)  # fmt: skip


@transactional
def set_template_active(actor: Actor, template_id: int, active: bool) -> CouponTemplate:
    actor.require(COUPON_WRITE)
    template = get_scoped(CouponTemplate, template_id, actor, what="优惠券模板")
    before = {"is_active": template.is_active}
    template.is_active = active
    audit.record(
        actor, "coupon_template.set_active", "coupon_template", template.id,
        operator_id=template.operator_id, before=before, after={"is_active": active},
    )  # fmt: skip
    return template


def list_templates(actor: Actor, *, page: int = 1, page_size: int = 20) -> Page:
    actor.require(COUPON_READ)
    stmt = scoped(select(CouponTemplate), CouponTemplate.operator_id, actor)
    return paginate(stmt.order_by(CouponTemplate.id.desc()), page, page_size)


def template_validity_text(template: CouponTemplate) -> str:
    """A template's validity as the console shows it: a fixed window ends at its last valid
    local second (case #10: ``至 2019-11-13 23:59:59``); a period counts from the grant day."""
    if template.valid_until is not None:
        return f"至 {display_valid_until(template.valid_until, template.timezone)}"
    if template.validity_days is not None:
        return f"领取当日起 {template.validity_days} 天（至最后一天 23:59:59）"
    if template.validity_months is not None:
        return f"领取当日起 {template.validity_months} 个月（至最后一天 23:59:59）"
    return "-"


def coupon_validity(template: CouponTemplate, granted_at: datetime) -> tuple[datetime, datetime]:
    """(valid from, exclusive end) of a coupon granted at ``granted_at`` (case #10)."""
    if template.valid_until is not None:
        return template.valid_from or granted_at, template.valid_until
    end = validity_end(
        granted_at,
        days=template.validity_days,
        months=template.validity_months,
        tz=template.timezone,
    )
    return granted_at, end


def _issue(
    template: CouponTemplate,
    driver_id: int,
    *,
    source: str,
    source_ref: str = "",
    reason: str = "",
    granted_at: datetime,
    granted_by_id: int | None = None,
) -> Coupon:
    valid_from, expires_at = coupon_validity(template, granted_at)
    coupon = Coupon(
        template_id=template.id,
        operator_id=template.operator_id,
        driver_id=driver_id,
        name=template.name,
        kind=template.kind,
        amount_fen=template.amount_fen,
        threshold_fen=template.threshold_fen,
        percent=template.percent,
        cap_fen=template.cap_fen,
        station_ids=template.station_ids,
        status=CouponState.AVAILABLE if expires_at > granted_at else CouponState.EXPIRED,
        source=source,
        source_ref=source_ref,
        reason=reason,
        granted_by_id=granted_by_id,
        granted_at=granted_at,
        valid_from=valid_from,
        expires_at=expires_at,
        timezone=template.timezone,
    )
    db.session.add(coupon)
    return coupon


def _granted_count(template_id: int, driver_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.count(Coupon.id)).where(
                Coupon.template_id == template_id,
                Coupon.driver_id == driver_id,
                Coupon.status != CouponState.REVOKED,
            )
        )
        or 0
    )


def lock_templates(template_ids: list[int]) -> None:
    """Row-lock coupon templates (by id) for the rest of the transaction: every grant
    that checks a per-driver limit holds its template, so a grant to one driver and a grant
    to a pricing group (which holds the template, not the members' wallets) cannot both
    count the same coupons and give one more than the limit. Lock order: a driver's wallet
    (the payment of a top-up holds it already), then the templates."""
    if template_ids:
        db.session.execute(
            select(CouponTemplate.id)
            .where(CouponTemplate.id.in_(sorted(set(template_ids))))
            .order_by(CouponTemplate.id)
            .with_for_update()
        )


def _room_under_limit(template: CouponTemplate, driver_id: int) -> int | None:
    if template.per_driver_limit is None:
        return None
    return max(0, template.per_driver_limit - _granted_count(template.id, driver_id))


@transactional
def grant(
    actor: Actor,
    template_id: int,
    driver_id: int,
    *,
    quantity: int = 1,
    reason: str,
    now: datetime | None = None,
) -> list[Coupon]:
    """An admin gives a driver coupons, with a reason and an audit row (case #17 2020)."""
    actor.require(COUPON_WRITE)
    if not reason.strip():
        raise REASON_REQUIRED("请填写发放原因", details={"reason": ["必填"]})
    if not 1 <= quantity <= MAX_GRANT_QUANTITY:
        raise QUANTITY_INVALID(f"数量须在 1 到 {MAX_GRANT_QUANTITY} 之间")
    template = get_scoped(CouponTemplate, template_id, actor, what="优惠券模板")
    driver = get_scoped(Driver, driver_id, actor, what="会员")
    if not template.is_active:
        raise COUPON_TEMPLATE_INACTIVE()
    wallet.lock_wallet(driver.id)  # serialises grants to one driver (per-driver limit)
    lock_templates([template.id])  # and against a grant of this template to a group
    room = _room_under_limit(template, driver.id)
    if room is not None and quantity > room:
        raise COUPON_LIMIT_REACHED(details={"limit": template.per_driver_limit, "remaining": room})
    at = now or utcnow()
    coupons = [
        _issue(template, driver.id, source="admin", reason=reason.strip(), granted_at=at,
               granted_by_id=actor.admin_id)
        for _ in range(quantity)
    ]  # fmt: skip
    db.session.flush()
    audit.record(
        actor, "coupon.grant", "driver", driver.id, operator_id=template.operator_id,
        after={"template_id": template.id, "quantity": quantity,
               "coupon_ids": [c.id for c in coupons]},
        reason=reason.strip(),
    )  # fmt: skip
    return coupons


_REQUEST_ID = re.compile(r"^[0-9A-Za-z_-]{8,64}$")


@dataclass(frozen=True, slots=True)
class GroupGrantResult:
    """A grant to a pricing group: ``granted`` members got one coupon each, ``skipped`` were
    at the template's per-driver limit; ``repeated`` when this request was already done (its
    first answer is given again and nothing more is granted)."""

    template_id: int
    group_code: str
    request_id: str
    granted: int
    skipped: int
    repeated: bool


def _group_ref(template_id: int, request_id: str) -> str:
    return f"group:{template_id}:{request_id}"


@transactional
def grant_to_group(
    actor: Actor,
    template_id: int,
    group_code: str,
    *,
    request_id: str,
    reason: str,
    now: datetime | None = None,
) -> GroupGrantResult:
    """One coupon of the template to every active member of a pricing group of the
    template's operator (issue 10), with a reason and one audit row. ``request_id`` (made by
    the console for each grant it sends) makes a retried request grant nothing twice."""
    actor.require(COUPON_WRITE)
    if not reason.strip():
        raise REASON_REQUIRED("请填写发放原因", details={"reason": ["必填"]})
    if not _REQUEST_ID.match(request_id or ""):
        raise COUPON_GROUP_GRANT_KEY_INVALID(details={"request_id": ["8 到 64 位"]})
    template = get_scoped(CouponTemplate, template_id, actor, what="优惠券模板")
    # serialises grants of this template: a retry waits for the first and then sees it, and
    # a grant to one member (which holds the template too) waits for this one
    lock_templates([template.id])
    ref = _group_ref(template.id, request_id)
    done = db.session.scalar(
        select(AuditLog).where(
            AuditLog.action == "coupon.grant_group",
            AuditLog.target_type == "coupon_template",
            AuditLog.target_id == str(template.id),
            AuditLog.after["source_ref"].as_string() == ref,
        )
    )
    if done is not None:
        after = done.after or {}
        return GroupGrantResult(
            template.id, str(after.get("group_code", group_code)), request_id,
            int(after.get("granted", 0)), int(after.get("skipped", 0)), True,
        )  # fmt: skip
    if not template.is_active:
        raise COUPON_TEMPLATE_INACTIVE()
    code = group_code.strip()
    if code != NO_GROUP and not group_exists(code, template.operator_id):
        raise PRICING_GROUP_INVALID(details={"group_code": code})
    members = select(Driver.id).where(
        Driver.operator_id == template.operator_id,
        Driver.pricing_group == code,
        Driver.disabled_at.is_(None),
    )
    eligible = members
    if template.per_driver_limit is not None:
        held = (
            select(func.count(Coupon.id))
            .where(
                Coupon.template_id == template.id,
                Coupon.driver_id == Driver.id,
                Coupon.status != CouponState.REVOKED,
            )
            .correlate(Driver)
            .scalar_subquery()
        )
        eligible = members.where(held < template.per_driver_limit)
    total = int(db.session.scalar(select(func.count()).select_from(members.subquery())) or 0)
    at = now or utcnow()
    valid_from, expires_at = coupon_validity(template, at)
    status = CouponState.AVAILABLE if expires_at > at else CouponState.EXPIRED
    columns = {
        "template_id": literal(template.id), "operator_id": literal(template.operator_id),
        "driver_id": Driver.id, "name": literal(template.name), "kind": literal(template.kind),
        "amount_fen": literal(template.amount_fen),
        "threshold_fen": literal(template.threshold_fen),
        "percent": literal(template.percent, Coupon.__table__.c.percent.type),
        "cap_fen": literal(template.cap_fen, Coupon.__table__.c.cap_fen.type),
        "station_ids": literal(template.station_ids, Coupon.__table__.c.station_ids.type),
        "status": literal(str(status)), "source": literal("group"), "source_ref": literal(ref),
        "reason": literal(reason.strip()[:200]),
        "granted_by_id": literal(actor.admin_id, Coupon.__table__.c.granted_by_id.type),
        "granted_at": literal(at, Coupon.__table__.c.granted_at.type),
        "valid_from": literal(valid_from, Coupon.__table__.c.valid_from.type),
        "expires_at": literal(expires_at, Coupon.__table__.c.expires_at.type),
        "timezone": literal(template.timezone), "used_amount_fen": literal(0),
    }  # fmt: skip
    picked = eligible.with_only_columns(*[c.label(k) for k, c in columns.items()])
    granted = len(
        db.session.execute(
            insert(Coupon)
            .from_select(list(columns), picked.order_by(Driver.id))
            .returning(Coupon.id)
        ).all()
    )
    audit.record(
        actor, "coupon.grant_group", "coupon_template", template.id,
        operator_id=template.operator_id,
        after={"group_code": code, "granted": granted, "skipped": total - granted,
               "source_ref": ref},
        reason=reason.strip(),
    )  # fmt: skip
    return GroupGrantResult(template.id, code, request_id, granted, total - granted, False)


def grant_on_registration(driver: Driver, *, now: datetime | None = None) -> list[Coupon]:
    """Coupons every new driver of the operator receives; once per driver; no commit."""
    ref = f"driver:{driver.id}"
    done = db.session.scalar(
        select(Coupon.id).where(Coupon.source == "registration", Coupon.source_ref == _ref(ref))
    )
    if done is not None:
        return []
    at = now or utcnow()
    out: list[Coupon] = []
    for template in db.session.scalars(
        select(CouponTemplate).where(
            CouponTemplate.operator_id == driver.operator_id,
            CouponTemplate.is_active.is_(True),
            CouponTemplate.registration_quantity > 0,
        )
    ):
        room = _room_under_limit(template, driver.id)
        wanted = template.registration_quantity
        count = wanted if room is None else min(room, wanted)
        out += [
            _issue(template, driver.id, source="registration", source_ref=ref, granted_at=at,
                   reason="注册赠送")
            for _ in range(count)
        ]  # fmt: skip
    db.session.flush()
    return out


@transactional
def revoke_coupon(actor: Actor, coupon_id: int, *, reason: str) -> Coupon:
    """An admin withdraws an unused coupon, with audit (case #4 2019-10-15)."""
    actor.require(COUPON_WRITE)
    if not reason.strip():
        raise REASON_REQUIRED(details={"reason": ["必填"]})
    coupon = get_scoped(Coupon, coupon_id, actor, what="优惠券")
    locked = lock_coupon(coupon.id)
    if locked.status != CouponState.AVAILABLE:
        raise COUPON_NOT_REVOCABLE(details={"status": locked.status})
    _revoke(locked, reason.strip())
    audit.record(
        actor, "coupon.revoke", "coupon", locked.id, operator_id=locked.operator_id,
        before={"status": CouponState.AVAILABLE}, after={"status": CouponState.REVOKED},
        reason=reason.strip(),
    )  # fmt: skip
    return locked


def _revoke(coupon: Coupon, reason: str) -> None:
    coupon.status = CouponState.REVOKED
    coupon.revoked_at = utcnow()
    coupon.revoke_reason = reason[:200]


@dataclass(frozen=True, slots=True)
class OfferSummary:
    """What a top-up offer gives, as the top-up page states it (case #5 2019-10-28):
    ``coupon_count`` coupons worth ``total_fen``; percent coupons count at their cap and
    make ``total_is_upper_bound`` true."""

    offer_id: int
    name: str
    min_topup_fen: int
    coupon_count: int
    total_fen: int
    total_is_upper_bound: bool
    items: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    is_active: bool = True

    @property
    def text(self) -> str:
        bound = "最高" if self.total_is_upper_bound else ""
        return (
            f"充值满 {fen_to_yuan_str(self.min_topup_fen)} 元，"
            f"送 {self.coupon_count} 张优惠券，{bound}共 {fen_to_yuan_str(self.total_fen)} 元"
        )


def _face_value(template: CouponTemplate) -> tuple[int, bool]:
    """A coupon's worth for the offer's total: its amount, or its cap for percent ones."""
    if template.kind in ("fixed", "threshold") or (
        template.kind == "service_only" and template.percent is None
    ):
        return template.amount_fen, False
    return template.cap_fen or 0, True


def offer_summary(offer: TopUpOffer) -> OfferSummary:
    count = total = 0
    upper = False
    items = []
    for item in offer.items:
        value, bound = _face_value(item.template)
        count += item.quantity
        total += value * item.quantity
        upper = upper or bound
        items.append(
            {"template_id": item.template_id, "name": item.template.name,
             "quantity": item.quantity, "face_value_fen": value}
        )  # fmt: skip
    return OfferSummary(offer.id, offer.name, offer.min_topup_fen, count, total, upper,
                        tuple(items), offer.is_active)  # fmt: skip


def _active_offers(operator_id: int, at: datetime) -> list[TopUpOffer]:
    return list(
        db.session.scalars(
            select(TopUpOffer)
            .where(
                TopUpOffer.operator_id == operator_id,
                TopUpOffer.is_active.is_(True),
                TopUpOffer.starts_at.is_(None) | (TopUpOffer.starts_at <= at),
                TopUpOffer.ends_at.is_(None) | (TopUpOffer.ends_at > at),
            )
            .order_by(TopUpOffer.min_topup_fen)
        )
    )


def topup_offers(operator_id: int, *, at: datetime | None = None) -> list[OfferSummary]:
    """The offers the drivers' top-up page shows, smallest first."""
    return [offer_summary(o) for o in _active_offers(operator_id, at or utcnow())]


def offer_for_topup(operator_id: int, topup_fen: int, at: datetime) -> TopUpOffer | None:
    """The offer a top-up earns: the one with the largest minimum it reaches."""
    eligible = [o for o in _active_offers(operator_id, at) if o.min_topup_fen <= topup_fen]
    return eligible[-1] if eligible else None


@transactional
def create_offer(actor: Actor, data: dict[str, Any]) -> TopUpOffer:
    actor.require(COUPON_WRITE)
    operator_id = resolve_target_operator(actor, data.get("operator_id"))
    min_topup = data.get("min_topup_fen")
    if isinstance(min_topup, bool) or not isinstance(min_topup, int) or min_topup <= 0:
        raise TOPUP_OFFER_INVALID("充值门槛须为正整数（分）")
    items = data.get("items") or []
    if not items:
        raise TOPUP_OFFER_INVALID("请至少选择一种优惠券")
    offer = TopUpOffer(
        operator_id=operator_id,
        name=str(data.get("name") or "").strip() or f"充值满 {fen_to_yuan_str(min_topup)} 元",
        min_topup_fen=min_topup,
        starts_at=data.get("starts_at"),
        ends_at=data.get("ends_at"),
    )
    for item in items:
        template = get_scoped(CouponTemplate, int(item["template_id"]), actor, what="优惠券模板")
        quantity = int(item.get("quantity", 1))
        if template.operator_id != operator_id or not 1 <= quantity <= MAX_GRANT_QUANTITY:
            raise TOPUP_OFFER_INVALID("优惠券须属于同一运营商，数量 1–100")
        offer.items.append(TopUpOfferItem(template_id=template.id, quantity=quantity))
    db.session.add(offer)
    db.session.flush()
    summary = offer_summary(offer)
    audit.record(
        actor, "topup_offer.create", "topup_offer", offer.id, operator_id=operator_id,
        after={"name": offer.name, "min_topup_fen": min_topup, "coupon_count":
               summary.coupon_count, "total_fen": summary.total_fen},
    )  # fmt: skip
    return offer


def list_offers(actor: Actor, *, page: int = 1, page_size: int = 20) -> Page:
    actor.require(COUPON_READ)
    stmt = scoped(select(TopUpOffer), TopUpOffer.operator_id, actor)
    return paginate(stmt.order_by(TopUpOffer.id.desc()), page, page_size)


def grant_for_topup(
    driver_id: int, payment_ref: str, topup_fen: int, *, at: datetime | None = None
) -> TopUpGrant | None:
    """Coupons earned by a successful top-up; at most once per payment; no commit (the
    payment notification owns the transaction)."""
    existing = db.session.scalar(select(TopUpGrant).where(TopUpGrant.payment_ref == payment_ref))
    if existing is not None:
        return existing
    driver = db.session.get(Driver, driver_id)
    if driver is None:
        raise DRIVER_NOT_FOUND()
    moment = at or utcnow()
    offer = offer_for_topup(driver.operator_id, topup_fen, moment)
    if offer is None:
        return None
    wallet.lock_wallet(driver.id)
    lock_templates([item.template_id for item in offer.items])  # as grant() does
    issued: list[Coupon] = []
    skipped: dict[str, int] = {}
    for item in offer.items:
        room = _room_under_limit(item.template, driver.id)
        count = item.quantity if room is None else min(room, item.quantity)
        if count < item.quantity:
            skipped[str(item.template_id)] = item.quantity - count
        issued += [
            _issue(item.template, driver.id, source="topup", source_ref=payment_ref,
                   reason=f"充值赠送（{offer.name}）", granted_at=moment)
            for _ in range(count)
        ]  # fmt: skip
    db.session.flush()
    record = TopUpGrant(
        payment_ref=payment_ref, offer_id=offer.id, driver_id=driver.id, topup_fen=topup_fen,
        granted_at=moment,
        detail={"coupon_ids": [c.id for c in issued], "skipped_by_limit": skipped},
    )  # fmt: skip
    db.session.add(record)
    db.session.flush()
    return record


@dataclass(frozen=True, slots=True)
class RevokeResult:
    revoked_ids: tuple[int, ...]
    used_ids: tuple[int, ...]  # already spent: their value cannot be taken back here
    used_amount_fen: int  # the refund flow may deduct this from what it pays back


def used_value_of_topup(payment_ref: str) -> int:
    """Fen of the coupons a top-up granted that were already spent on charging: a refund
    of that top-up keeps them back (case #4 2019-10-15)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(Coupon.used_amount_fen), 0)).where(
            Coupon.source == "topup",
            Coupon.source_ref == _ref(payment_ref),
            Coupon.status == CouponState.USED,
        )
    )
    return int(total or 0)


def revoke_coupons_of_topup(
    payment_ref: str, *, actor: Actor = SYSTEM, reason: str = "充值已退款"
) -> RevokeResult:
    """A refunded top-up takes back the coupons it granted (case #4 2019-10-15); unused
    ones are revoked, spent ones are reported. Idempotent; no commit."""
    record = db.session.scalar(select(TopUpGrant).where(TopUpGrant.payment_ref == payment_ref))
    coupons = list(
        db.session.scalars(
            select(Coupon)
            .where(Coupon.source == "topup", Coupon.source_ref == _ref(payment_ref))
            .order_by(Coupon.id)
            .with_for_update()
        )
    )
    revoked: list[int] = []
    used: list[int] = []
    used_amount = 0
    for coupon in coupons:
        if coupon.status in (CouponState.AVAILABLE, CouponState.EXPIRED):
            _revoke(coupon, reason)
            revoked.append(coupon.id)
        elif coupon.status == CouponState.USED:
            used.append(coupon.id)
            used_amount += coupon.used_amount_fen
    if record is not None and record.revoked_at is None:
        record.revoked_at = utcnow()
    if coupons:
        audit.record(
            actor, "coupon.revoke_topup", "payment", payment_ref,
            operator_id=coupons[0].operator_id,
            after={"revoked_ids": revoked, "used_ids": used, "used_amount_fen": used_amount},
            reason=reason,
        )  # fmt: skip
    db.session.flush()
    return RevokeResult(tuple(revoked), tuple(used), used_amount)


@dataclass(frozen=True, slots=True)
class CouponView:
    coupon: Coupon
    valid_until: str  # "2019-11-13 23:59:59", local time (case #10)
    usable: bool = True  # on the order's bill as it stands (pricing.coupon_refusal)
    refusal_code: str | None = None
    refusal: str | None = None  # why not, in Chinese

    @property
    def id(self) -> int:
        return self.coupon.id


def view(coupon: Coupon) -> CouponView:
    return CouponView(coupon, display_valid_until(coupon.expires_at, coupon.timezone))


def driver_coupons(
    driver_id: int, *, status: str | None = CouponState.AVAILABLE
) -> list[CouponView]:
    stmt = select(Coupon).where(Coupon.driver_id == driver_id)
    if status:
        stmt = stmt.where(Coupon.status == status)
    return [view(c) for c in db.session.scalars(stmt.order_by(Coupon.expires_at, Coupon.id))]


def lock_coupon(coupon_id: int) -> Coupon:
    """The coupon, row-locked and re-read (lock order: orders, coupons, wallet)."""
    coupon = db.session.scalar(
        select(Coupon)
        .where(Coupon.id == coupon_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if coupon is None:  # pragma: no cover - ids come from the database
        raise COUPON_NOT_FOUND()
    return coupon


def option_of(coupon: Coupon) -> CouponOption:
    return CouponOption(
        id=coupon.id,
        kind=coupon.kind,  # type: ignore[arg-type]
        amount_fen=coupon.amount_fen,
        threshold_fen=coupon.threshold_fen,
        percent=None if coupon.percent is None else Decimal(coupon.percent),
        cap_fen=coupon.cap_fen,
        expires_at=coupon.expires_at,
        station_ids=None if coupon.station_ids is None else frozenset(coupon.station_ids),
    )


@transactional
def expire_coupons(now: datetime | None = None) -> int:
    """Mark every coupon past its end as expired: one set-based UPDATE."""
    moment = now or utcnow()
    result = db.session.execute(
        update(Coupon)
        .where(Coupon.status == AVAILABLE, Coupon.expires_at <= moment)
        .values(status=CouponState.EXPIRED)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@transactional
def remind_expiring(now: datetime | None = None, *, days: int | None = None) -> int:
    """One outbox message per driver and operator for coupons expiring within ``days``
    (default ``COUPON_EXPIRY_REMINDER_DAYS``); each coupon is mentioned once. Returns the
    number of messages written."""
    moment = now or utcnow()
    days = int(setting("COUPON_EXPIRY_REMINDER_DAYS")) if days is None else days
    horizon = moment + timedelta(days=days)
    due = (
        Coupon.status == AVAILABLE,
        Coupon.reminded_at.is_(None),
        Coupon.expires_at > moment,
        Coupon.expires_at <= horizon,
    )
    groups = db.session.execute(
        select(
            Coupon.driver_id,
            Coupon.operator_id,
            func.count(Coupon.id),
            func.min(Coupon.expires_at),
            func.min(Coupon.timezone),
        )
        .where(*due)
        .group_by(Coupon.driver_id, Coupon.operator_id)
    ).all()
    if not groups:
        return 0
    day = moment.date().isoformat()
    keys = [f"coupon_expiring:{d}:{o}:{day}" for d, o, *_ in groups]
    existing = _existing_keys(keys)
    rows = []
    for (driver_id, operator_id, count, soonest, tz), key in zip(groups, keys, strict=True):
        if key in existing:
            continue
        soonest_end = soonest if soonest.tzinfo else soonest.replace(tzinfo=moment.tzinfo)
        rows.append(
            {"kind": "coupon_expiring", "dedupe_key": key, "operator_id": operator_id,
             "driver_id": driver_id, "order_id": None, "status": OutboxStatus.PENDING,
             "attempts": 0, "created_at": moment,
             "payload": {"count": int(count),
                         "soonest_valid_until": display_valid_until(soonest_end, tz)}}
        )  # fmt: skip
    if rows:
        db.session.execute(insert(OutboxMessage), rows)
    db.session.execute(
        update(Coupon)
        .where(*due)
        .values(reminded_at=moment)
        .execution_options(synchronize_session=False)
    )
    return len(rows)


def _existing_keys(keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 1000):
        found.update(
            db.session.scalars(
                select(OutboxMessage.dedupe_key).where(
                    OutboxMessage.dedupe_key.in_(keys[start : start + 1000])
                )
            )
        )
    return found


def list_member_coupons(
    actor: Actor, driver_id: int, *, status: str | None = None
) -> list[CouponView]:
    """A member's coupons for the console, with their exact local end (case #10)."""
    actor.require(COUPON_READ)
    driver = get_scoped(Driver, driver_id, actor, what="会员")
    return driver_coupons(driver.id, status=status)


@transactional
def set_offer_active(actor: Actor, offer_id: int, active: bool) -> TopUpOffer:
    """Stop (or restart) a top-up offer: a stopped one grants nothing to later top-ups; the
    coupons it already granted stay valid. Audited."""
    actor.require(COUPON_WRITE)
    offer = get_scoped(TopUpOffer, offer_id, actor, what="充值活动")
    before = {"is_active": offer.is_active}
    offer.is_active = active
    audit.record(
        actor, "topup_offer.set_active", "topup_offer", offer.id,
        operator_id=offer.operator_id, before=before, after={"is_active": active},
    )  # fmt: skip
    return offer


def list_offer_summaries(actor: Actor) -> list[OfferSummary]:
    """Every top-up offer of the actor's operators, as the top-up page would state it."""
    actor.require(COUPON_READ)
    stmt = scoped(select(TopUpOffer), TopUpOffer.operator_id, actor)
    return [offer_summary(o) for o in db.session.scalars(stmt.order_by(TopUpOffer.id.desc()))]
