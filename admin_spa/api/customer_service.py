"""Console API: customer-service phones with their time windows (case #16)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.schemas import customer_service as s
from app.drivers import customer_service
from app.openapi import ID, page_of
from app.paging import Page

bp = blueprint("customer_service", "客服电话（分时段）")


@bp.route("/customer-service-phones")
class PhoneList(MethodView):
    @bp.arguments(s.CustomerServiceQuery, location="query")
    @bp.response(200, page_of(s.CustomerServicePhoneOut, "CustomerServicePhonePage"))
    def get(self, args: dict[str, Any]) -> Page:
        """客服电话列表"""
        return customer_service.list_phones(current_actor(), **args)

    @bp.arguments(s.CustomerServicePhoneIn)
    @bp.response(201, s.CustomerServicePhoneOut)
    def post(self, body: dict[str, Any]) -> Any:
        """新增客服电话（如夜间 21:00-09:00）"""
        return customer_service.create_phone(current_actor(), body)


@bp.route(f"/customer-service-phones/<{ID}:phone_id>")
class PhoneItem(MethodView):
    @bp.arguments(s.CustomerServicePhonePatch)
    @bp.response(200, s.CustomerServicePhoneOut)
    def patch(self, body: dict[str, Any], phone_id: int) -> Any:
        """修改客服电话"""
        return customer_service.update_phone(current_actor(), phone_id, body)

    @bp.response(204)
    def delete(self, phone_id: int) -> None:
        """删除客服电话"""
        customer_service.delete_phone(current_actor(), phone_id)
