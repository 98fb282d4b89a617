"""The refund review list exported to xlsx (issue 10): exactly the list's filters, scope
and permission (:func:`app.payments.refunds.refund_filter`), one line per top-up a request
is paid back through (its amounts in yuan, WeChat's status and failure reason), the
request's state in Chinese, requested and decided at local time, and its reviewer; a
request without parts (rejected before splitting) is one line. Streamed, audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from sqlalchemy import func, select

from app.extensions import db
from app.payments.models import RefundPart, RefundPartState, RefundRequest, RefundState
from app.payments.refunds import refund_filter
from app.tenancy.exports import audited_export
from app.tenancy.models import AdminUser, Driver, Operator
from app.tenancy.scope import Actor
from app.xlsx_export import Column, Kind

BATCH = 500

STATE_LABELS = {
    RefundState.PENDING_REVIEW: "待审核",
    RefundState.APPROVED: "已通过",
    RefundState.PROCESSING: "退款中",
    RefundState.SUCCEEDED: "已退款",
    RefundState.FAILED: "退款失败",
    RefundState.REJECTED: "已驳回",
}
PART_STATE_LABELS = {
    RefundPartState.PENDING: "待审核",
    RefundPartState.PROCESSING: "退款中",
    RefundPartState.SUCCEEDED: "已退回",
    RefundPartState.FAILED: "失败",
    RefundPartState.REJECTED: "已驳回",
}


def _part(name: str) -> Any:
    return lambda r: None if r["part"] is None else getattr(r["part"], name)


def _part_state(row: dict[str, Any]) -> str | None:
    part = row["part"]
    return None if part is None else PART_STATE_LABELS.get(part.state, part.state)


def _fail_reason(row: dict[str, Any]) -> str:
    """The top-up's own failure (WeChat's reason); a request without parts, its own."""
    part = row["part"]
    return row["request"].fail_reason if part is None else part.fail_reason


COLUMNS = [
    Column("申请编号", lambda r: r["request"].id, Kind.INT, 10),
    Column("会员手机号", lambda r: r["phone"], width=13),
    Column("子运营商", lambda r: r["operator_name"], width=16),
    Column("申请金额(元)", lambda r: r["request"].amount_fen, Kind.FEN, 12),
    Column("状态", lambda r: STATE_LABELS.get(r["request"].state, r["request"].state), width=10),
    Column("充值单号", lambda r: r["part"] and r["part"].payment.out_trade_no, width=24),
    Column("充值金额(元)", lambda r: r["part"] and r["part"].payment.amount_fen, Kind.FEN, 12),
    Column("钱包扣回(元)", _part("amount_fen"), Kind.FEN, 12),
    Column("优惠券扣除(元)", _part("coupon_deduction_fen"), Kind.FEN, 13),
    Column("原路退回(元)", _part("refund_fen"), Kind.FEN, 12),
    Column("本笔状态", lambda r: _part_state(r)),
    Column("微信退款状态", _part("wechat_status"), width=12),
    Column("失败原因", lambda r: _fail_reason(r), width=30),
    Column("申请时间", lambda r: r["request"].created_at, Kind.TIME, 19),
    Column("审核时间", lambda r: r["request"].reviewed_at, Kind.TIME, 19),
    Column("审核人", lambda r: r["reviewer"], width=12),
    Column("驳回原因", lambda r: r["request"].reject_reason, width=24),
]  # fmt: skip


def refund_rows(actor: Actor, **filters: Any) -> Iterator[dict[str, Any]]:
    """The requests the list finds, newest first, a line per part; one batch in memory."""
    stmt = refund_filter(actor, **filters).order_by(RefundRequest.id.desc())
    batch: list[RefundRequest] = []
    for request in db.session.scalars(stmt.execution_options(yield_per=BATCH)):
        batch.append(request)
        if len(batch) == BATCH:
            yield from _lines(batch)
            batch = []
    if batch:
        yield from _lines(batch)


def _names(key: Any, value: Any, ids: set[int]) -> dict[int, str]:
    return {k: v for k, v in db.session.execute(select(key, value).where(key.in_(ids)))}


def _lines(requests: list[RefundRequest]) -> Iterator[dict[str, Any]]:
    phones = _names(Driver.id, Driver.phone, {r.driver_id for r in requests})
    operators = _names(Operator.id, Operator.name, {r.operator_id for r in requests})
    reviewer_ids = {r.reviewed_by_id for r in requests if r.reviewed_by_id}
    reviewers = {
        a.id: a.display_name or a.username
        for a in db.session.scalars(select(AdminUser).where(AdminUser.id.in_(reviewer_ids)))
    }
    for request in requests:
        common = {
            "request": request,
            "phone": phones.get(request.driver_id, ""),
            "operator_name": operators.get(request.operator_id, ""),
            "reviewer": reviewers.get(request.reviewed_by_id or 0, ""),
        }
        parts: list[RefundPart | None] = list(request.parts) or [None]
        for part in parts:
            yield {**common, "part": part}


def export_refunds(actor: Actor, **filters: Any) -> tuple[IO[bytes], int]:
    """The xlsx of the refund review list and its line count (EXPORT_TOO_MANY_ROWS above
    the ceiling of requests, before anything is written)."""
    count_stmt = refund_filter(actor, **filters).with_only_columns(func.count(RefundRequest.id))
    return audited_export(
        actor, sheet="退款申请", columns=COLUMNS, rows=refund_rows(actor, **filters),
        matched=db.session.scalar(count_stmt) or 0, action="refund.export",
        target_type="refund_request", filters=filters,
    )  # fmt: skip
