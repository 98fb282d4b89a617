"""Request and response schemas of the drivers' API (they become the OpenAPI document).

Every input is bounded: strings by length and without control characters (PostgreSQL
refuses NUL), numbers by range, so odd input is a 422, never a 500.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from app.charging.models import OrderState
from app.drivers.models import CERTIFICATION_KINDS
from app.ledger import wallet
from app.openapi import DECIMAL_STRING, PageMeta
from app.openapi import ClockField as ClockField  # shared by both APIs
from app.openapi import page_of as page_of

if TYPE_CHECKING:
    from app.paging import Page

MAX_ID = 2**31 - 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Text(fields.String):
    """A string without control characters, trimmed."""

    default_error_messages = {"control": "不能包含控制字符"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if _CONTROL.search(text):
            raise self.make_error("control")
        return text.strip()


def ident(**kwargs: Any) -> fields.Integer:
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class MpPageQuery(ma.Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))


# --- auth and me ------------------------------------------------------------------------


class MpLoginIn(ma.Schema):
    code = Text(required=True, validate=validate.Length(min=1, max=128))
    app_id = Text(required=True, validate=validate.Length(min=1, max=64))


class MpBrandOut(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    brand_color = fields.String()
    logo_url = fields.String()


class MpDriverOut(ma.Schema):
    id = fields.Integer()
    operator_id = fields.Integer()
    nickname = fields.String()
    avatar_url = fields.String()
    phone = fields.String()
    phone_bound = fields.Function(lambda d: bool(d.phone))
    pricing_group = fields.String(metadata={"description": "none | ride_hailing | taxi"})
    balance_fen = fields.Function(lambda d: wallet.balance_of(d.id))


class MpLoginOut(ma.Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    created = fields.Boolean(metadata={"description": "首次登录时新建了司机账户"})
    driver = fields.Nested(MpDriverOut)
    operator = fields.Nested(MpBrandOut)


class MpMeOut(ma.Schema):
    driver = fields.Nested(MpDriverOut)
    operator = fields.Nested(MpBrandOut)


class MpPhoneIn(ma.Schema):
    code = Text(required=True, validate=validate.Length(min=1, max=128))


# --- stations --------------------------------------------------------------------------


class MpNearbyQuery(MpPageQuery):
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    radius_m = fields.Integer(load_default=5000, validate=validate.Range(min=1, max=100_000))
    free_only = fields.Boolean(load_default=False)
    current_type = fields.String(validate=validate.OneOf(("AC", "DC")))


class MpPriceOut(ma.Schema):
    start = ClockField(attribute="start_minute")
    end = ClockField(attribute="end_minute")
    tier = fields.String(metadata={"description": "sharp 尖 | peak 峰 | flat 平 | valley 谷"})
    electricity_price = fields.Decimal(
        as_string=True, metadata={**DECIMAL_STRING, "description": "元/kWh"}
    )
    service_price = fields.Decimal(
        as_string=True, metadata={**DECIMAL_STRING, "description": "标价服务费 元/kWh"}
    )
    member_service_price = fields.Decimal(
        as_string=True,
        metadata={**DECIMAL_STRING, "description": "本人实付服务费（会员折扣后，case #7）"},
    )
    total_price = fields.Decimal(as_string=True, metadata=DECIMAL_STRING)


class MpConnectorCountsOut(ma.Schema):
    ac_total = fields.Integer()
    ac_free = fields.Integer()
    dc_total = fields.Integer()
    dc_free = fields.Integer()


class MpNearbyStationOut(ma.Schema):
    id = fields.Integer(attribute="station.id")
    name = fields.String(attribute="station.name")
    address = fields.String(attribute="station.address")
    city = fields.String(attribute="station.city")
    latitude = fields.Decimal(as_string=True, attribute="station.latitude", metadata=DECIMAL_STRING)
    longitude = fields.Decimal(
        as_string=True, attribute="station.longitude", metadata=DECIMAL_STRING
    )
    distance_m = fields.Integer()
    brand = fields.Nested(MpBrandOut)
    connectors = fields.Nested(MpConnectorCountsOut)
    current_price = fields.Nested(MpPriceOut, attribute="price", allow_none=True)


class MpNearbyStationPage(PageMeta):
    items = fields.List(fields.Nested(MpNearbyStationOut))


def _decimal(value: Decimal | None) -> str | None:
    # as fields.Decimal(as_string=True) writes it
    return None if value is None else format(Decimal(value), "f")


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"  # as ClockField writes it


def dump_nearby_page(page: Page) -> dict[str, Any]:
    """``MpNearbyStationPage().dump(page)``, written out by hand: the nearby search is the
    drivers' busiest read and marshmallow took longer than the search itself. A test holds
    the two to the same output (tests/mp/test_station_index.py)."""
    items = []
    for it in page.items:
        st, brand, c, price = it.station, it.brand, it.connectors, it.price
        items.append(
            {
                "id": st.id,
                "name": st.name,
                "address": st.address,
                "city": st.city,
                "latitude": _decimal(st.latitude),
                "longitude": _decimal(st.longitude),
                "distance_m": it.distance_m,
                "brand": {
                    "id": brand.id,
                    "name": brand.name,
                    "brand_color": brand.brand_color,
                    "logo_url": brand.logo_url,
                },
                "connectors": {
                    "ac_total": c.ac_total,
                    "ac_free": c.ac_free,
                    "dc_total": c.dc_total,
                    "dc_free": c.dc_free,
                },
                "current_price": None
                if price is None
                else {
                    "start": _clock(price.start_minute),
                    "end": _clock(price.end_minute),
                    "tier": price.tier,
                    "electricity_price": _decimal(price.electricity_price),
                    "service_price": _decimal(price.service_price),
                    "member_service_price": _decimal(price.member_service_price),
                    "total_price": _decimal(price.total_price),
                },
            }
        )
    return {"total": page.total, "page": page.page, "page_size": page.page_size, "items": items}


class MpStationDetailQuery(ma.Schema):
    lat = fields.Float(validate=validate.Range(min=-90, max=90))
    lng = fields.Float(validate=validate.Range(min=-180, max=180))


class MpConnectorOut(ma.Schema):
    id = fields.Integer()
    pile_id = fields.Integer()
    pile_code = fields.String()
    number = fields.Integer()
    current_type = fields.String()
    rated_power_w = fields.Integer()
    pile_online = fields.Boolean()
    status = fields.String(
        metadata={"description": "available | preparing | charging | ... | offline"}
    )
    free = fields.Boolean()


class MpDriverPriceOut(ma.Schema):
    tariff_version_id = fields.Integer()
    timezone = fields.String()
    pricing_group = fields.String()
    service_discount_rate = fields.Decimal(as_string=True, allow_none=True, metadata=DECIMAL_STRING)
    current = fields.Nested(MpPriceOut)
    segments = fields.List(fields.Nested(MpPriceOut))


class MpReasonOut(ma.Schema):
    code = fields.String()
    message = fields.String()
    details = fields.Dict()


class MpOccupancyRuleOut(ma.Schema):
    grace_minutes = fields.Integer()
    price_per_minute = fields.Decimal(
        as_string=True, metadata={**DECIMAL_STRING, "description": "元/分钟"}
    )
    cap_fen = fields.Integer(allow_none=True)


class MpStationDetailOut(ma.Schema):
    id = fields.Integer(attribute="station.id")
    name = fields.String(attribute="station.name")
    address = fields.String(attribute="station.address")
    city = fields.String(attribute="station.city")
    latitude = fields.Decimal(as_string=True, attribute="station.latitude", metadata=DECIMAL_STRING)
    longitude = fields.Decimal(
        as_string=True, attribute="station.longitude", metadata=DECIMAL_STRING
    )
    distance_m = fields.Integer(allow_none=True)
    brand = fields.Nested(MpBrandOut)
    connectors = fields.List(fields.Nested(MpConnectorOut))
    price = fields.Nested(MpDriverPriceOut, allow_none=True)
    price_unavailable = fields.Nested(MpReasonOut, allow_none=True)
    occupancy = fields.Nested(
        MpOccupancyRuleOut,
        allow_none=True,
        metadata={"description": "占位费规则；站点未设置时为 null（case #19）"},
    )


class MpCustomerServiceOut(ma.Schema):
    phone = fields.String(allow_none=True)
    label = fields.String(allow_none=True)
    start = ClockField(attribute="start_minute", allow_none=True)
    end = ClockField(attribute="end_minute", allow_none=True)


class MpDeepLinkQuery(ma.Schema):
    station_id = ident()
    app_id = Text(validate=validate.Length(max=64))


class MpDeepLinkOut(ma.Schema):
    key = fields.String()
    name = fields.String()
    url = fields.String()
    mp_path = fields.String()


class MpDeepLinksOut(ma.Schema):
    mini_program_app_id = fields.String()
    items = fields.List(fields.Nested(MpDeepLinkOut))
    menu = fields.Dict(allow_none=True, metadata={"description": "公众号菜单 JSON"})


# --- scan and orders ---------------------------------------------------------------------


class MpScanIn(ma.Schema):
    qr = Text(required=True, validate=validate.Length(min=1, max=512))


class MpStationBrief(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    address = fields.String()
    brand = fields.Nested(MpBrandOut, attribute="operator")


class MpScanOut(ma.Schema):
    connector = fields.Nested(MpConnectorOut)
    station = fields.Nested(MpStationBrief, allow_none=True)
    price = fields.Nested(MpPriceOut, allow_none=True)
    service_discount_rate = fields.Decimal(as_string=True, allow_none=True, metadata=DECIMAL_STRING)
    balance_fen = fields.Integer()
    can_start = fields.Boolean()
    reason = fields.Nested(MpReasonOut, allow_none=True)


class MpStartIn(ma.Schema):
    connector_id = ident(required=True)
    client_request_id = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{8,40}$", error="应为 8~40 位字母、数字、_ 或 -"),
    )


class MpBillLineOut(ma.Schema):
    segment_start = fields.DateTime()
    segment_end = fields.DateTime()
    tier = fields.String()
    energy_wh = fields.Integer()
    electricity_price = fields.Decimal(as_string=True, metadata=DECIMAL_STRING)
    service_price = fields.Decimal(as_string=True, metadata=DECIMAL_STRING)
    electricity_fen = fields.Integer()
    service_fen = fields.Integer()
    service_discount_fen = fields.Integer()


def _kwh(wh: int | None) -> str:
    return f"{(wh or 0) / 1000:.2f}"


class MpBillOut(ma.Schema):
    final = fields.Boolean(metadata={"description": "true：已结算账单；false：实时估算"})
    estimated = fields.Boolean(metadata={"description": "无最终记录、按最后读数结算（case #25）"})
    energy_wh = fields.Integer()
    energy_kwh = fields.Function(lambda b: _kwh(b.energy_wh))
    electricity_fen = fields.Integer()
    service_fen = fields.Integer()
    service_discount_fen = fields.Integer()
    service_discount_rate = fields.Decimal(as_string=True, allow_none=True, metadata=DECIMAL_STRING)
    occupancy_minutes = fields.Integer()
    occupancy_fen = fields.Integer()
    coupon_id = fields.Integer(allow_none=True)
    coupon_fen = fields.Integer()
    total_fen = fields.Integer()
    lines = fields.List(fields.Nested(MpBillLineOut))


class MpLiveOrderOut(ma.Schema):
    order_no = fields.String(attribute="order.order_no")
    state = fields.String(attribute="order.state")
    station_id = fields.Integer(attribute="order.station_id", allow_none=True)
    station_name = fields.String()
    pile_code = fields.String()
    connector_number = fields.Integer(attribute="order.connector_number", allow_none=True)
    pile_online = fields.Boolean()
    can_stop = fields.Boolean()
    hint = fields.String(allow_none=True, metadata={"description": "充电桩离线时的停止指引"})
    energy_wh = fields.Integer()
    energy_kwh = fields.Function(lambda v: _kwh(v.energy_wh))
    power_w = fields.Integer(attribute="order.power_w", allow_none=True)
    soc_percent = fields.Integer(attribute="order.soc_percent", allow_none=True)
    elapsed_seconds = fields.Integer()
    requested_at = fields.DateTime(attribute="order.requested_at")
    started_at = fields.DateTime(attribute="order.started_at", allow_none=True)
    stopped_at = fields.DateTime(attribute="order.stopped_at", allow_none=True)
    failure_reason = fields.String(attribute="order.failure_reason")
    bill = fields.Nested(MpBillOut, allow_none=True)


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def dump_bill(bill: Any) -> dict[str, Any]:
    """``MpBillOut().dump(bill)`` written out by hand (see :func:`dump_live_order`)."""
    return {
        "final": bill.final, "estimated": bill.estimated, "energy_wh": bill.energy_wh,
        "energy_kwh": _kwh(bill.energy_wh), "electricity_fen": bill.electricity_fen,
        "service_fen": bill.service_fen, "service_discount_fen": bill.service_discount_fen,
        "service_discount_rate": _decimal(bill.service_discount_rate),
        "occupancy_minutes": bill.occupancy_minutes, "occupancy_fen": bill.occupancy_fen,
        "coupon_id": bill.coupon_id, "coupon_fen": bill.coupon_fen,
        "total_fen": bill.total_fen,
        "lines": [
            {
                "segment_start": _iso(line["segment_start"]),
                "segment_end": _iso(line["segment_end"]), "tier": line["tier"],
                "energy_wh": line["energy_wh"],
                "electricity_price": _decimal(line["electricity_price"]),
                "service_price": _decimal(line["service_price"]),
                "electricity_fen": line["electricity_fen"], "service_fen": line["service_fen"],
                "service_discount_fen": line["service_discount_fen"],
            }
            for line in bill.lines
        ],
    }  # fmt: skip


def dump_live_order(live: Any) -> dict[str, Any]:
    """``MpLiveOrderOut().dump(live)`` written out by hand: the live poll is the drivers'
    most frequent request and marshmallow cost as much as its database read. A test holds
    the two to the same output (tests/mp/test_scan_and_orders.py)."""
    order = live.order
    return {
        "order_no": order.order_no, "state": order.state, "station_id": order.station_id,
        "station_name": live.station_name, "pile_code": live.pile_code,
        "connector_number": order.connector_number, "pile_online": live.pile_online,
        "can_stop": live.can_stop, "hint": live.hint, "energy_wh": live.energy_wh,
        "energy_kwh": _kwh(live.energy_wh), "power_w": order.power_w,
        "soc_percent": order.soc_percent, "elapsed_seconds": live.elapsed_seconds,
        "requested_at": _iso(order.requested_at), "started_at": _iso(order.started_at),
        "stopped_at": _iso(order.stopped_at), "failure_reason": order.failure_reason,
        "bill": None if live.bill is None else dump_bill(live.bill),
    }  # fmt: skip


class MpStartOut(ma.Schema):
    order = fields.Nested(MpLiveOrderOut)
    repeated = fields.Boolean(metadata={"description": "同一 client_request_id 的重复请求"})
    failure = fields.Function(
        lambda r: (
            None
            if r.failure_code is None
            else {"code": r.failure_code, "message": r.failure_message}
        )
    )


class MpOrderQuery(MpPageQuery):
    state = fields.String(validate=validate.OneOf(tuple(OrderState)))


class MpOrderSummaryOut(ma.Schema):
    order_no = fields.String(attribute="order.order_no")
    state = fields.String(attribute="order.state")
    station_name = fields.String()
    energy_wh = fields.Integer(attribute="order.energy_wh")
    energy_kwh = fields.Function(lambda s: _kwh(s.order.energy_wh))
    total_fen = fields.Integer(allow_none=True)
    requested_at = fields.DateTime(attribute="order.requested_at")
    started_at = fields.DateTime(attribute="order.started_at", allow_none=True)
    stopped_at = fields.DateTime(attribute="order.stopped_at", allow_none=True)


class MpPaymentOut(ma.Schema):
    paid_fen = fields.Integer()
    arrears_fen = fields.Integer()
    settled_at = fields.DateTime()


class MpOrderDetailOut(MpLiveOrderOut):
    payment = fields.Nested(MpPaymentOut, allow_none=True)


class MpCouponOut(ma.Schema):
    id = fields.Integer()
    name = fields.String(attribute="coupon.name")
    kind = fields.String(attribute="coupon.kind")
    amount_fen = fields.Integer(attribute="coupon.amount_fen", allow_none=True)
    threshold_fen = fields.Integer(attribute="coupon.threshold_fen", allow_none=True)
    percent = fields.Decimal(
        as_string=True, attribute="coupon.percent", allow_none=True, metadata=DECIMAL_STRING
    )
    cap_fen = fields.Integer(attribute="coupon.cap_fen", allow_none=True)
    valid_until = fields.String(metadata={"description": "有效期至（当地时间，case #10）"})


class MpCouponChoiceOut(ma.Schema):
    choice = fields.String(metadata={"description": "default | none | chosen | final"})
    selected_coupon_id = fields.Integer(allow_none=True)
    coupons = fields.List(fields.Nested(MpCouponOut))


class MpCouponChoiceIn(ma.Schema):
    coupon_id = ident(allow_none=True, load_default=None)
    use_default = fields.Boolean(load_default=False)


# --- certification -------------------------------------------------------------------------


class MpCertificationForm(ma.Schema):
    kind = fields.String(required=True, validate=validate.OneOf(CERTIFICATION_KINDS))


class MpCertificationFiles(ma.Schema):
    id_card = Upload(required=True, metadata={"description": "身份证（JPEG/PNG/WebP）"})
    driving_licence = Upload(required=True, metadata={"description": "驾驶证"})
    vehicle_photo = Upload(required=True, metadata={"description": "车辆照片"})


class MpCertificationFileOut(ma.Schema):
    id = fields.Integer()
    role = fields.String()
    content_type = fields.String()
    size_bytes = fields.Integer()


class MpCertificationOut(ma.Schema):
    id = fields.Integer()
    kind = fields.String()
    state = fields.String(metadata={"description": "pending | approved | rejected | revoked"})
    reject_reason = fields.String()
    revoke_reason = fields.String()
    submitted_at = fields.DateTime()
    reviewed_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    files = fields.List(fields.Nested(MpCertificationFileOut))


class MpCurrentCertificationOut(ma.Schema):
    pricing_group = fields.String()
    application = fields.Nested(MpCertificationOut, allow_none=True)
