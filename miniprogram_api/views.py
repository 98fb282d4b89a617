"""Drivers' API views: load with a schema, call one service, dump. Nothing else."""

from __future__ import annotations

import math
import time
from typing import Any

from flask import Response, current_app, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from limits import RateLimitItemPerSecond

from app.catalogue import visibility
from app.drivers import (
    certification,
    customer_service,
    deep_links,
    driver_auth,
    driver_orders,
    live,
    qr,
    station_info,
)
from app.errors import RateLimited
from app.extensions import limiter
from app.paging import Page
from miniprogram_api import schemas as s
from miniprogram_api.auth import authenticate, current_driver, current_driver_id

PREFIX = "/api/mp/v1"
SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]
ID = "int(max=2147483647)"
GIVE_WAY_SECONDS = 0.00001  # gevent.sleep once patched, microseconds otherwise


def _retry_after(resp: Response) -> Response:
    if resp.status_code == 429 and resp.is_json:
        details = (resp.get_json(silent=True) or {}).get("error", {}).get("details", {})
        if isinstance(details, dict) and details.get("retry_after"):
            resp.headers["Retry-After"] = str(details["retry_after"])
    return resp


def _blueprint(name: str, description: str) -> Blueprint:
    bp = Blueprint(f"mp_{name}", __name__, url_prefix=PREFIX, description=description)
    bp.before_request(authenticate)
    bp.after_request(_retry_after)
    return bp


def _client_address() -> str:
    return request.remote_addr or "unknown"


def _rate_limit(bucket: str, subject: str, limit_setting: str) -> None:
    """One hit on ``subject``'s moving window of ``RATE_LIMIT_WINDOW_SECONDS`` (Flask-Limiter:
    counted and checked in one step by its storage); over ``limit_setting`` (0: no limit)
    answers 429 RATE_LIMITED with the seconds to wait (``Retry-After``)."""
    limit = int(current_app.config[limit_setting])
    if limit <= 0:
        return
    item = RateLimitItemPerSecond(limit, int(current_app.config["RATE_LIMIT_WINDOW_SECONDS"]))
    if limiter.limiter.hit(item, bucket, subject):
        return
    reset_at = limiter.limiter.get_window_stats(item, bucket, subject).reset_time
    raise RateLimited(details={"retry_after": max(math.ceil(reset_at - time.time()), 1)})


# --- auth and me ------------------------------------------------------------------------

auth_bp = _blueprint("auth", "司机登录与个人信息")


@auth_bp.route("/auth/login", methods=["POST"])
@auth_bp.arguments(s.MpLoginIn)
@auth_bp.response(200, s.MpLoginOut)
def login(body: dict[str, Any]) -> dict[str, Any]:
    """微信登录（wx.login 的 code 与小程序 AppID），首次登录自动注册"""
    _rate_limit("login", _client_address(), "LOGIN_RATE_LIMIT")
    result = driver_auth.login(body["code"], body["app_id"])
    return {
        "access_token": result.access_token,
        "token_type": "Bearer",
        "expires_in": result.expires_in,
        "created": result.created,
        "driver": result.driver,
        "operator": result.operator,
    }


@auth_bp.route("/me")
@auth_bp.response(200, s.MpMeOut)
@auth_bp.doc(security=SECURITY)
def me() -> dict[str, Any]:
    """当前司机与所属运营商品牌（case #1）"""
    driver = current_driver()
    return {"driver": driver, "operator": visibility.driver_operator(driver)}


@auth_bp.route("/me/phone", methods=["POST"])
@auth_bp.arguments(s.MpPhoneIn)
@auth_bp.response(200, s.MpDriverOut)
@auth_bp.doc(security=SECURITY)
def bind_phone(body: dict[str, Any]) -> Any:
    """绑定手机号（getPhoneNumber 按钮返回的 code）"""
    return driver_auth.bind_phone(current_driver(), body["code"])


# --- stations, customer service, deep links ----------------------------------------------

stations_bp = _blueprint("stations", "附近电站与电站详情")


