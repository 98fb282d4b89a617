"""Console API: drivers' certification review (case #4 2019-10-09)."""

from __future__ import annotations

from typing import Any

from flask import Response

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.schemas import certifications as s
from app.drivers import certification
from app.openapi import ID, page_of
from app.paging import Page

bp = blueprint("certifications", "司机认证审核（网约车/出租车）")


@bp.route("/certifications")
@bp.arguments(s.CertificationQuery, location="query")
@bp.response(200, page_of(s.CertificationAdminOut, "CertificationPage"))
def list_certifications(args: dict[str, Any]) -> Page:
    """认证申请列表（按子运营商隔离）"""
    return certification.list_applications(current_actor(), **args)


@bp.route(f"/certifications/<{ID}:application_id>")
@bp.response(200, s.CertificationAdminOut)
def get_certification(application_id: int) -> Any:
    """认证申请详情"""
    return certification.get_application(current_actor(), application_id)


@bp.route(f"/certifications/<{ID}:application_id>/files/<{ID}:file_id>")
@bp.response(200, content_type="image/*")
def certification_file(application_id: int, file_id: int) -> Response:
    """认证图片原件"""
    data, content_type = certification.file_content(current_actor(), application_id, file_id)
    resp = Response(data, content_type=content_type)
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.route(f"/certifications/<{ID}:application_id>/approve", methods=["POST"])
@bp.response(200, s.CertificationAdminOut)
def approve_certification(application_id: int) -> Any:
    """通过：司机进入对应会员分组（享受该分组服务费折扣）"""
    return certification.approve(current_actor(), application_id)


@bp.route(f"/certifications/<{ID}:application_id>/reject", methods=["POST"])
@bp.arguments(s.CertificationReasonIn)
@bp.response(200, s.CertificationAdminOut)
def reject_certification(body: dict[str, Any], application_id: int) -> Any:
    """驳回（须填原因）"""
    return certification.reject(current_actor(), application_id, body["reason"])


@bp.route(f"/certifications/<{ID}:application_id>/revoke", methods=["POST"])
@bp.arguments(s.CertificationReasonIn)
@bp.response(200, s.CertificationAdminOut)
def revoke_certification(body: dict[str, Any], application_id: int) -> Any:
    """撤销已通过的认证（会员分组恢复为无，须填原因）"""
    return certification.revoke(current_actor(), application_id, body["reason"])
