"""WeChat Pay's notify URLs (payment and refund results).

They carry no driver token: WeChat's signature, checked with the merchant's keys in the
services, is their authentication.
"""

from __future__ import annotations

from flask import Response, request

from app.payments import refunds, topups
from app.wechat.notify import NotifyReply
from miniprogram_api.blueprints import blueprint

bp = blueprint("pay_notify", "微信支付回调（支付、退款结果）", public=True)


MCH = "<string(maxlength=32):mch_id>"


def _reply(reply: NotifyReply) -> Response:
    return Response(reply.json_bytes(), status=reply.status, content_type="application/json")


@bp.route(f"/pay/notify/{MCH}", methods=["POST"])
@bp.doc(responses={200: {"description": "已处理"}, 401: {"description": "验签失败"}})
def pay_notify(mch_id: str) -> Response:
    """微信支付结果通知（验签、解密、核对金额与商户，只入账一次）"""
    return _reply(topups.handle_pay_notify(mch_id, request.headers, request.get_data()))


@bp.route(f"/pay/refund-notify/{MCH}", methods=["POST"])
@bp.doc(responses={200: {"description": "已处理"}, 401: {"description": "验签失败"}})
def refund_notify(mch_id: str) -> Response:
    """微信退款结果通知"""
    return _reply(refunds.handle_refund_notify(mch_id, request.headers, request.get_data()))
