"""Console API: stations."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.schemas import stations as s
from app.catalogue import stations
from app.openapi import page_of
from app.paging import Page

bp = blueprint("stations", "充电站")


@bp.route("/stations")
class StationList(MethodView):
    @bp.arguments(s.StationQuery, location="query")
    @bp.response(200, page_of(s.StationOut, "StationPage"))
    def get(self, args: dict[str, Any]) -> Page:
        """站点列表（子运营商只见自己的站点）"""
        return stations.list_stations(current_actor(), **args)

    @bp.arguments(s.StationIn)
    @bp.response(201, s.StationOut)
    def post(self, body: dict[str, Any]) -> Any:
        """创建站点"""
        return stations.create_station(current_actor(), body)


@bp.route("/stations/<int:station_id>")
class StationItem(MethodView):
    @bp.response(200, s.StationOut)
    def get(self, station_id: int) -> Any:
        """站点详情"""
        return stations.get_station(current_actor(), station_id)

    @bp.arguments(s.StationPatch)
    @bp.response(200, s.StationOut)
    def patch(self, body: dict[str, Any], station_id: int) -> Any:
        """修改站点"""
        return stations.update_station(current_actor(), station_id, body)

    @bp.response(204)
    def delete(self, station_id: int) -> None:
        """删除站点（站内无充电桩时）"""
        stations.delete_station(current_actor(), station_id)
