"""Console API: 设置 → 推广链接 (case #3)."""

from __future__ import annotations

from typing import Any

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.schemas import promotion_links as s
from app.drivers import promotion_links

bp = blueprint("promotion_links", "推广链接：固定链接、二维码与公众号菜单 JSON（case #3）")


@bp.route("/promotion-links")
@bp.arguments(s.PromotionLinkQuery, location="query")
@bp.response(200, s.OperatorLinksList)
def list_links(args: dict[str, Any]) -> dict[str, Any]:
    """每个子运营商的电站列表、扫码、电站详情链接（含二维码）与公众号菜单 JSON"""
    return {"items": promotion_links.operator_links(current_actor(), **args)}
