"""Drivers' API: certification as a ride-hailing or taxi driver (case #4)."""

from __future__ import annotations

from typing import Any

from flask import request

from app.drivers import certification
from app.openapi import ID
from miniprogram_api.auth import current_driver
from miniprogram_api.blueprints import blueprint
from miniprogram_api.schemas import certifications as s

bp = blueprint("certifications", "网约车/出租车司机认证（case #4）")


@bp.before_request
def _upload_limit() -> None:
    if request.method == "POST":
        # three images and the form: the per-file limit is checked again in the service
        request.max_content_length = 3 * certification.max_upload_bytes() + 64 * 1024


@bp.route("/certifications", methods=["POST"])
@bp.arguments(s.MpCertificationForm, location="form")
@bp.arguments(s.MpCertificationFiles, location="files")
@bp.response(201, s.MpCertificationOut)
def submit_certification(form: dict[str, Any], files: dict[str, Any]) -> Any:
    """提交认证：身份证、驾驶证、车辆照片（仅图片，按内容识别类型，限制大小）"""
    limit = certification.max_upload_bytes()
    uploads = [
        certification.Upload(role, storage.stream.read(limit + 1))
        for role, storage in files.items()
    ]
    return certification.submit(current_driver(), form["kind"], uploads)


@bp.route("/certifications/current")
@bp.response(200, s.MpCurrentCertificationOut)
def current_certification() -> dict[str, Any]:
    """我的最新认证申请与当前会员分组"""
    driver = current_driver()
    return {"pricing_group": driver.pricing_group, "application": certification.current_for(driver)}


@bp.route(f"/certifications/<{ID}:application_id>")
@bp.response(200, s.MpCertificationOut)
def get_certification(application_id: int) -> Any:
    """认证申请详情（仅本人）"""
    return certification.own_application(current_driver(), application_id)
