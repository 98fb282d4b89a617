"""Audit trail: every admin action that changes money, permissions, prices or an order."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.paging import Page, paginate
from app.tenancy.models import AuditLog
from app.tenancy.scope import Actor, scoped


def snapshot(obj: Any, fields: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """A JSON-safe picture of some attributes, for the before/after columns."""
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, datetime | date):
            value = value.isoformat()
        out[name] = value
    return out


def record(
    actor: Actor,
    action: str,
    target_type: str,
    target_id: Any,
    *,
    operator_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditLog:
    """Add an audit row to the current transaction (the caller commits)."""
    row = AuditLog(
        actor_type="admin" if actor.admin_id else "system",
        actor_id=actor.admin_id,
        actor_name=actor.name,
        operator_id=operator_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        before=before,
        after=after,
        reason=reason,
    )
    db.session.add(row)
    return row


def record_driver(
    driver_id: int,
    action: str,
    target_type: str,
    target_id: Any,
    *,
    operator_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditLog:
    """An audit row for a driver's own action in the drivers' API (actor_type ``driver``;
    ``actor_id`` names admins only, so the driver is in ``actor_name``)."""
    row = AuditLog(
        actor_type="driver",
        actor_id=None,
        actor_name=f"司机 #{driver_id}",
        operator_id=operator_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        before=before,
        after=after,
        reason=reason,
    )
    db.session.add(row)
    return row


def list_audit_logs(
    actor: Actor,
    *,
    page: int = 1,
    page_size: int = 20,
    target_type: str | None = None,
    target_id: str | None = None,
    action: str | None = None,
) -> Page:
    actor.require("audit.read")
    stmt = scoped(select(AuditLog), AuditLog.operator_id, actor)
    if target_type:
        stmt = stmt.where(AuditLog.target_type == target_type)
    if target_id:
        stmt = stmt.where(AuditLog.target_id == target_id)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    return paginate(stmt.order_by(AuditLog.id.desc()), page, page_size)
