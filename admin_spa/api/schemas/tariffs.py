"""Tariffs: versioned time-of-use segments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from admin_spa.api.schemas.common import PageQuery
from app.openapi import DECIMAL_STRING, ClockField, Schema
from app.pricing import Segment

TIERS = ("sharp", "peak", "flat", "valley")


class SegmentSchema(Schema):
    start = ClockField(required=True, attribute="start_minute", data_key="start")
    end = ClockField(required=True, attribute="end_minute", data_key="end")
    tier = fields.String(required=True, validate=validate.OneOf(TIERS))
    electricity_price = fields.Decimal(required=True, as_string=True, metadata=DECIMAL_STRING)
    service_price = fields.Decimal(required=True, as_string=True, metadata=DECIMAL_STRING)

    @ma.post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Segment:
        return Segment(
            start_minute=data["start_minute"],
            end_minute=data["end_minute"],
            tier=data["tier"],
            electricity_price=Decimal(data["electricity_price"]),
            service_price=Decimal(data["service_price"]),
        )


class TariffVersionOut(Schema):
    id = fields.Integer()
    version = fields.Integer()
    created_at = fields.DateTime()
    segments = fields.List(fields.Nested(SegmentSchema))


class TariffOut(Schema):
    id = fields.Integer()
    operator_id = fields.Integer()
    name = fields.String()
    current_version = fields.Nested(TariffVersionOut, allow_none=True)
    created_at = fields.DateTime()


class TariffQuery(PageQuery):
    q = fields.String()
    operator_id = fields.Integer()


class TariffIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    operator_id = fields.Integer()
    # a full day, 00:00-24:00 (TARIFF_SEGMENTS_INCOMPLETE otherwise)
    segments = fields.List(fields.Nested(SegmentSchema), required=True, metadata={"minItems": 1})


class TariffPatch(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


class SegmentsIn(Schema):
    # a full day, 00:00-24:00 (TARIFF_SEGMENTS_INCOMPLETE otherwise)
    segments = fields.List(fields.Nested(SegmentSchema), required=True, metadata={"minItems": 1})


class TariffVersionList(Schema):
    items = fields.List(fields.Nested(TariffVersionOut))
