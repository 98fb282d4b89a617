"""The official-account menu and the fixed links into the mini-program (case #3)."""

from __future__ import annotations

from marshmallow import fields, validate

from app.openapi import Schema
from miniprogram_api.schemas.common import Text, ident


class MpDeepLinkQuery(Schema):
    station_id = ident()
    app_id = Text(validate=validate.Length(max=64))
    order_no = Text(validate=validate.Regexp(r"^[0-9A-Za-z_-]{1,40}$"))


class MpDeepLinkOut(Schema):
    key = fields.String()
    name = fields.String()
    url = fields.String()
    mp_path = fields.String()


class MpDeepLinksOut(Schema):
    mini_program_app_id = fields.String()
    items = fields.List(fields.Nested(MpDeepLinkOut))
    menu = fields.Dict(allow_none=True, metadata={"description": "公众号菜单 JSON"})
