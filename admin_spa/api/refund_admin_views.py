"""Admin API for refund review: list, detail, approve, reject (scoped to the sub-operator).

Each refund shows whether the merchants that took the money can refund it, before anyone
approves (case #22); approval without them is refused and marks nothing.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate

from admin_spa.api.auth import authenticate, current_actor
from admin_spa.api.schemas import PageQuery, page_of
from app.paging import Page
from app.payments import refunds
from app.payments.models import RefundState

PREFIX = "/api/admin/v1"
SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]
ID = "int(max=2147483647)"
PRINTABLE = validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="不能包含控制字符")


class RefundQuery(PageQuery):
    state = fields.String(validate=validate.OneOf(tuple(RefundState)))
    driver_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    operator_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class RefundPartAdminOut(ma.Schema):
    id = fields.Integer()
    out_refund_no = fields.String()
    amount_fen = fields.Integer()
    state = fields.String()
    wechat_refund_id = fields.String(allow_none=True)
    wechat_status = fields.String()
    fail_reason = fields.String(metadata={"description": "微信支付给出的失败原因"})
    attempts = fields.Integer()
    payment_out_trade_no = fields.Function(lambda p: p.payment.out_trade_no)
    payment_amount_fen = fields.Function(lambda p: p.payment.amount_fen)
    payment_operator_id = fields.Function(lambda p: p.payment.operator_id)
    paid_at = fields.Function(
        lambda p: p.payment.paid_at.isoformat() if p.payment.paid_at else None
    )
    finished_at = fields.DateTime(allow_none=True)


class MerchantBlockerOut(ma.Schema):
    operator_id = fields.Integer()
    operator = fields.String()


class RefundAdminOut(ma.Schema):
    id = fields.Integer()
    operator_id = fields.Integer()
    driver_id = fields.Integer()
    amount_fen = fields.Integer()
    reason = fields.String()
    state = fields.String()
    reject_reason = fields.String()
    fail_reason = fields.String()
    succeeded_fen = fields.Integer()
    reviewed_by_id = fields.Integer(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    parts = fields.List(fields.Nested(RefundPartAdminOut))
    merchant_blockers = fields.Function(
        lambda r: (
            MerchantBlockerOut(many=True).dump(refunds.merchant_blockers(r))
            if r.state == "pending_review"
            else []
        ),
        metadata={"description": "未配置微信支付商户的收款运营商：非空时无法通过（case #22）"},
    )


class RefundRejectIn(ma.Schema):
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=200), PRINTABLE])


refunds_bp = Blueprint(
    "admin_refunds", __name__, url_prefix=PREFIX, description="余额退款审核（微信原路退回）"
)
refunds_bp.before_request(authenticate)


@refunds_bp.route("/refunds")
@refunds_bp.arguments(RefundQuery, location="query")
@refunds_bp.response(200, page_of(RefundAdminOut, "RefundPage"))
@refunds_bp.doc(security=SECURITY)
def list_refunds(args: dict[str, Any]) -> Page:
    """退款申请列表（按子运营商隔离）"""
    return refunds.list_requests(current_actor(), **args)


@refunds_bp.route(f"/refunds/<{ID}:refund_id>")
@refunds_bp.response(200, RefundAdminOut)
@refunds_bp.doc(security=SECURITY)
def get_refund(refund_id: int) -> Any:
    """退款申请详情（含各笔充值的退款状态与微信失败原因）"""
    return refunds.get_request(current_actor(), refund_id)


@refunds_bp.route(f"/refunds/<{ID}:refund_id>/approve", methods=["POST"])
@refunds_bp.response(200, RefundAdminOut)
@refunds_bp.doc(security=SECURITY)
def approve_refund(refund_id: int) -> Any:
    """通过：扣减余额并向微信支付发起退款（收款运营商须已配置商户证书）"""
    return refunds.approve(current_actor(), refund_id)


@refunds_bp.route(f"/refunds/<{ID}:refund_id>/reject", methods=["POST"])
@refunds_bp.arguments(RefundRejectIn)
@refunds_bp.response(200, RefundAdminOut)
@refunds_bp.doc(security=SECURITY)
def reject_refund(body: dict[str, Any], refund_id: int) -> Any:
    """驳回（须填原因）"""
    return refunds.reject(current_actor(), refund_id, body["reason"])


REFUND_ADMIN_BLUEPRINTS = (refunds_bp,)