@stations_bp.route("/stations")
# one schema instance: webargs would build (deep-copy) a new one for every request
@stations_bp.arguments(s.MpNearbyQuery(), location="query")
@stations_bp.response(200, s.MpNearbyStationPage)
@stations_bp.doc(security=SECURITY)
def nearby(args: dict[str, Any]) -> Response:
    """附近电站，按距离排序、分页；可筛选空闲枪与交流/直流（空闲枪数至多滞后几秒）"""
    page = station_info.nearby(current_driver_id(), **args)  # no driver row: see there
    # the search usually reads nothing from the database, so nothing here waits: under
    # gevent a keep-alive connection whose client sends its next request in time would
    # keep the worker, and the others would wait for a second. A sleep above zero passes
    # through the event loop, where those others are polled (sleep(0) does not: p99 of
    # the 2-core benchmark 55 ms with it, 300 ms with sleep(0), 1.1 s without)
    time.sleep(GIVE_WAY_SECONDS)
    return jsonify(s.dump_nearby_page(page))  # the schema's output, written faster


@stations_bp.route(f"/stations/<{ID}:station_id>")
@stations_bp.arguments(s.MpStationDetailQuery, location="query")
@stations_bp.response(200, s.MpStationDetailOut)
@stations_bp.doc(security=SECURITY)
def station_detail(args: dict[str, Any], station_id: int) -> Any:
    """电站详情：实时枪状态、分时电价（本人会员价）、占位费规则"""
    return station_info.station_detail(current_driver(), station_id, **args)


@stations_bp.route("/customer-service")
@stations_bp.response(200, s.MpCustomerServiceOut)
@stations_bp.doc(security=SECURITY)
def customer_service_phone() -> Any:
    """当前时段的客服电话（case #16）"""
    found = customer_service.phone_now(current_driver().operator_id)
    return found or {"phone": None, "label": None, "start_minute": None, "end_minute": None}


links_bp = _blueprint("links", "公众号菜单与外部链接（case #3）")


@links_bp.route("/deep-links")
@links_bp.arguments(s.MpDeepLinkQuery, location="query")
@links_bp.response(200, s.MpDeepLinksOut)
def links(args: dict[str, Any]) -> dict[str, Any]:
    """电站列表、电站详情、扫码页的固定链接与小程序路径（无需登录）"""
    app_id = deep_links.app_id_for(args.get("app_id"))
    return {
        "mini_program_app_id": app_id,
        "items": deep_links.links(args.get("station_id")),
        "menu": deep_links.menu_json(app_id) if app_id else None,
    }


# --- scan and orders ----------------------------------------------------------------------

orders_bp = _blueprint("orders", "扫码充电与订单")


@orders_bp.route("/scan", methods=["POST"])
@orders_bp.arguments(s.MpScanIn)
@orders_bp.response(200, s.MpScanOut)
@orders_bp.doc(security=SECURITY)
def scan(body: dict[str, Any]) -> Any:
    """扫码：识别充电枪，返回状态、本人价格、能否启动及原因"""
    return qr.scan(current_driver(), body["qr"])


@orders_bp.route("/orders")
class OrderList(MethodView):
    @orders_bp.arguments(s.MpOrderQuery, location="query")
    @orders_bp.response(200, s.page_of(s.MpOrderSummaryOut, "MpOrderPage"))
    @orders_bp.doc(security=SECURITY)
    def get(self, args: dict[str, Any]) -> Page:
        """我的充电订单"""
        return driver_orders.list_orders(current_driver(), **args)

    @orders_bp.arguments(s.MpStartIn)
    @orders_bp.response(201, s.MpStartOut)
    @orders_bp.doc(security=SECURITY)
    def post(self, body: dict[str, Any]) -> Any:
        """启动充电（按 client_request_id 幂等）"""
        driver = current_driver()
        _rate_limit("start", str(driver.id), "START_RATE_LIMIT")
        return driver_orders.start(driver, body["connector_id"], body["client_request_id"])


