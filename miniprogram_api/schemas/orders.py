"""Scan, start, the live order, the itemised bill and the coupon choice."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from app.charging.models import OrderState
from app.hlht.models import CustomerState
from app.openapi import DECIMAL_STRING, ClockField, Schema
from miniprogram_api.schemas.common import (
    MpBrandOut,
    MpPageQuery,
    MpPartnerMarkOut,
    Text,
    decimal_str,
    ident,
)
from miniprogram_api.schemas.stations import MpConnectorOut, MpPriceOut, MpReasonOut


class MpScanIn(Schema):
    qr = Text(required=True, validate=validate.Length(min=1, max=512))


class MpStationBrief(Schema):
    id = fields.Integer()
    name = fields.String()
    address = fields.String()
    brand = fields.Nested(MpBrandOut, attribute="operator")


class MpHlhtPriceOut(Schema):
    start = ClockField(attribute="start_minute")
    end = ClockField(attribute="end_minute")
    electricity_price = fields.Decimal(
        as_string=True, metadata={**DECIMAL_STRING, "description": "元/kWh"}
    )
    service_price = fields.Decimal(
        as_string=True, metadata={**DECIMAL_STRING, "description": "服务费 元/kWh"}
    )
    member_service_price = fields.Decimal(
        as_string=True,
        metadata={
            **DECIMAL_STRING,
            "description": "本人所付服务费 元/kWh（运营方对该合作方开启会员折扣时按会员价）",
        },
    )
    total_price = fields.Decimal(as_string=True, metadata=DECIMAL_STRING)


class MpHlhtScanOut(Schema):
    operator_id = fields.String(metadata={"description": "合作方 OperatorID"})
    name = fields.String(attribute="partner_name", allow_none=True)
    connector_id = fields.String(attribute="connector_code")
    station_name = fields.String(allow_none=True)
    station_address = fields.String(allow_none=True)
    status = fields.String(
        metadata={"description": "free | busy | offline | faulted | unknown（最近一次同步）"}
    )
    connector_status = fields.Integer(
        allow_none=True, metadata={"description": "合作方 ConnectorStatus（T/CEC 102.2）"}
    )
    power_w = fields.Integer(allow_none=True)
    synced_at = fields.DateTime(allow_none=True)
    price = fields.Nested(MpHlhtPriceOut, allow_none=True)
    start_path = fields.String(
        metadata={"description": "启动：POST 此路径，body {qr}（互联互通订单）"}
    )


class MpScanOut(Schema):
    connector = fields.Nested(
        MpConnectorOut, allow_none=True, metadata={"description": "合作方二维码时为 null"}
    )
    station = fields.Nested(MpStationBrief, allow_none=True)
    price = fields.Nested(MpPriceOut, allow_none=True)
    service_discount_rate = fields.Decimal(as_string=True, allow_none=True, metadata=DECIMAL_STRING)
    balance_fen = fields.Integer()
    can_start = fields.Boolean()
    reason = fields.Nested(MpReasonOut, allow_none=True)
    partner = fields.Nested(
        MpHlhtScanOut,
        allow_none=True,
        metadata={"description": "合作平台的 hlht:// 二维码（本平台作为客户方）；否则 null"},
    )


def partner_scan(scan: Any) -> dict[str, Any]:
    """A partner's scan in the shape of :class:`MpScanOut` (``partner`` filled)."""
    return {
        "connector": None, "station": None, "price": None, "service_discount_rate": None,
        "balance_fen": scan.balance_fen, "can_start": scan.can_start, "reason": scan.reason,
        "partner": scan,
    }  # fmt: skip


class MpStartIn(Schema):
    connector_id = ident(required=True)
    client_request_id = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{8,40}$", error="应为 8~40 位字母、数字、_ 或 -"),
    )


class MpBillLineOut(Schema):
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


class MpBillOut(Schema):
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


