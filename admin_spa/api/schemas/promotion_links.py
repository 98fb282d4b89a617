"""推广链接: deep links per sub-operator with QR images, and the official-account menu."""

from __future__ import annotations

from marshmallow import fields

from app.openapi import Schema


class PromotionLinkQuery(Schema):
    operator_id = fields.Integer(metadata={"description": "只看这个子运营商（平台管理员）"})


class PromotionLinkOut(Schema):
    key = fields.String(metadata={"description": "station_list | scan | station"})
    name = fields.String()
    url = fields.String(metadata={"description": "H5 页面地址（公众号菜单的「网页」链接）"})
    mp_path = fields.String(metadata={"description": "小程序页面路径"})
    qr_png = fields.String(metadata={"description": "url 的二维码，data:image/png;base64"})
    station_id = fields.Integer(allow_none=True)


class OperatorLinksOut(Schema):
    operator_id = fields.Integer()
    operator_name = fields.String()
    mini_program_app_id = fields.String()
    links = fields.List(fields.Nested(PromotionLinkOut))
    menu = fields.Dict(allow_none=True, metadata={"description": "公众号菜单 JSON"})
    menu_error = fields.String(
        allow_none=True, metadata={"description": "没有菜单 JSON 的原因（如未配置小程序）"}
    )


class OperatorLinksList(Schema):
    items = fields.List(fields.Nested(OperatorLinksOut))