ORDER_NO = "<string(maxlength=32):order_no>"


@orders_bp.route(f"/orders/{ORDER_NO}")
@orders_bp.response(200, s.MpOrderDetailOut)
@orders_bp.doc(security=SECURITY)
def order_detail(order_no: str) -> Any:
    """订单详情与分项账单（电量、电费、服务费、折扣、占位费、优惠券、合计）"""
    return driver_orders.order_detail(current_driver(), order_no)


@orders_bp.route(f"/orders/{ORDER_NO}/live")
@orders_bp.response(200, s.MpLiveOrderOut)
@orders_bp.doc(security=SECURITY)
def order_live(order_no: str) -> Response:
    """充电中实时数据：电量、功率、SOC、费用（含折扣）、时长；离线时给出桩端停止指引"""
    polled = live.live(current_driver_id(), order_no)
    return jsonify(s.dump_live_order(polled))  # the schema's output, written faster


@orders_bp.route(f"/orders/{ORDER_NO}/stop", methods=["POST"])
@orders_bp.response(200, s.MpLiveOrderOut)
@orders_bp.doc(security=SECURITY)
def order_stop(order_no: str) -> Any:
    """停止充电"""
    return driver_orders.stop(current_driver(), order_no)


@orders_bp.route(f"/orders/{ORDER_NO}/coupon")
class OrderCoupon(MethodView):
    @orders_bp.response(200, s.MpCouponChoiceOut)
    @orders_bp.doc(security=SECURITY)
    def get(self, order_no: str) -> Any:
        """本单可用优惠券与当前选择（默认：抵扣最多、最先到期）"""
        return driver_orders.coupon_choice(current_driver(), order_no)

    @orders_bp.arguments(s.MpCouponChoiceIn)
    @orders_bp.response(200, s.MpCouponChoiceOut)
    @orders_bp.doc(security=SECURITY)
    def put(self, body: dict[str, Any], order_no: str) -> Any:
        """结算前更换优惠券（coupon_id 为 null 表示不用券）"""
        return driver_orders.choose_coupon(
            current_driver(), order_no, body["coupon_id"], use_default=body["use_default"]
        )


# --- certification -------------------------------------------------------------------------

cert_bp = _blueprint("certifications", "网约车/出租车司机认证（case #4）")


@cert_bp.before_request
def _upload_limit() -> None:
    if request.method == "POST":
        # three images and the form: the per-file limit is checked again in the service
        request.max_content_length = 3 * certification.max_upload_bytes() + 64 * 1024


@cert_bp.route("/certifications", methods=["POST"])
@cert_bp.arguments(s.MpCertificationForm, location="form")
@cert_bp.arguments(s.MpCertificationFiles, location="files")
@cert_bp.response(201, s.MpCertificationOut)
@cert_bp.doc(security=SECURITY)
def submit_certification(form: dict[str, Any], files: dict[str, Any]) -> Any:
    """提交认证：身份证、驾驶证、车辆照片（仅图片，按内容识别类型，限制大小）"""
    limit = certification.max_upload_bytes()
    uploads = [
        certification.Upload(role, storage.stream.read(limit + 1))
        for role, storage in files.items()
    ]
    return certification.submit(current_driver(), form["kind"], uploads)


@cert_bp.route("/certifications/current")
@cert_bp.response(200, s.MpCurrentCertificationOut)
@cert_bp.doc(security=SECURITY)
def current_certification() -> dict[str, Any]:
    """我的最新认证申请与当前会员分组"""
    driver = current_driver()
    return {"pricing_group": driver.pricing_group, "application": certification.current_for(driver)}


@cert_bp.route(f"/certifications/<{ID}:application_id>")
@cert_bp.response(200, s.MpCertificationOut)
@cert_bp.doc(security=SECURITY)
def get_certification(application_id: int) -> Any:
    """认证申请详情（仅本人）"""
    return certification.own_application(current_driver(), application_id)


BLUEPRINTS = (auth_bp, stations_bp, links_bp, orders_bp, cert_bp)
