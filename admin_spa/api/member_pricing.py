"""Console API: pricing groups, service-fee discounts, occupancy policies."""

from __future__ import annotations

from typing import Any

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.schemas import member_pricing as s
from app.billing import occupancy
from app.promotions import member_pricing

bp = blueprint("member_pricing", "会员价与占位费")


@bp.route("/pricing-groups")
@bp.response(200, s.PricingGroupList)
def list_groups() -> dict[str, Any]:
    """会员分组（网约车、出租车及运营商自建分组）"""
    return {"items": member_pricing.list_groups(current_actor())}


@bp.route("/pricing-groups", methods=["POST"])
@bp.arguments(s.PricingGroupIn)
@bp.response(201, s.PricingGroupOut)
def create_group(body: dict[str, Any]) -> Any:
    """新建会员分组"""
    return member_pricing.create_group(
        current_actor(), body["code"], body["name"], operator_id=body["operator_id"]
    )


@bp.route("/service-discounts")
@bp.arguments(s.DiscountQuery, location="query")
@bp.response(200, s.DiscountList)
def list_discounts(args: dict[str, Any]) -> dict[str, Any]:
    """会员服务费折扣"""
    return {"items": member_pricing.list_discounts(current_actor(), **args)}


@bp.route("/service-discounts", methods=["PUT"])
@bp.arguments(s.DiscountIn)
@bp.response(200, s.DiscountOut)
def set_discount(body: dict[str, Any]) -> Any:
    """设置分组在运营商（或某站点）的服务费支付比例（七折 = 0.7，记审计）"""
    return member_pricing.set_discount(current_actor(), **body)


@bp.route("/service-discounts/<int:discount_id>", methods=["DELETE"])
@bp.arguments(s.ReasonQuery, location="query")
@bp.response(204)
def remove_discount(args: dict[str, Any], discount_id: int) -> None:
    """取消折扣（记审计）"""
    member_pricing.remove_discount(current_actor(), discount_id, reason=args["reason"])


@bp.route("/stations/<int:station_id>/occupancy-policy")
@bp.response(200, s.OccupancyPolicyOut)
def get_policy(station_id: int) -> Any:
    """站点占位费规则（is_active=false 表示不收占位费）"""
    policy = occupancy.get_policy(current_actor(), station_id)
    return policy or {"station_id": station_id, "is_active": False}


@bp.route("/stations/<int:station_id>/occupancy-policy", methods=["PUT"])
@bp.arguments(s.OccupancyPolicyIn)
@bp.response(200, s.OccupancyPolicyOut)
def set_policy(body: dict[str, Any], station_id: int) -> Any:
    """设置站点占位费：免费分钟、每分钟单价、单笔封顶（记审计）"""
    return occupancy.set_policy(current_actor(), station_id, **body)


@bp.route("/stations/<int:station_id>/occupancy-policy", methods=["DELETE"])
@bp.arguments(s.ReasonQuery, location="query")
@bp.response(204)
def remove_policy(args: dict[str, Any], station_id: int) -> None:
    """取消站点占位费（记审计）"""
    occupancy.remove_policy(current_actor(), station_id, reason=args["reason"])
