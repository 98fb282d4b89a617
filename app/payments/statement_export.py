"""The xlsx of one statement run's mismatches (财务对账 → 导出差异), through the audited
export like every other list export: who exported which run and how many rows is kept in
the audit log."""

from __future__ import annotations

from typing import IO

from app.payments import statements
from app.payments.models import MismatchKind, StatementMismatch
from app.tenancy.exports import audited_export
from app.tenancy.scope import Actor
from app.xlsx_export import Column, Kind

KIND_LABELS: dict[str, str] = {
    MismatchKind.MISSING_OURS: "我方缺单",
    MismatchKind.MISSING_WECHAT: "微信缺单",
    MismatchKind.AMOUNT_DIFFERS: "金额不一致",
    MismatchKind.STATE_DIFFERS: "状态不一致",
    MismatchKind.FUND_MISSING_OURS: "资金账单：我方缺单",
    MismatchKind.FUND_MISSING_WECHAT: "资金账单：微信无资金变动",
    MismatchKind.FUND_AMOUNT_DIFFERS: "资金账单：金额不一致",
    MismatchKind.FUND_STATE_DIFFERS: "资金账单：状态不一致",
}

COLUMNS = [
    Column("差异类型", lambda m: KIND_LABELS.get(m.kind, m.kind), width=22),
    Column("商户订单号", lambda m: m.out_trade_no, width=34),
    Column("商户退款单号", lambda m: m.out_refund_no, width=34),
    Column("我方金额(元)", lambda m: m.our_fen, Kind.FEN),
    Column("微信金额(元)", lambda m: m.wechat_fen, Kind.FEN),
    Column("说明", lambda m: m.note, width=40),
]


def export_mismatches(actor: Actor, run_id: int) -> tuple[IO[bytes], int, str]:
    """The xlsx of a run's mismatches, its row count and the run's bill day (ISO)."""
    run = statements.get_run(actor, run_id)
    rows: list[StatementMismatch] = list(run.mismatches)
    day = run.bill_date.isoformat()
    file, count = audited_export(
        actor, sheet="对账差异", columns=COLUMNS, rows=rows, matched=len(rows),
        action="statement.export", target_type="statement_run", target_id=run.id,
        filters={"run_id": run.id, "bill_date": day, "operator_id": run.operator_id},
    )  # fmt: skip
    return file, count, day
