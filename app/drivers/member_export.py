"""The members list exported to xlsx (issue 10): exactly the list's filters, scope and
permission (:func:`app.drivers.members.member_filter`), each member with its sub-operator,
pricing group, wallet balance in yuan, registration time (local), latest certification
state and whether it is disabled; streamed ``BATCH`` members at a time, audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from sqlalchemy import func, or_, select

from app.drivers.members import member_filter
from app.drivers.models import CertificationApplication, CertificationState
from app.extensions import db
from app.ledger.models import Wallet
from app.promotions.models import BUILTIN_PRICING_GROUPS, PricingGroup
from app.tenancy.exports import audited_export
from app.tenancy.models import Driver, Operator
from app.tenancy.scope import Actor
from app.xlsx_export import Column, Kind

BATCH = 1000

CERTIFICATION_LABELS = {
    CertificationState.PENDING: "待审核",
    CertificationState.APPROVED: "已认证",
    CertificationState.REJECTED: "已驳回",
    CertificationState.REVOKED: "已撤销",
}
NOT_APPLIED = "未申请"

COLUMNS = [
    Column("手机号", lambda r: r["phone"], width=13),
    Column("昵称", lambda r: r["nickname"], width=16),
    Column("子运营商", lambda r: r["operator_name"], width=16),
    Column("会员分组", lambda r: r["pricing_group"], width=10),
    Column("钱包余额(元)", lambda r: r["balance_fen"], Kind.FEN, 12),
    Column("注册时间", lambda r: r["created_at"], Kind.TIME, 19),
    Column("认证状态", lambda r: r["certification"], width=10),
    Column("已停用", lambda r: "是" if r["disabled"] else "否", width=7),
]


def _group_names(actor: Actor) -> dict[tuple[int | None, str], str]:
    stmt = select(PricingGroup.operator_id, PricingGroup.code, PricingGroup.name)
    if not actor.is_platform:
        stmt = stmt.where(
            or_(PricingGroup.operator_id.is_(None), PricingGroup.operator_id == actor.operator_id)
        )
    return {(op, code): name for op, code, name in db.session.execute(stmt)}


def member_rows(actor: Actor, **filters: Any) -> Iterator[dict[str, Any]]:
    """The members the list finds with these filters, newest first, one batch at a time."""
    latest = (
        select(func.max(CertificationApplication.id).label("id"))
        .group_by(CertificationApplication.driver_id)
        .subquery()
    )
    cert = (
        select(CertificationApplication.driver_id, CertificationApplication.state)
        .where(CertificationApplication.id.in_(select(latest.c.id)))
        .subquery()
    )
    base = member_filter(actor, **filters).subquery()
    stmt = (
        select(
            base.c.operator_id,
            base.c.phone,
            base.c.nickname,
            base.c.pricing_group,
            base.c.created_at,
            base.c.disabled_at,
            Operator.name,
            Wallet.balance_fen,
            cert.c.state,
        )
        .join(Operator, Operator.id == base.c.operator_id)
        .outerjoin(Wallet, Wallet.driver_id == base.c.id)
        .outerjoin(cert, cert.c.driver_id == base.c.id)
        .order_by(base.c.id.desc())
    )
    groups = _group_names(actor)
    for row in db.session.execute(stmt.execution_options(yield_per=BATCH)):
        code = row.pricing_group
        group = (
            groups.get((row.operator_id, code))
            or groups.get((None, code))
            or ("普通" if code == "none" else BUILTIN_PRICING_GROUPS.get(code, code))
        )
        yield {
            "phone": row.phone,
            "nickname": row.nickname,
            "operator_name": row.name,
            "pricing_group": group,
            "balance_fen": row.balance_fen or 0,
            "created_at": row.created_at,
            "certification": CERTIFICATION_LABELS.get(row.state, row.state or NOT_APPLIED),
            "disabled": row.disabled_at is not None,
        }


def export_members(actor: Actor, **filters: Any) -> tuple[IO[bytes], int]:
    """The xlsx of the members list and its row count (EXPORT_TOO_MANY_ROWS above the
    ceiling, before anything is written)."""
    count_stmt = member_filter(actor, **filters).with_only_columns(func.count(Driver.id))
    return audited_export(
        actor, sheet="会员", columns=COLUMNS, rows=member_rows(actor, **filters),
        matched=db.session.scalar(count_stmt) or 0, action="member.export",
        target_type="driver", filters=filters,
    )  # fmt: skip
