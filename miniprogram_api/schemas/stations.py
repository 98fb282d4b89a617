"""Nearby stations, a station's detail and the customer-service phone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from marshmallow import fields, validate

from app.openapi import DECIMAL_STRING, ClockField, PageMeta, Schema
from miniprogram_api.schemas.common import (
    MpBrandOut,
    MpPageQuery,
    MpPartnerMarkOut,
    decimal_str,
    partner_mark,
)

if TYPE_CHECKING:
    from app.paging import Page


class MpNearbyQuery(MpPageQuery):
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    radius_m = fields.Integer(load_default=5000, validate=validate.Range(min=1, max=100_000))
    free_only = fields.Boolean(load_default=False)
    current_type = fields.String(validate=validate.OneOf(("AC", "DC")))


class MpPriceOut(Schema):
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


class MpConnectorCountsOut(Schema):
    ac_total = fields.Integer()
    ac_free = fields.Integer()
    dc_total = fields.Integer()
    dc_free = fields.Integer()


class MpNearbyStationOut(Schema):
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
    partner = fields.Nested(
        MpPartnerMarkOut,
        allow_none=True,
        dump_default=None,
        metadata={"description": "合作运营商的电站（互联互通）时为其运营商；本平台的为 null"},
    )


class MpNearbyStationPage(PageMeta):
    items = fields.List(fields.Nested(MpNearbyStationOut))


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
                "latitude": decimal_str(st.latitude),
                "longitude": decimal_str(st.longitude),
                "distance_m": it.distance_m,
                "partner": partner_mark(it),
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
                    "electricity_price": decimal_str(price.electricity_price),
                    "service_price": decimal_str(price.service_price),
                    "member_service_price": decimal_str(price.member_service_price),
                    "total_price": decimal_str(price.total_price),
                },
            }
        )
    return {"total": page.total, "page": page.page, "page_size": page.page_size, "items": items}


class MpStationDetailQuery(Schema):
    lat = fields.Float(validate=validate.Range(min=-90, max=90))
    lng = fields.Float(validate=validate.Range(min=-180, max=180))
    partner = fields.Boolean(
        load_default=False,
        metadata={"description": "true：合作运营商的电站（附近列表中 partner 非 null 的项）"},
    )


class MpConnectorOut(Schema):
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


class MpDriverPriceOut(Schema):
    tariff_version_id = fields.Integer()
    timezone = fields.String()
    pricing_group = fields.String()
    service_discount_rate = fields.Decimal(as_string=True, allow_none=True, metadata=DECIMAL_STRING)
    current = fields.Nested(MpPriceOut)
    segments = fields.List(fields.Nested(MpPriceOut))


class MpReasonOut(Schema):
    code = fields.String()
    message = fields.String()
    details = fields.Dict()


class MpOccupancyRuleOut(Schema):
    grace_minutes = fields.Integer()
    price_per_minute = fields.Decimal(
        as_string=True, metadata={**DECIMAL_STRING, "description": "元/分钟"}
    )
    cap_fen = fields.Integer(allow_none=True)


class MpStationDetailOut(Schema):
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
    partner = fields.Nested(
        MpPartnerMarkOut,
        allow_none=True,
        dump_default=None,
        metadata={
            "description": "合作运营商的电站时为其运营商（按 ?partner=true 查询）；本平台的为 null"
        },
    )


class MpCustomerServiceOut(Schema):
    phone = fields.String(allow_none=True)
    label = fields.String(allow_none=True)
    start = ClockField(attribute="start_minute", allow_none=True)
    end = ClockField(attribute="end_minute", allow_none=True)
