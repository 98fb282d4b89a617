"""Admin API for money: abnormal orders and corrections, coupons and top-up offers, member
pricing and occupancy policies. Load with a schema, call one service, dump."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from admin_spa.api import money_schemas as m
from admin_spa.api.auth import authenticate, current_actor
from app.billing import (
    abnormal_orders,
    corrections,
    occupancy,
)
from app.paging import Page
from app.promotions import coupons, member_pricing

PREFIX = "/api/admin/v1"
SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def _blueprint(name: str, description: str) -> Blueprint:
    bp = Blueprint(f"admin_{name}", __name__, url_prefix=PREFIX, description=description)
    bp.before_request(authenticate)
    return bp


# --- abnormal orders -----------------------------------------------------------------------

orders_bp = _blueprint("money_orders", "异常订单与账单更正")


@orders_bp.route("/abnormal-orders")
@orders_bp.arguments(m.AbnormalQuery, location="query")
@orders_bp.response(200, m.AbnormalPage)
@orders_bp.doc(security=SECURITY)
def list_abnormal(args: dict[str, Any]) -> Page:
    """异常订单（预估结算、金额不符、离线、启动失败、未知会话、迟到记录、欠费……）"""
    return abnormal_orders.list_abnormal_orders(current_actor(), **args)


@orders_bp.route("/orders/<int:order_id>/bill")
@orders_bp.response(200, m.OrderMoneyOut)
@orders_bp.doc(security=SECURITY)
def order_bill(order_id: int) -> dict[str, Any]:
    """订单账单：分时明细、调整记录、占位费、异常原因"""
    return abnormal_orders.order_money(current_actor(), order_id)


@orders_bp.route("/orders/<int:order_id>/corrections", methods=["POST"])
@orders_bp.arguments(m.CorrectionIn)
@orders_bp.response(201, m.CorrectionOut)
@orders_bp.doc(security=SECURITY)
def correct_order(body: dict[str, Any], order_id: int) -> Any:
    """更正订单结束时间或电量：重算账单，差额退回钱包，记审计"""
    return corrections.correct_order(current_actor(), order_id, **body)


# --- coupons ---------------------------------------------------------------------------------

coupons_bp = _blueprint("coupons", "优惠券与充值赠券")


@coupons_bp.route("/coupon-templates")
@coupons_bp.arguments(m.PageQuery, location="query")
@coupons_bp.response(200, m.CouponTemplatePage)
@coupons_bp.doc(security=SECURITY)
def list_templates(args: dict[str, Any]) -> Page:
    """优惠券模板"""
    return coupons.list_templates(current_actor(), **args)


@coupons_bp.route("/coupon-templates", methods=["POST"])
@coupons_bp.arguments(m.CouponTemplateIn)
@coupons_bp.response(201, m.CouponTemplateOut)
@coupons_bp.doc(security=SECURITY)
def create_template(body: dict[str, Any]) -> Any:
    """新建优惠券模板（满减、固定金额、折扣封顶、仅抵服务费）"""
    return coupons.create_template(current_actor(), body)


@coupons_bp.route("/coupon-templates/<int:template_id>/active", methods=["PUT"])
@coupons_bp.arguments(m.ActiveIn)
@coupons_bp.response(200, m.CouponTemplateOut)
@coupons_bp.doc(security=SECURITY)
def set_template_active(body: dict[str, Any], template_id: int) -> Any:
    """启用 / 停用模板"""
    return coupons.set_template_active(current_actor(), template_id, body["is_active"])


@coupons_bp.route("/members/<int:driver_id>/coupons")
@coupons_bp.arguments(m.CouponStatusQuery, location="query")
@coupons_bp.response(200, m.CouponList)
@coupons_bp.doc(security=SECURITY)
def member_coupons(args: dict[str, Any], driver_id: int) -> dict[str, Any]:
    """会员的优惠券（有效期精确到本地时间的秒）"""
    return {"items": coupons.list_member_coupons(current_actor(), driver_id, **args)}


@coupons_bp.route("/members/<int:driver_id>/coupons", methods=["POST"])
@coupons_bp.arguments(m.GrantIn)
@coupons_bp.response(201, m.CouponList)
@coupons_bp.doc(security=SECURITY)
def grant_coupons(body: dict[str, Any], driver_id: int) -> dict[str, Any]:
    """向会员发放优惠券（须填原因，记审计）"""
    granted = coupons.grant(
        current_actor(), body["template_id"], driver_id, quantity=body["quantity"],
        reason=body["reason"],
    )  # fmt: skip
    return {"items": [coupons.view(c) for c in granted]}


@coupons_bp.route("/coupons/<int:coupon_id>/revoke", methods=["POST"])
@coupons_bp.arguments(m.ReasonIn)
@coupons_bp.response(200, m.CouponOut)
@coupons_bp.doc(security=SECURITY)
def revoke_coupon(body: dict[str, Any], coupon_id: int) -> Any:
    """撤回未使用的优惠券（记审计）"""
    return coupons.view(coupons.revoke_coupon(current_actor(), coupon_id, reason=body["reason"]))


@coupons_bp.route("/topup-offers")
@coupons_bp.response(200, m.OfferList)
@coupons_bp.doc(security=SECURITY)
def list_offers() -> dict[str, Any]:
    """充值赠券活动（张数与总额）"""
    return {"items": coupons.list_offer_summaries(current_actor())}


@coupons_bp.route("/topup-offers", methods=["POST"])
@coupons_bp.arguments(m.OfferIn)
@coupons_bp.response(201, m.OfferOut)
@coupons_bp.doc(security=SECURITY)
def create_offer(body: dict[str, Any]) -> Any:
    """新建充值赠券活动"""
    return coupons.offer_summary(coupons.create_offer(current_actor(), body))


# --- member pricing and occupancy ----------------------------------------------------------

pricing_bp = _blueprint("member_pricing", "会员价与占位费")


@pricing_bp.route("/pricing-groups")
@pricing_bp.response(200, m.PricingGroupList)
@pricing_bp.doc(security=SECURITY)
def list_groups() -> dict[str, Any]:
    """会员分组（网约车、出租车及运营商自建分组）"""
    return {"items": member_pricing.list_groups(current_actor())}


@pricing_bp.route("/pricing-groups", methods=["POST"])
@pricing_bp.arguments(m.PricingGroupIn)
@pricing_bp.response(201, m.PricingGroupOut)
@pricing_bp.doc(security=SECURITY)
def create_group(body: dict[str, Any]) -> Any:
    """新建会员分组"""
    return member_pricing.create_group(
        current_actor(), body["code"], body["name"], operator_id=body["operator_id"]
    )


@pricing_bp.route("/service-discounts")
@pricing_bp.arguments(m.DiscountQuery, location="query")
@pricing_bp.response(200, m.DiscountList)
@pricing_bp.doc(security=SECURITY)
def list_discounts(args: dict[str, Any]) -> dict[str, Any]:
    """会员服务费折扣"""
    return {"items": member_pricing.list_discounts(current_actor(), **args)}


@pricing_bp.route("/service-discounts", methods=["PUT"])
@pricing_bp.arguments(m.DiscountIn)
@pricing_bp.response(200, m.DiscountOut)
@pricing_bp.doc(security=SECURITY)
def set_discount(body: dict[str, Any]) -> Any:
    """设置分组在运营商（或某站点）的服务费支付比例（七折 = 0.7，记审计）"""
    return member_pricing.set_discount(current_actor(), **body)


@pricing_bp.route("/service-discounts/<int:discount_id>", methods=["DELETE"])
@pricing_bp.arguments(m.ReasonQuery, location="query")
@pricing_bp.response(204)
@pricing_bp.doc(security=SECURITY)
def remove_discount(args: dict[str, Any], discount_id: int) -> None:
    """取消折扣（记审计）"""
    member_pricing.remove_discount(current_actor(), discount_id, reason=args["reason"])


@pricing_bp.route("/stations/<int:station_id>/occupancy-policy")
@pricing_bp.response(200, m.OccupancyPolicyOut)
@pricing_bp.doc(security=SECURITY)
def get_policy(station_id: int) -> Any:
    """站点占位费规则（is_active=false 表示不收占位费）"""
    policy = occupancy.get_policy(current_actor(), station_id)
    return policy or {"station_id": station_id, "is_active": False}


@pricing_bp.route("/stations/<int:station_id>/occupancy-policy", methods=["PUT"])
@pricing_bp.arguments(m.OccupancyPolicyIn)
@pricing_bp.response(200, m.OccupancyPolicyOut)
@pricing_bp.doc(security=SECURITY)
def set_policy(body: dict[str, Any], station_id: int) -> Any:
    """设置站点占位费：免费分钟、每分钟单价、单笔封顶（记审计）"""
    return occupancy.set_policy(current_actor(), station_id, **body)


@pricing_bp.route("/stations/<int:station_id>/occupancy-policy", methods=["DELETE"])
@pricing_bp.arguments(m.ReasonQuery, location="query")
@pricing_bp.response(204)
@pricing_bp.doc(security=SECURITY)
def remove_policy(args: dict[str, Any], station_id: int) -> None:
    """取消站点占位费（记审计）"""
    occupancy.remove_policy(current_actor(), station_id, reason=args["reason"])


MONEY_BLUEPRINTS = (orders_bp, coupons_bp, pricing_bp)
