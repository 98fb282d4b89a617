"""Schema pieces every area of the drivers' API uses."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from marshmallow import fields, validate

from app.openapi import MAX_ID, Schema

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


class MpPageQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))


class MpBrandOut(Schema):
    id = fields.Integer()
    name = fields.String()
    brand_color = fields.String()
    logo_url = fields.String()


def decimal_str(value: Decimal | None) -> str | None:
    """A decimal as ``fields.Decimal(as_string=True)`` writes it (for the hand-written dumps)."""
    return None if value is None else format(Decimal(value), "f")
