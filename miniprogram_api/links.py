"""Drivers' API: the official-account menu's links into the mini-program (case #3)."""

from __future__ import annotations

from typing import Any

from app.drivers import deep_links
from miniprogram_api.blueprints import blueprint
from miniprogram_api.schemas import links as s

bp = blueprint("links", "公众号菜单与外部链接（case #3）")


@bp.route("/deep-links")
@bp.public
@bp.arguments(s.MpDeepLinkQuery, location="query")
@bp.response(200, s.MpDeepLinksOut)
def links(args: dict[str, Any]) -> dict[str, Any]:
    """电站列表、电站详情、扫码页、充电订单的固定链接（H5 页面）与小程序路径（无需登录）"""
    app_id = deep_links.app_id_for(args.get("app_id"))
    return {
        "mini_program_app_id": app_id,
        "items": deep_links.links(args.get("station_id"), args.get("order_no")),
        "menu": deep_links.menu_json(app_id) if app_id else None,
    }
