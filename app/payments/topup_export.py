"""财务 → 充值记录 exported to xlsx (issue 10): exactly the list's filters, scope and
permission (:func:`app.payments.topup_list.topup_filter`), each top-up with its driver,
sub-operator, merchant, WeChat's transaction id, its amount and what was refunded of it in
yuan, its state in Chinese and its times in the platform's zone (a top-up has no station);
streamed ``BATCH`` top-ups at a time, audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from sqlalchemy import func

from app.extensions import db
from app.payments.models import TopUpPayment, TopUpState
from app.payments.topup_list import newest_first, topup_filter, with_names
from app.tenancy.exports import audited_export, in_batches
from app.tenancy.scope import Actor
from app.xlsx_export import Column, Kind

STATE_LABELS = {
    TopUpState.CREATED: "待支付",
    TopUpState.PAID: "已支付",
    TopUpState.CLOSED: "已关闭",
}

COLUMNS = [
    Column("充值单号", lambda r: r["out_trade_no"], width=24),
    Column("微信支付单号", lambda r: r["transaction_id"], width=30),
    Column("会员手机号", lambda r: r["driver_phone"], width=13),
    Column("子运营商", lambda r: r["operator_name"], width=16),
    Column("商户号", lambda r: r["mch_id"], width=12),
    Column("充值金额(元)", lambda r: r["amount_fen"], Kind.FEN, 12),
    Column("已退款(元)", lambda r: r["refunded_fen"], Kind.FEN, 11),
    Column("状态", lambda r: STATE_LABELS.get(r["state"], r["state"]), width=8),
    Column("充值活动", lambda r: r["offer_name"], width=18),
    Column("下单时间", lambda r: r["created_at"], Kind.TIME, 19),
    Column("支付时间", lambda r: r["paid_at"], Kind.TIME, 19),
    Column("关闭时间", lambda r: r["closed_at"], Kind.TIME, 19),
]


def topup_rows(actor: Actor, **filters: Any) -> Iterator[dict[str, Any]]:
    """The top-ups the list finds with these filters, newest first, one batch in memory."""
    stmt = newest_first(topup_filter(actor, **filters))
    return in_batches(lambda n: db.session.scalars(stmt.execution_options(yield_per=n)), with_names)


def export_topups(actor: Actor, **filters: Any) -> tuple[IO[bytes], int]:
    """The xlsx of the top-up list and its row count (EXPORT_TOO_MANY_ROWS above the
    ceiling, before anything is written)."""
    count_stmt = topup_filter(actor, **filters).with_only_columns(func.count(TopUpPayment.id))
    return audited_export(
        actor, sheet="充值记录", columns=COLUMNS, rows=topup_rows(actor, **filters),
        matched=db.session.scalar(count_stmt) or 0, action="topup.export",
        target_type="topup_payment", filters=filters,
    )  # fmt: skip
