"""Console API: the overview (概览), scoped to the admin's sub-operator."""

from __future__ import annotations

from typing import Any

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.schemas import dashboard as s
from app.payments import dashboard

bp = blueprint("dashboard", "概览")


@bp.route("/dashboard")
@bp.arguments(s.DashboardQuery, location="query")
@bp.response(200, s.DashboardOut)
def overview(args: dict[str, Any]) -> dashboard.Dashboard:
    """概览：今日与本月订单、电量、金额、服务费、退款；桩在线/离线/故障；30 天趋势；站点收入前十"""
    return dashboard.overview(current_actor(), tz=args["timezone"])
