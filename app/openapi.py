"""The flask-smorest Api, adjusted to the platform's one error contract."""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
from flask_smorest import Api
from marshmallow import fields

from app.state import Slot


class ErrorDetailSchema(ma.Schema):
    code = ma.fields.String(
        required=True, metadata={"description": "稳定的机器可读错误码，如 WALLET_INSUFFICIENT"}
    )
    message = ma.fields.String(required=True, metadata={"description": "给人看的中文说明"})
    details = ma.fields.Dict(metadata={"description": "字段错误或上下文"})


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorDetailSchema, required=True)


class EvopApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        # app.errors.register_error_handlers owns every error response
        return None


# the application's one Api: the surfaces register their blueprints on it
HTTP_API: Slot[EvopApi] = Slot("OpenAPI document and its blueprints")

# fields.Decimal(as_string=True) dumps "22.531460"; apispec would document it as a number
DECIMAL_STRING = {"type": "string", "format": "decimal"}

# --- schema pieces both APIs share ---------------------------------------------------

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


class ClockField(fields.Field):
    """'HH:MM' on the wire, minutes of the day inside; '24:00' is the end of the day."""

    default_error_messages = {"invalid": "时间格式应为 HH:MM（00:00~24:00）"}

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return f"{value // 60:02d}:{value % 60:02d}"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or not _CLOCK.match(value):
            raise self.make_error("invalid")
        hours, minutes = value.split(":")
        return int(hours) * 60 + int(minutes)


class PageMeta(ma.Schema):
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)


def page_of(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    return type(name, (PageMeta,), {"items": fields.List(fields.Nested(item_schema))})
