"""Customer-service phones per sub-operator with local time windows (case #16: a night
number 21:00-09:00); drivers see the number in force now."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.config import setting
from app.db import utcnow
from app.drivers.models import CustomerServicePhone
from app.errors import CUSTOMER_SERVICE_INVALID
from app.extensions import db
from app.paging import Page, paginate
from app.tenancy import audit
from app.tenancy.models import Operator
from app.tenancy.operators import resolve_target_operator
from app.tenancy.scope import Actor, get_scoped, scoped
from app.uow import transactional

SETTINGS = "settings.customer_service"

_PHONE = re.compile(r"^\+?[0-9][0-9 -]{2,28}$")

FIELDS = ("label", "phone", "start_minute", "end_minute", "is_active")


def in_window(start_minute: int, end_minute: int, minute: int) -> bool:
    """Whether ``minute`` of the local day falls in [start, end); start > end crosses
    midnight (21:00-09:00), start == end is all day."""
    if start_minute == end_minute:
        return True
    if start_minute < end_minute:
        return start_minute <= minute < end_minute
    return minute >= start_minute or minute < end_minute


def window_length(start_minute: int, end_minute: int) -> int:
    return (end_minute - start_minute) % 1440 or 1440


def local_minute(at: datetime, timezone: str) -> int:
    local = at.astimezone(ZoneInfo(timezone))
    return local.hour * 60 + local.minute


@dataclass(frozen=True, slots=True)
class PhoneNow:
    phone: str
    label: str
    start_minute: int
    end_minute: int


def phone_now(operator_id: int, at: datetime | None = None) -> PhoneNow | None:
    """The phone in force now for a driver of ``operator_id``: its own numbers, else the
    parent operator's, else the operator's contact phone. The narrowest window wins, so a
    night number overrides an all-day one while it answers."""
    minute = local_minute(at or utcnow(), setting("DEFAULT_TIMEZONE"))
    op = db.session.get(Operator, operator_id)
    seen: set[int] = set()
    while op is not None and op.id not in seen:
        seen.add(op.id)
        rows = db.session.scalars(
            select(CustomerServicePhone)
            .where(
                CustomerServicePhone.operator_id == op.id,
                CustomerServicePhone.is_active.is_(True),
            )
            .order_by(CustomerServicePhone.id)
        ).all()
        live = [r for r in rows if in_window(r.start_minute, r.end_minute, minute)]
        if live:
            best = min(live, key=lambda r: (window_length(r.start_minute, r.end_minute), r.id))
            return PhoneNow(best.phone, best.label, best.start_minute, best.end_minute)
        if op.parent_id is None:
            break
        op = db.session.get(Operator, op.parent_id)
    first = db.session.get(Operator, operator_id)
    if first is not None and first.contact_phone:
        return PhoneNow(first.contact_phone, "客服电话", 0, 0)
    return None


def _validated(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    phone = data.get("phone")
    if phone is not None:
        data["phone"] = phone = phone.strip()
        if not _PHONE.match(phone):
            errors["phone"] = ["电话号码只能包含数字、空格、- 和开头的 +"]
    for name in ("start_minute", "end_minute"):
        value = data.get(name)
        if value is not None and not 0 <= value <= 1440:
            errors[name.replace("_minute", "")] = ["时间应在 00:00~24:00 之间"]
    if "label" in data:
        data["label"] = (data["label"] or "").strip() or "客服电话"
    if errors:
        raise CUSTOMER_SERVICE_INVALID(details=errors)
    for name in ("start_minute", "end_minute"):
        if data.get(name) == 1440:
            data[name] = 0  # 24:00 is the next day's 00:00
    return data


def list_phones(
    actor: Actor, *, page: int = 1, page_size: int = 20, operator_id: int | None = None
) -> Page:
    actor.require(SETTINGS)
    stmt = scoped(select(CustomerServicePhone), CustomerServicePhone.operator_id, actor)
    if operator_id:
        stmt = stmt.where(CustomerServicePhone.operator_id == operator_id)
    return paginate(stmt.order_by(CustomerServicePhone.id), page, page_size)


@transactional
def create_phone(actor: Actor, data: dict[str, Any]) -> CustomerServicePhone:
    actor.require(SETTINGS)
    data = _validated(dict(data))
    owner = resolve_target_operator(actor, data.pop("operator_id", None))
    row = CustomerServicePhone(operator_id=owner, **{k: v for k, v in data.items() if k in FIELDS})
    db.session.add(row)
    db.session.flush()
    audit.record(
        actor, "customer_service_phone.create", "customer_service_phone", row.id,
        operator_id=owner, after=audit.snapshot(row, FIELDS),
    )  # fmt: skip
    return row


@transactional
def update_phone(actor: Actor, phone_id: int, data: dict[str, Any]) -> CustomerServicePhone:
    actor.require(SETTINGS)
    row = get_scoped(CustomerServicePhone, phone_id, actor, what="客服电话")
    data = _validated(dict(data))
    before = audit.snapshot(row, FIELDS)
    for key in FIELDS:
        if key in data:
            setattr(row, key, data[key])
    audit.record(
        actor, "customer_service_phone.update", "customer_service_phone", row.id,
        operator_id=row.operator_id, before=before, after=audit.snapshot(row, FIELDS),
    )  # fmt: skip
    return row


@transactional
def delete_phone(actor: Actor, phone_id: int) -> None:
    actor.require(SETTINGS)
    row = get_scoped(CustomerServicePhone, phone_id, actor, what="客服电话")
    audit.record(
        actor, "customer_service_phone.delete", "customer_service_phone", row.id,
        operator_id=row.operator_id, before=audit.snapshot(row, FIELDS),
    )  # fmt: skip
    db.session.delete(row)