class MpLiveOrderOut(Schema):
    order_no = fields.String(attribute="order.order_no")
    state = fields.String(attribute="order.state")
    station_id = fields.Integer(attribute="order.station_id", allow_none=True)
    station_name = fields.String()
    pile_code = fields.String()
    connector_number = fields.Integer(attribute="order.connector_number", allow_none=True)
    pile_online = fields.Boolean()
    can_stop = fields.Boolean()
    hint = fields.String(
        allow_none=True,
        metadata={
            "description": "给车主的说明：充电桩离线时的停止指引、账单确认中（最迟结算时间）、故障"
        },
    )
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
        "service_discount_rate": decimal_str(bill.service_discount_rate),
        "occupancy_minutes": bill.occupancy_minutes, "occupancy_fen": bill.occupancy_fen,
        "coupon_id": bill.coupon_id, "coupon_fen": bill.coupon_fen,
        "total_fen": bill.total_fen,
        "lines": [
            {
                "segment_start": _iso(line["segment_start"]),
                "segment_end": _iso(line["segment_end"]), "tier": line["tier"],
                "energy_wh": line["energy_wh"],
                "electricity_price": decimal_str(line["electricity_price"]),
                "service_price": decimal_str(line["service_price"]),
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


class MpStartOut(Schema):
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


class MpOrderSummaryOut(Schema):
    order_no = fields.String(attribute="order.order_no")
    state = fields.String(attribute="order.state")
    station_name = fields.String()
    energy_wh = fields.Integer(attribute="order.energy_wh")
    energy_kwh = fields.Function(lambda s: _kwh(s.order.energy_wh))
    total_fen = fields.Integer(allow_none=True)
    requested_at = fields.DateTime(attribute="order.requested_at")
    started_at = fields.DateTime(attribute="order.started_at", allow_none=True)
    stopped_at = fields.DateTime(attribute="order.stopped_at", allow_none=True)
    partner = fields.Nested(
        MpPartnerMarkOut,
        allow_none=True,
        dump_default=None,
        metadata={
            "description": "合作运营商充电桩上的订单（互联互通）时为其运营商，详情见 "
            "/hlht/orders/{order_no}；本平台的订单为 null"
        },
    )


class MpPaymentOut(Schema):
    paid_fen = fields.Integer()
    arrears_fen = fields.Integer()
    settled_at = fields.DateTime()


class MpOrderDetailOut(MpLiveOrderOut):
    payment = fields.Nested(MpPaymentOut, allow_none=True)


class MpCouponOut(Schema):
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
    usable = fields.Boolean(metadata={"description": "本单能否使用"})
    refusal_code = fields.String(allow_none=True, metadata={"description": "不能使用的原因代码"})
    refusal = fields.String(allow_none=True, metadata={"description": "不能使用的原因"})


class MpCouponChoiceOut(Schema):
    choice = fields.String(metadata={"description": "default | none | chosen | final"})
    selected_coupon_id = fields.Integer(allow_none=True)
    coupons = fields.List(fields.Nested(MpCouponOut))


class MpCouponChoiceIn(Schema):
    coupon_id = ident(allow_none=True, load_default=None)
    use_default = fields.Boolean(load_default=False)


class MpHlhtStartIn(Schema):
    qr = fields.String(required=True, validate=validate.Length(min=1, max=200))


class MpHlhtOrderOut(Schema):
    order_no = fields.String()
    state = fields.String()
    connector_code = fields.String()
    energy_wh = fields.Integer()
    charged_fen = fields.Integer()


class MpHlhtBillOut(Schema):
    estimated = fields.Boolean(
        metadata={"description": "合作方账单未到，按其价格预估（到达后多退少补）"}
    )
    energy_wh = fields.Integer()
    energy_kwh = fields.Function(lambda o: _kwh(o.energy_wh))
    electricity_fen = fields.Integer(attribute="partner_elec_fen", allow_none=True)
    service_fen = fields.Integer(attribute="partner_service_fen", allow_none=True)
    total_fen = fields.Integer(attribute="charged_fen")
    settled_at = fields.DateTime(allow_none=True)


class MpHlhtLiveOut(Schema):
    order_no = fields.String(attribute="order.order_no")
    state = fields.String(
        attribute="order.state",
        metadata={"description": "starting | charging | stopping | finished | settled | failed"},
    )
    partner_name = fields.String()
    station_name = fields.String(allow_none=True)
    connector_code = fields.String(attribute="order.connector_code")
    energy_wh = fields.Integer(attribute="order.energy_wh")
    energy_kwh = fields.Function(lambda v: _kwh(v.order.energy_wh))
    amount_fen = fields.Integer(
        metadata={"description": "至今费用：合作方给出的，或按其价格计算（不为 0）；结算后为实扣"}
    )
    elapsed_seconds = fields.Integer()
    can_stop = fields.Boolean()
    hint = fields.String(allow_none=True)
    started_at = fields.DateTime(attribute="order.started_at", allow_none=True)
    stopped_at = fields.DateTime(attribute="order.stopped_at", allow_none=True)
    bill = fields.Nested(
        MpHlhtBillOut, allow_none=True, metadata={"description": "已结算的账单；未结算为 null"}
    )


class MpHlhtOrderQuery(MpPageQuery):
    state = fields.String(validate=validate.OneOf(tuple(CustomerState)))


class MpHlhtOrderSummaryOut(Schema):
    order_no = fields.String(attribute="order.order_no")
    state = fields.String(attribute="order.state")
    partner_name = fields.String()
    station_name = fields.String(allow_none=True)
    connector_code = fields.String(attribute="order.connector_code")
    energy_wh = fields.Integer(attribute="order.energy_wh")
    energy_kwh = fields.Function(lambda v: _kwh(v.order.energy_wh))
    amount_fen = fields.Integer(metadata={"description": "结算后为实扣，否则为至今费用"})
    estimated = fields.Boolean(attribute="order.estimated")
    created_at = fields.DateTime(attribute="order.created_at")
    started_at = fields.DateTime(attribute="order.started_at", allow_none=True)
    stopped_at = fields.DateTime(attribute="order.stopped_at", allow_none=True)


class MpHlhtNearbyQuery(MpPageQuery):
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    radius_m = fields.Integer(load_default=5000, validate=validate.Range(min=1, max=100_000))


class MpHlhtStationOut(Schema):
    station_id = fields.String(
        attribute="station.station_code", metadata={"description": "合作方 StationID"}
    )
    name = fields.String(attribute="station.name")
    address = fields.String(attribute="station.address")
    latitude = fields.String(attribute="station.latitude")
    longitude = fields.String(attribute="station.longitude")
    operator_id = fields.String(metadata={"description": "合作方 OperatorID"})
    partner_name = fields.String(metadata={"description": "标注：合作运营商的电站"})
    distance_m = fields.Integer()
    connectors = fields.Integer()
    free_connectors = fields.Integer(metadata={"description": "最近一次同步的空闲枪数"})
    lowest_price = fields.Nested(MpHlhtPriceOut, allow_none=True)
