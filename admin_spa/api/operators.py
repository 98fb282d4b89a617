"""Console API: operators (the platform and its sub-operators)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.schemas import operators as s
from app.openapi import page_of
from app.paging import Page
from app.payments import merchants
from app.tenancy import operators

bp = blueprint("operators", "运营商（平台与子运营商）")


@bp.route("/operators")
class OperatorList(MethodView):
    @bp.arguments(s.OperatorQuery, location="query")
    @bp.response(200, page_of(s.OperatorOut, "OperatorPage"))
    def get(self, args: dict[str, Any]) -> Page:
        """运营商列表"""
        return operators.list_operators(current_actor(), **args)

    @bp.arguments(s.OperatorIn)
    @bp.response(201, s.OperatorOut)
    def post(self, body: dict[str, Any]) -> Any:
        """创建子运营商（仅平台）"""
        return merchants.save_operator(current_actor(), None, body)


@bp.route("/operators/<int:operator_id>")
class OperatorItem(MethodView):
    @bp.response(200, s.OperatorOut)
    def get(self, operator_id: int) -> Any:
        """运营商详情（不含任何密钥）"""
        return operators.get_operator(current_actor(), operator_id)

    @bp.arguments(s.OperatorPatch)
    @bp.response(200, s.OperatorOut)
    def patch(self, body: dict[str, Any], operator_id: int) -> Any:
        """修改运营商（品牌、联系人、微信配置）"""
        return merchants.save_operator(current_actor(), operator_id, body)


@bp.route("/operators/<int:operator_id>/wechat-pay/platform-keys", methods=["POST"])
@bp.response(200, s.WeChatAnswerOut)
def refresh_platform_keys(operator_id: int) -> Any:
    """下载微信支付平台证书（GET /v3/certificates），并报告微信的应答"""
    op = operators.get_operator(current_actor(), operator_id)
    current_actor().require("operator.write")
    return merchants.refresh_platform_certificates(op.id)


@bp.route("/operators/<int:operator_id>/wechat-pay/test", methods=["POST"])
@bp.response(200, s.WeChatAnswerOut)
def test_wechat_pay(operator_id: int) -> Any:
    """测试微信支付：发出一个签名请求并报告微信的应答"""
    op = operators.get_operator(current_actor(), operator_id)
    return merchants.test_merchant(op.id)
