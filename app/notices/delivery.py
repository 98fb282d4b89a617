"""Deliver the outbox as WeChat subscribe messages, with retries and a record of each try.

Only the outbox kinds are ever sent (``NOTIFICATION_KINDS``): there is none for a pile
that merely went offline (case #18 2019-01-09), and a message of any other kind is marked
failed unsent. Each kind has its template id per operator (its mini-program), else in the
settings (:mod:`app.notices.templates`), and its fields below (the template the operator
picks in the mini-program console must have these keywords); a kind with no template is
not sent and the message says why (``last_error``).
A retryable failure waits ``NOTIFY_BACKOFF_SECONDS`` × 2^(tries-1), at most an hour."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select

from app.config import setting
from app.db import utcnow
from app.extensions import db
from app.money import fen_to_yuan_str
from app.notices import templates
from app.notices.models import NOTIFICATION_KINDS, NotificationAttempt, OutboxMessage, OutboxStatus
from app.tenancy.models import Driver, Operator
from app.tenancy.wechat_accounts import endpoints, mini_program_of, token_store
from app.uow import discard, transactional, unit_of_work
from app.wechat import miniprogram
from app.wechat.errors import WeChatError

log = logging.getLogger(__name__)

BATCH = 200
DEFAULT_TIMEZONE = "Asia/Shanghai"


def _thing(value: Any, limit: int = 20) -> str:
    text = str(value or "-")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _yuan(fen: Any) -> str:
    return f"{fen_to_yuan_str(int(fen or 0))}元"


def _local(p: dict[str, Any], name: str) -> str:
    """A time of the payload as the driver reads it: local to the station, to the minute
    ("2026-12-03 14:17", not an ISO string in UTC)."""
    value = p.get(name)
    try:
        at = datetime.fromisoformat(str(value))
        zone = ZoneInfo(str(p.get("timezone") or DEFAULT_TIMEZONE))
    except (TypeError, ValueError, ZoneInfoNotFoundError):
        return _thing(value, 32)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _charge_started(p: dict[str, Any]) -> tuple[dict[str, str], str]:
    data = {
        "character_string1": _thing(p.get("order_no"), 32),
        "time2": _local(p, "started_at"),
        "thing3": "充电已开始",
    }
    return data, "pages/order/live"


def _charge_finished(p: dict[str, Any]) -> tuple[dict[str, str], str]:
    return {"character_string1": _thing(p.get("order_no"), 32),
            "number2": f"{p.get('energy_kwh', '0')}度", "amount3": _yuan(p.get("total_fen")),
            "thing4": "充电已结束，点击查看账单"}, "pages/order/detail"  # fmt: skip


def _occupancy(p: dict[str, Any]) -> tuple[dict[str, str], str]:
    return {"character_string1": _thing(p.get("order_no"), 32),
            "time2": _local(p, "free_until"),
            "thing3": "免费占位即将结束，请尽快挪车"}, "pages/order/detail"  # fmt: skip


def _coupon(p: dict[str, Any]) -> tuple[dict[str, str], str]:
    return {"number1": str(p.get("count", 1)),
            "time2": _thing(p.get("soonest_valid_until"), 32),
            "thing3": "优惠券即将过期，请尽快使用"}, "pages/coupons/index"  # fmt: skip


def _refund(p: dict[str, Any]) -> tuple[dict[str, str], str]:
    data = {
        "amount1": _yuan(p.get("amount_fen")),
        "phrase2": _thing(p.get("phrase") or ("退款成功" if p.get("ok") else "退款失败"), 5),
        "thing3": _thing(p.get("reason")),
    }
    return data, "pages/wallet/index"


RENDERERS: dict[str, Callable[[dict[str, Any]], tuple[dict[str, str], str]]] = {
    "charge_started": _charge_started,
    "charge_finished": _charge_finished,
    "occupancy_reminder": _occupancy,
    "coupon_expiring": _coupon,
    "refund_result": _refund,
}
assert set(RENDERERS) == set(NOTIFICATION_KINDS)


def template_id(kind: str, op: Operator | None = None) -> str:
    return templates.template_for(op, kind)


def backoff(attempts: int) -> timedelta:
    base = int(setting("NOTIFY_BACKOFF_SECONDS"))
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


def _pending() -> list[tuple[OutboxMessage, datetime | None]]:
    """Pending messages in the order they were written, with each one's last try."""
    last = (
        select(
            NotificationAttempt.message_id, func.max(NotificationAttempt.attempted_at).label("at")
        )
        .group_by(NotificationAttempt.message_id)
        .subquery()
    )
    rows = db.session.execute(
        select(OutboxMessage, last.c.at)
        .outerjoin(last, last.c.message_id == OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.PENDING)
        .order_by(OutboxMessage.id)
        .limit(BATCH)
    ).all()
    return [(m, at) for m, at in rows]


