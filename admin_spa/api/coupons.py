"""Console API: coupon templates, members' coupons, top-up offers."""

from __future__ import annotations

from typing import Any

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.schemas import coupons as s
from admin_spa.api.schemas.common import PageQuery
from app.billing import coupon_history
from app.openapi import page_of
from app.paging import Page
from app.promotions import coupons

bp = blueprint("coupons", "优惠券与充值赠券")


@bp.route("/coupon-templates")
@bp.arguments(PageQuery, location="query")
@bp.response(200, s.CouponTemplatePage)
def list_templates(args: dict[str, Any]) -> Page:
    """优惠券模板"""
    return coupons.list_templates(current_actor(), **args)


@bp.route("/coupon-templates", methods=["POST"])
@bp.arguments(s.CouponTemplateIn)
@bp.response(201, s.CouponTemplateOut)
def create_template(body: dict[str, Any]) -> Any:
    """新建优惠券模板（满减、固定金额、折扣封顶、仅抵服务费）"""
    return coupons.create_template(current_actor(), body)


@bp.route("/coupon-templates/<int:template_id>/active", methods=["PUT"])
@bp.arguments(s.ActiveIn)
@bp.response(200, s.CouponTemplateOut)
def set_template_active(body: dict[str, Any], template_id: int) -> Any:
    """启用 / 停用模板"""
    return coupons.set_template_active(current_actor(), template_id, body["is_active"])


@bp.route("/coupon-templates/<int:template_id>/group-grants", methods=["POST"])
@bp.arguments(s.GroupGrantIn)
@bp.response(200, s.GroupGrantOut)
def grant_to_group(body: dict[str, Any], template_id: int) -> Any:
    """向一个会员分组的每位会员各发一张（须填原因，记审计；同一 request_id 重试不重复发放）"""
    return coupons.grant_to_group(
        current_actor(), template_id, body["group_code"], request_id=body["request_id"],
        reason=body["reason"],
    )  # fmt: skip


@bp.route("/coupon-templates/<int:template_id>/coupons")
@bp.arguments(s.CouponUsageQuery, location="query")
@bp.response(200, page_of(s.CouponUseOut, "CouponUsePage"))
def template_usage(args: dict[str, Any], template_id: int) -> Page:
    """模板的使用记录（case #6）：谁持有、用在哪个订单、何时、抵扣多少"""
    return coupon_history.template_usage(current_actor(), template_id, **args)


@bp.route("/members/<int:driver_id>/coupons")
@bp.arguments(s.CouponStatusQuery, location="query")
@bp.response(200, s.CouponList)
def member_coupons(args: dict[str, Any], driver_id: int) -> dict[str, Any]:
    """会员的优惠券（有效期精确到本地时间的秒）"""
    return {"items": coupons.list_member_coupons(current_actor(), driver_id, **args)}


@bp.route("/members/<int:driver_id>/coupons", methods=["POST"])
@bp.arguments(s.GrantIn)
@bp.response(201, s.CouponList)
def grant_coupons(body: dict[str, Any], driver_id: int) -> dict[str, Any]:
    """向会员发放优惠券（须填原因，记审计）"""
    granted = coupons.grant(
        current_actor(), body["template_id"], driver_id, quantity=body["quantity"],
        reason=body["reason"],
    )  # fmt: skip
    return {"items": [coupons.view(c) for c in granted]}


@bp.route("/coupons/<int:coupon_id>/revoke", methods=["POST"])
@bp.arguments(s.ReasonIn)
@bp.response(200, s.CouponOut)
def revoke_coupon(body: dict[str, Any], coupon_id: int) -> Any:
    """撤回未使用的优惠券（记审计）"""
    return coupons.view(coupons.revoke_coupon(current_actor(), coupon_id, reason=body["reason"]))


@bp.route("/topup-offers")
@bp.response(200, s.OfferList)
def list_offers() -> dict[str, Any]:
    """充值赠券活动（张数与总额）"""
    return {"items": coupons.list_offer_summaries(current_actor())}


@bp.route("/topup-offers", methods=["POST"])
@bp.arguments(s.OfferIn)
@bp.response(201, s.OfferOut)
def create_offer(body: dict[str, Any]) -> Any:
    """新建充值赠券活动"""
    return coupons.offer_summary(coupons.create_offer(current_actor(), body))


@bp.route("/topup-offers/<int:offer_id>/active", methods=["PUT"])
@bp.arguments(s.ActiveIn)
@bp.response(200, s.OfferOut)
def set_offer_active(body: dict[str, Any], offer_id: int) -> Any:
    """停用 / 启用充值赠券活动（已赠出的券照常可用，记审计）"""
    return coupons.offer_summary(
        coupons.set_offer_active(current_actor(), offer_id, body["is_active"])
    )
