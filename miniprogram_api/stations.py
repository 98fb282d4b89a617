"""Drivers' API: nearby stations, a station's detail, the customer-service phone."""

from __future__ import annotations

import time
from typing import Any

from flask import Response, jsonify

from app.drivers import customer_service, station_info
from app.hlht import listings
from app.openapi import ID
from miniprogram_api.auth import current_driver, current_driver_id
from miniprogram_api.blueprints import blueprint
from miniprogram_api.schemas import stations as s

GIVE_WAY_SECONDS = 0.00001  # gevent.sleep once patched, microseconds otherwise

bp = blueprint("stations", "附近电站与电站详情")


@bp.route("/stations")
# one schema instance: webargs would build (deep-copy) a new one for every request
@bp.arguments(s.MpNearbyQuery(), location="query")
@bp.response(200, s.MpNearbyStationPage)
def nearby(args: dict[str, Any]) -> Response:
    """附近电站，按距离排序、分页；可筛选空闲枪与交流/直流（空闲枪数至多滞后几秒）"""
    # no driver row: see station_info.nearby; partners' stations merged in (issue 11)
    page = listings.nearby_with_partners(current_driver_id(), **args)
    # the search usually reads nothing from the database, so nothing here waits: under
    # gevent a keep-alive connection whose client sends its next request in time would
    # keep the worker, and the others would wait for a second. A sleep above zero passes
    # through the event loop, where those others are polled (sleep(0) does not: p99 of
    # the 2-core benchmark 55 ms with it, 300 ms with sleep(0), 1.1 s without)
    time.sleep(GIVE_WAY_SECONDS)
    return jsonify(s.dump_nearby_page(page))  # the schema's output, written faster


@bp.route(f"/stations/<{ID}:station_id>")
@bp.arguments(s.MpStationDetailQuery, location="query")
@bp.response(200, s.MpStationDetailOut)
def station_detail(args: dict[str, Any], station_id: int) -> Any:
    """电站详情：实时枪状态、分时电价（本人会员价）、占位费规则；合作运营商的电站
    （附近列表中 partner 非 null）加 ?partner=true"""
    if args.pop("partner"):  # a partner's station (issue 11)
        return listings.partner_station_detail(current_driver(), station_id, **args)
    return station_info.station_detail(current_driver(), station_id, **args)


@bp.route("/customer-service")
@bp.response(200, s.MpCustomerServiceOut)
def customer_service_phone() -> Any:
    """当前时段的客服电话（case #16）"""
    found = customer_service.phone_now(current_driver().operator_id)
    return found or {"phone": None, "label": None, "start_minute": None, "end_minute": None}
