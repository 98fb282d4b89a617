"""Console API: the audit log."""

from __future__ import annotations

from typing import Any

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.schemas import audit as s
from app.openapi import page_of
from app.paging import Page
from app.tenancy import audit

bp = blueprint("audit", "审计日志")


@bp.route("/audit-logs")
@bp.arguments(s.AuditQuery, location="query")
@bp.response(200, page_of(s.AuditOut, "AuditPage"))
def list_audit(args: dict[str, Any]) -> Page:
    """审计日志"""
    return audit.list_audit_logs(current_actor(), **args)
