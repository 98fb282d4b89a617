"""Console API: tariffs (time-of-use segments, versioned)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.schemas import tariffs as s
from app.catalogue import tariffs
from app.openapi import page_of
from app.paging import Page

bp = blueprint("tariffs", "电价（分时段、版本化）")


@bp.route("/tariffs")
class TariffList(MethodView):
    @bp.arguments(s.TariffQuery, location="query")
    @bp.response(200, page_of(s.TariffOut, "TariffPage"))
    def get(self, args: dict[str, Any]) -> Page:
        """电价列表"""
        return tariffs.list_tariffs(current_actor(), **args)

    @bp.arguments(s.TariffIn)
    @bp.response(201, s.TariffOut)
    def post(self, body: dict[str, Any]) -> Any:
        """创建电价（24 小时时段须完整、无重叠）"""
        return tariffs.create_tariff(current_actor(), body)


@bp.route("/tariffs/<int:tariff_id>")
class TariffItem(MethodView):
    @bp.response(200, s.TariffOut)
    def get(self, tariff_id: int) -> Any:
        """电价详情"""
        return tariffs.get_tariff(current_actor(), tariff_id)

    @bp.arguments(s.TariffPatch)
    @bp.response(200, s.TariffOut)
    def patch(self, body: dict[str, Any], tariff_id: int) -> Any:
        """重命名电价"""
        return tariffs.rename_tariff(current_actor(), tariff_id, body["name"])


@bp.route("/tariffs/<int:tariff_id>/segments", methods=["PUT"])
@bp.arguments(s.SegmentsIn)
@bp.response(200, s.TariffOut)
def put_segments(body: dict[str, Any], tariff_id: int) -> Any:
    """修改时段与价格（生成新版本，旧订单保留原版本）"""
    return tariffs.set_segments(current_actor(), tariff_id, body["segments"])


@bp.route("/tariffs/<int:tariff_id>/versions")
@bp.response(200, s.TariffVersionList)
def tariff_versions(tariff_id: int) -> dict[str, Any]:
    """电价的全部版本"""
    return {"items": tariffs.list_versions(current_actor(), tariff_id)}
