"""Admin API for drivers' support: certification review (case #4 2019-10-09) and the
customer-service phones with their time windows (case #16). Thin views, as elsewhere."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from admin_spa.api.auth import authenticate, current_actor
from admin_spa.api.schemas import ClockField, PageQuery, page_of
from app.drivers import certification, customer_service
from app.drivers.models import CERTIFICATION_KINDS, CERTIFICATION_STATES
from app.paging import Page

PREFIX = "/api/admin/v1"
SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]
ID = "int(max=2147483647)"
# PostgreSQL refuses NUL in text: control characters are a 422, never a 500
PRINTABLE = validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="不能包含控制字符")


def _blueprint(name: str, description: str) -> Blueprint:
    bp = Blueprint(f"admin_{name}", __name__, url_prefix=PREFIX, description=description)
    bp.before_request(authenticate)
    return bp


# --- schemas -------------------------------------------------------------------------------


class CertificationQuery(PageQuery):
    state = fields.String(validate=validate.OneOf(CERTIFICATION_STATES))
    kind = fields.String(validate=validate.OneOf(CERTIFICATION_KINDS))
    driver_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    operator_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class CertificationFileAdminOut(ma.Schema):
    id = fields.Integer()
    role = fields.String()
    content_type = fields.String()
    size_bytes = fields.Integer()
    sha256 = fields.String()


class CertificationAdminOut(ma.Schema):
    id = fields.Integer()
    operator_id = fields.Integer()
    driver_id = fields.Integer()
    kind = fields.String()
    state = fields.String()
    reject_reason = fields.String()
    revoke_reason = fields.String()
    submitted_at = fields.DateTime()
    reviewed_at = fields.DateTime(allow_none=True)
    reviewed_by_id = fields.Integer(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    revoked_by_id = fields.Integer(allow_none=True)
    files = fields.List(fields.Nested(CertificationFileAdminOut))


class CertificationReasonIn(ma.Schema):
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=200), PRINTABLE])


class CustomerServicePhoneOut(ma.Schema):
    id = fields.Integer()
    operator_id = fields.Integer()
    label = fields.String()
    phone = fields.String()
    start = ClockField(attribute="start_minute")
    end = ClockField(attribute="end_minute")
    is_active = fields.Boolean()
    updated_at = fields.DateTime()


class CustomerServicePhoneIn(ma.Schema):
    operator_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    label = fields.String(load_default="客服电话", validate=[validate.Length(max=50), PRINTABLE])
    phone = fields.String(required=True, validate=validate.Length(min=3, max=30))
    start = ClockField(
        required=True, attribute="start_minute", metadata={"description": "HH:MM，当地时间"}
    )
    end = ClockField(
        required=True,
        attribute="end_minute",
        metadata={"description": "早于开始时间表示跨午夜（如 21:00-09:00）；相同表示全天"},
    )
    is_active = fields.Boolean(load_default=True)


class CustomerServicePhonePatch(ma.Schema):
    label = fields.String(validate=[validate.Length(max=50), PRINTABLE])
    phone = fields.String(validate=validate.Length(min=3, max=30))
    start = ClockField(attribute="start_minute")
    end = ClockField(attribute="end_minute")
    is_active = fields.Boolean()


class CustomerServiceQuery(PageQuery):
    operator_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


# --- certifications ----------------------------------------------------------------------------

certifications_bp = _blueprint("certifications", "司机认证审核（网约车/出租车）")


@certifications_bp.route("/certifications")
@certifications_bp.arguments(CertificationQuery, location="query")
@certifications_bp.response(200, page_of(CertificationAdminOut, "CertificationPage"))
@certifications_bp.doc(security=SECURITY)
def list_certifications(args: dict[str, Any]) -> Page:
    """认证申请列表（按子运营商隔离）"""
    return certification.list_applications(current_actor(), **args)


@certifications_bp.route(f"/certifications/<{ID}:application_id>")
@certifications_bp.response(200, CertificationAdminOut)
@certifications_bp.doc(security=SECURITY)
def get_certification(application_id: int) -> Any:
    """认证申请详情"""
    return certification.get_application(current_actor(), application_id)


@certifications_bp.route(f"/certifications/<{ID}:application_id>/files/<{ID}:file_id>")
@certifications_bp.response(200, content_type="image/*")
@certifications_bp.doc(security=SECURITY)
def certification_file(application_id: int, file_id: int) -> Response:
    """认证图片原件"""
    data, content_type = certification.file_content(current_actor(), application_id, file_id)
    resp = Response(data, content_type=content_type)
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@certifications_bp.route(f"/certifications/<{ID}:application_id>/approve", methods=["POST"])
@certifications_bp.response(200, CertificationAdminOut)
@certifications_bp.doc(security=SECURITY)
def approve_certification(application_id: int) -> Any:
    """通过：司机进入对应会员分组（享受该分组服务费折扣）"""
    return certification.approve(current_actor(), application_id)


@certifications_bp.route(f"/certifications/<{ID}:application_id>/reject", methods=["POST"])
@certifications_bp.arguments(CertificationReasonIn)
@certifications_bp.response(200, CertificationAdminOut)
@certifications_bp.doc(security=SECURITY)
def reject_certification(body: dict[str, Any], application_id: int) -> Any:
    """驳回（须填原因）"""
    return certification.reject(current_actor(), application_id, body["reason"])


@certifications_bp.route(f"/certifications/<{ID}:application_id>/revoke", methods=["POST"])
@certifications_bp.arguments(CertificationReasonIn)
@certifications_bp.response(200, CertificationAdminOut)
@certifications_bp.doc(security=SECURITY)
def revoke_certification(body: dict[str, Any], application_id: int) -> Any:
    """撤销已通过的认证（会员分组恢复为无，须填原因）"""
    return certification.revoke(current_actor(), application_id, body["reason"])


# --- customer-service phones ----------------------------------------------------------------

phones_bp = _blueprint("customer_service", "客服电话（分时段）")


@phones_bp.route("/customer-service-phones")
class PhoneList(MethodView):
    @phones_bp.arguments(CustomerServiceQuery, location="query")
    @phones_bp.response(200, page_of(CustomerServicePhoneOut, "CustomerServicePhonePage"))
    @phones_bp.doc(security=SECURITY)
    def get(self, args: dict[str, Any]) -> Page:
        """客服电话列表"""
        return customer_service.list_phones(current_actor(), **args)

    @phones_bp.arguments(CustomerServicePhoneIn)
    @phones_bp.response(201, CustomerServicePhoneOut)
    @phones_bp.doc(security=SECURITY)
    def post(self, body: dict[str, Any]) -> Any:
        """新增客服电话（如夜间 21:00-09:00）"""
        return customer_service.create_phone(current_actor(), body)


@phones_bp.route(f"/customer-service-phones/<{ID}:phone_id>")
class PhoneItem(MethodView):
    @phones_bp.arguments(CustomerServicePhonePatch)
    @phones_bp.response(200, CustomerServicePhoneOut)
    @phones_bp.doc(security=SECURITY)
    def patch(self, body: dict[str, Any], phone_id: int) -> Any:
        """修改客服电话"""
        return customer_service.update_phone(current_actor(), phone_id, body)

    @phones_bp.response(204)
    @phones_bp.doc(security=SECURITY)
    def delete(self, phone_id: int) -> None:
        """删除客服电话"""
        customer_service.delete_phone(current_actor(), phone_id)


DRIVER_ADMIN_BLUEPRINTS = (certifications_bp, phones_bp)
