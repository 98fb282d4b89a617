"""The driver's own pile password (issue 13)."""

from __future__ import annotations

from marshmallow import fields

from app.openapi import Schema


class MpChargingPasswordOut(Schema):
    has_password = fields.Boolean(
        metadata={"description": "是否有可用的充电密码（在充电桩键盘上输入即可启动充电）"}
    )
    issued_at = fields.DateTime(
        allow_none=True, metadata={"description": "当前密码的发放时间（UTC）；没有密码时为空"}
    )
    password = fields.String(
        allow_none=True,
        metadata={
            "description": "8 位数字密码：只在重置的应答中出现这一次（平台只保存其摘要，"
            "之后无法再查看，忘记时重置即可）；查询时总为空"
        },
    )
