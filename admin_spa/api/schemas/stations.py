"""Stations."""

from __future__ import annotations

from marshmallow import fields, validate

from admin_spa.api.schemas.common import PageQuery
from app.openapi import DECIMAL_STRING, Schema

_LNG = {"minimum": 73, "maximum": 136}
_LAT = {"minimum": 3, "maximum": 54}


class StationQuery(PageQuery):
    q = fields.String()
    operator_id = fields.Integer()
    city = fields.String()


class StationOut(Schema):
    id = fields.Integer()
    operator_id = fields.Integer()
    operator_name = fields.Function(lambda s: s.operator.name)
    name = fields.String()
    address = fields.String()
    city = fields.String()
    longitude = fields.Decimal(as_string=True, metadata=DECIMAL_STRING)
    latitude = fields.Decimal(as_string=True, metadata=DECIMAL_STRING)
    timezone = fields.String()
    status = fields.String()
    tariff_id = fields.Integer(allow_none=True)
    tariff_name = fields.Function(lambda s: s.tariff.name if s.tariff else None)
    visible_to_operator_ids = fields.List(fields.Integer())
    pile_networks = fields.List(
        fields.String(), metadata={"description": "允许充电桩接入的来源网段；空表示不限"}
    )
    pile_count = fields.Integer()
    created_at = fields.DateTime()


class StationIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    address = fields.String(validate=validate.Length(max=200))
    city = fields.String(validate=validate.Length(max=50))
    # mainland China (STATION_INVALID outside it)
    longitude = fields.Decimal(required=True, places=6, metadata=_LNG)
    latitude = fields.Decimal(required=True, places=6, metadata=_LAT)
    timezone = fields.String(validate=validate.Length(max=64))
    status = fields.String(validate=validate.OneOf(("active", "inactive")))
    operator_id = fields.Integer()
    tariff_id = fields.Integer(allow_none=True)
    visible_to_operator_ids = fields.List(fields.Integer())
    # CIDR networks or addresses its piles may connect from (YKC carries no secret)
    pile_networks = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)), validate=validate.Length(max=32)
    )


class StationPatch(StationIn):
    name = fields.String(validate=validate.Length(min=1, max=100))
    longitude = fields.Decimal(places=6, metadata=_LNG)
    latitude = fields.Decimal(places=6, metadata=_LAT)