def deliver_pending(now: datetime | None = None) -> int:
    """The job: send due messages; commits per message; returns how many were sent.

    Per driver in the order the events happened (issue 14: "充电已开始" was delivered
    after "充电已结束"): a driver's message waits while an earlier one of theirs is still
    pending (waiting for its retry, or just failed to send)."""
    now = now or utcnow()
    sent = 0
    held: set[int] = set()
    for message, tried_at in _pending():
        driver = message.driver_id
        if driver is not None and driver in held:
            continue
        if tried_at is not None and tried_at + backoff(message.attempts) > now:
            if driver is not None:
                held.add(driver)
            continue
        try:
            sent += deliver_one(message, now)
        except Exception:
            discard()
            log.exception("notification %s delivery crashed", message.id)
        if driver is not None and message.status == OutboxStatus.PENDING:
            held.add(driver)
    return sent


def _attempt(message: OutboxMessage, now: datetime, *, ok: bool, template: str = "",
             errcode: int | None = None, error: str = "", msgid: str = "") -> None:  # fmt: skip
    db.session.add(
        NotificationAttempt(message_id=message.id, attempted_at=now, ok=ok, template_id=template,
                            errcode=errcode, error=error[:300], msgid=msgid)
    )  # fmt: skip
    message.attempts += 1
    message.last_error = "" if ok else error[:300]


@transactional
def _give_up(
    message: OutboxMessage, now: datetime, error: str, template: str = "", note: str = ""
) -> int:
    _attempt(message, now, ok=False, template=template, error=error)
    message.status = OutboxStatus.FAILED
    if note:
        message.last_error = f"{error}: {note}"[:300]
    return 0


def deliver_one(message: OutboxMessage, now: datetime) -> int:
    render = RENDERERS.get(message.kind)
    if render is None:
        return _give_up(message, now, f"UNKNOWN_KIND: {message.kind}")
    driver = db.session.get(Driver, message.driver_id) if message.driver_id else None
    op = db.session.get(Operator, driver.operator_id) if driver else None
    template = template_id(message.kind, op)
    if not template:
        # the operator (or the settings) turned this kind off: skipped, and it says so
        note = templates.not_configured_reason(message.kind)
        return _give_up(message, now, "TEMPLATE_NOT_CONFIGURED", note=note)
    if driver is None or op is None or not driver.openid:
        return _give_up(message, now, "NO_RECIPIENT", template)
    if not op.wechat_app_id or not op.wechat_app_secret:
        return _give_up(message, now, "MINIPROGRAM_NOT_CONFIGURED", template)
    data, page = render(dict(message.payload or {}))
    try:
        result = miniprogram.send_subscribe_message(
            mini_program_of(op), driver.openid, template, data, page,
            endpoints=endpoints(), store=token_store(),
        )  # fmt: skip
    except WeChatError as exc:
        with unit_of_work():
            _attempt(
                message, now, ok=False, template=template, errcode=exc.errcode, error=exc.errmsg
            )
            if not exc.retryable or message.attempts >= int(setting("NOTIFY_MAX_ATTEMPTS")):
                message.status = OutboxStatus.FAILED
        return 0
    msgid = "" if result.msgid is None else str(result.msgid)
    with unit_of_work():
        _attempt(message, now, ok=True, template=template, msgid=msgid)
        message.status, message.sent_at = OutboxStatus.SENT, now
    return 1
