"""A member's wallet ledger exported to xlsx (issue 10): exactly the member page's ledger
(:func:`app.ledger.wallet.entry_filter`: member.read, the sub-operator's own members only),
each entry's amount and the balance after it in yuan, its kind in Chinese, what it refers
to, who made it and when (local); streamed, audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from sqlalchemy import func, select

from app.extensions import db
from app.ledger.models import WalletEntry
from app.ledger.wallet import entry_filter
from app.tenancy.exports import audited_export
from app.tenancy.models import AdminUser, Driver
from app.tenancy.scope import Actor
from app.xlsx_export import Column, Kind

BATCH = 1000

REASON_LABELS = {
    "topup": "微信充值",
    "charge": "充电扣费",
    "occupancy_fee": "占位费",
    "resettle": "重新结算",
    "correction": "订单更正",
    "arrears": "补扣欠款",
    "manual_credit": "手工充值",
    "manual_debit": "手工扣款",
    "refund": "余额退款",
    "refund_reversal": "退款失败退回",
}
REF_LABELS = {
    "order": "充电订单",
    "hlht_order": "互联互通订单",
    "payment": "充值单",
    "refund": "退款申请",
}
ACTOR_LABELS = {"system": "系统", "driver": "车主", "admin": "管理员"}


def _who(entry: WalletEntry, admins: dict[int, str]) -> str:
    if entry.actor_type == "admin" and entry.actor_id is not None:
        return admins.get(entry.actor_id, f"管理员 #{entry.actor_id}")
    return ACTOR_LABELS.get(entry.actor_type, entry.actor_type)


COLUMNS = [
    Column("时间", lambda r: r["entry"].created_at, Kind.TIME, 19),
    Column("类型", lambda r: REASON_LABELS.get(r["entry"].reason, r["entry"].reason), width=12),
    Column("金额(元)", lambda r: r["entry"].amount_fen, Kind.FEN, 10),
    Column("余额(元)", lambda r: r["entry"].balance_after_fen, Kind.FEN, 10),
    Column("关联类型", lambda r: REF_LABELS.get(r["entry"].ref_type, r["entry"].ref_type)),
    Column("关联编号", lambda r: r["entry"].ref_id, width=24),
    Column("操作人", lambda r: r["who"], width=12),
    Column("备注", lambda r: r["entry"].note, width=30),
]


def entry_rows(actor: Actor, driver_id: int) -> Iterator[dict[str, Any]]:
    """The member's ledger, newest first as on the member page, one batch in memory."""
    stmt = entry_filter(actor, driver_id).order_by(WalletEntry.id.desc())
    batch: list[WalletEntry] = []
    for entry in db.session.scalars(stmt.execution_options(yield_per=BATCH)):
        batch.append(entry)
        if len(batch) == BATCH:
            yield from _with_actors(batch)
            batch = []
    if batch:
        yield from _with_actors(batch)


def _with_actors(entries: list[WalletEntry]) -> Iterator[dict[str, Any]]:
    ids = {e.actor_id for e in entries if e.actor_type == "admin" and e.actor_id is not None}
    admins = {
        a.id: a.display_name or a.username
        for a in db.session.scalars(select(AdminUser).where(AdminUser.id.in_(ids)))
    }
    for entry in entries:
        yield {"entry": entry, "who": _who(entry, admins)}


def export_entries(actor: Actor, driver_id: int) -> tuple[IO[bytes], int]:
    """The xlsx of one member's ledger and its row count (EXPORT_TOO_MANY_ROWS above the
    ceiling, before anything is written)."""
    stmt = entry_filter(actor, driver_id)
    driver = db.session.get(Driver, driver_id)
    phone = driver.phone if driver is not None else ""
    return audited_export(
        actor, sheet="钱包流水", columns=COLUMNS, rows=entry_rows(actor, driver_id),
        matched=db.session.scalar(stmt.with_only_columns(func.count(WalletEntry.id))) or 0,
        action="wallet.export", target_type="driver", target_id=driver_id,
        filters={"driver_id": driver_id, "phone": phone},
    )  # fmt: skip
