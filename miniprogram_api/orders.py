"""Drivers' API: scan, start, the live order, stop, the bill, the coupon choice."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask.views import MethodView

from app.drivers import driver_orders, live, qr
from app.errors import QR_UNKNOWN
from app.hlht import customer, listings
from app.openapi import page_of
from app.paging import Page
from app.rate_limits import rate_limit
from miniprogram_api.auth import current_driver, current_driver_id
from miniprogram_api.blueprints import blueprint
from miniprogram_api.schemas import orders as s

bp = blueprint("orders", "扫码充电与订单")


@bp.route("/scan", methods=["POST"])
@bp.arguments(s.MpScanIn)
@bp.response(200, s.MpScanOut)
def scan(body: dict[str, Any]) -> Any:
    """扫码：识别充电枪，返回状态、本人价格、能否启动及原因；合作平台的 hlht:// 二维码
    返回 partner（合作方、枪的同步状态、当前价格），按 partner.start_path 启动"""
    driver = current_driver()
    code = qr.partner_code(body["qr"])
    if code is not None:
        return s.partner_scan(customer.scan(driver, code.connector_id, code.operator_id))
    return qr.scan(driver, body["qr"])


@bp.route("/orders")
class OrderList(MethodView):
    @bp.arguments(s.MpOrderQuery, location="query")
    @bp.response(200, page_of(s.MpOrderSummaryOut, "MpOrderPage"))
    def get(self, args: dict[str, Any]) -> Page:
        """我的充电订单（含合作运营商充电桩上的订单，partner 标注）"""
        return listings.orders_with_partners(current_driver(), **args)

    @bp.arguments(s.MpStartIn)
    @bp.response(201, s.MpStartOut)
    def post(self, body: dict[str, Any]) -> Any:
        """启动充电（按 client_request_id 幂等）"""
        driver = current_driver()
        rate_limit("start", str(driver.id), "START_RATE_LIMIT")
        return driver_orders.start(driver, body["connector_id"], body["client_request_id"])


@bp.route("/hlht/orders")
class HlhtOrders(MethodView):
    @bp.arguments(s.MpHlhtOrderQuery, location="query")
    @bp.response(200, page_of(s.MpHlhtOrderSummaryOut, "MpHlhtOrderPage"))
    def get(self, args: dict[str, Any]) -> Page:
        """我在合作平台充电桩上的订单（最新在前）"""
        return customer.list_orders(current_driver(), **args)

    @bp.arguments(s.MpHlhtStartIn)
    @bp.response(201, s.MpHlhtOrderOut)
    def post(self, body: dict[str, Any]) -> Any:
        """扫合作平台的 hlht:// 二维码启动充电（本平台作为客户方）"""
        driver = current_driver()
        rate_limit("start", str(driver.id), "START_RATE_LIMIT")
        code = qr.parse(body["qr"])
        if not isinstance(code, qr.HlhtCode):
            raise QR_UNKNOWN()
        return customer.start(driver, code.connector_id, code.operator_id, code.custom)


ORDER_NO = "<string(maxlength=32):order_no>"


@bp.route("/hlht/stations")
@bp.arguments(s.MpHlhtNearbyQuery, location="query")
@bp.response(200, page_of(s.MpHlhtStationOut, "MpHlhtStationPage"))
def hlht_stations(args: dict[str, Any]) -> Page:
    """附近的合作运营商电站（互联互通同步），按距离排序、分页，含空闲枪数与当前最低价"""
    current_driver()
    return customer.nearby_stations(**args)


@bp.route(f"/hlht/orders/{ORDER_NO}")
@bp.response(200, s.MpHlhtLiveOut)
def hlht_order(order_no: str) -> Any:
    """合作平台订单的实时数据：状态、电量、至今费用、时长、能否停止；结算后给出账单"""
    return customer.live(current_driver(), order_no)


@bp.route(f"/hlht/orders/{ORDER_NO}/stop", methods=["POST"])
@bp.response(200, s.MpHlhtLiveOut)
def hlht_stop(order_no: str) -> Any:
    """停止合作平台订单（只发一次；应答丢失时查询状态，不重发）"""
    return customer.stop_and_show(current_driver(), order_no)


@bp.route(f"/orders/{ORDER_NO}")
@bp.response(200, s.MpOrderDetailOut)
def order_detail(order_no: str) -> Any:
    """订单详情与分项账单（电量、电费、服务费、折扣、占位费、优惠券、合计）"""
    return driver_orders.order_detail(current_driver(), order_no)


@bp.route(f"/orders/{ORDER_NO}/live")
@bp.response(200, s.MpLiveOrderOut)
def order_live(order_no: str) -> Response:
    """充电中实时数据：电量、功率、SOC、费用（含折扣）、时长；离线时给出桩端停止指引"""
    polled = live.live(current_driver_id(), order_no)
    return jsonify(s.dump_live_order(polled))  # the schema's output, written faster


@bp.route(f"/orders/{ORDER_NO}/stop", methods=["POST"])
@bp.response(200, s.MpLiveOrderOut)
def order_stop(order_no: str) -> Any:
    """停止充电"""
    return driver_orders.stop(current_driver(), order_no)


@bp.route(f"/orders/{ORDER_NO}/coupon")
class OrderCoupon(MethodView):
    @bp.response(200, s.MpCouponChoiceOut)
    def get(self, order_no: str) -> Any:
        """本单可用优惠券与当前选择（默认：抵扣最多、最先到期）"""
        return driver_orders.coupon_choice(current_driver(), order_no)

    @bp.arguments(s.MpCouponChoiceIn)
    @bp.response(200, s.MpCouponChoiceOut)
    def put(self, body: dict[str, Any], order_no: str) -> Any:
        """结算前更换优惠券（coupon_id 为 null 表示不用券）"""
        return driver_orders.choose_coupon(
            current_driver(), order_no, body["coupon_id"], use_default=body["use_default"]
        )
