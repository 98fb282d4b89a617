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


class MpPartnerMarkOut(Schema):
    """Whose a station or an order is when it is a partner's (T/CEC 102 interconnection)."""

    operator_id = fields.String(metadata={"description": "合作运营商的 9 位组织机构代码"})
    name = fields.String(metadata={"description": "合作运营商名称（标注：合作运营商的）"})


def partner_mark(item: Any) -> dict[str, str] | None:
    """The ``partner`` of a list item: None for ours (which have no such attribute)."""
    mark = getattr(item, "partner", None)
    return None if mark is None else {"operator_id": mark.operator_id, "name": mark.name}


def decimal_str(value: Decimal | None) -> str | None:
    """A decimal as ``fields.Decimal(as_string=True)`` writes it (for the hand-written dumps)."""
    return None if value is None else format(Decimal(value), "f")
