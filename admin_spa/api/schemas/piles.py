"""Piles, their connectors and their hardware history."""

from __future__ import annotations

from marshmallow import fields, validate

from admin_spa.api.schemas.common import PRINTABLE, PageQuery
from app.charging.pile_commands import PileCommand
from app.openapi import Schema


class ConnectorOut(Schema):
    id = fields.Integer()
    number = fields.Integer()
    qr_payload = fields.String()
    status = fields.String()
    status_at = fields.DateTime(allow_none=True)


class PileQuery(PageQuery):
    q = fields.String()
    station_id = fields.Integer()
    protocol = fields.String(validate=validate.OneOf(("ocpp16", "ykc")))


class PileOut(Schema):
    id = fields.Integer()
    code = fields.String()
    station_id = fields.Integer(allow_none=True)
    station_name = fields.Function(lambda p: p.station.name if p.station else None)
    operator_id = fields.Integer()
    protocol = fields.String()
    vendor = fields.String()
    model = fields.String()
    firmware = fields.String()
    serial_number = fields.String()
    current_type = fields.String()
    rated_power_kw = fields.Function(lambda p: p.rated_power_w / 1000)
    online = fields.Boolean()
    last_seen_at = fields.DateTime(allow_none=True)
    has_password = fields.Function(lambda p: bool(p.password_hash))
    password_set_at = fields.DateTime(allow_none=True)
    connectors = fields.List(fields.Nested(ConnectorOut))
    created_at = fields.DateTime()


class PileIn(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    station_id = fields.Integer(allow_none=True)
    protocol = fields.String(required=True, validate=validate.OneOf(("ocpp16", "ykc")))
    vendor = fields.String(validate=validate.Length(max=50))
    model = fields.String(validate=validate.Length(max=50))
    firmware = fields.String(validate=validate.Length(max=50))
    serial_number = fields.String(validate=validate.Length(max=64))
    current_type = fields.String(required=True, validate=validate.OneOf(("AC", "DC")))
    rated_power_kw = fields.Decimal(
        required=True, validate=validate.Range(min=0, min_inclusive=False)
    )
    connector_count = fields.Integer(load_default=1, validate=validate.Range(min=1, max=8))


class PilePatch(Schema):
    station_id = fields.Integer(allow_none=True)
    vendor = fields.String(validate=validate.Length(max=50))
    model = fields.String(validate=validate.Length(max=50))
    firmware = fields.String(validate=validate.Length(max=50))
    serial_number = fields.String(validate=validate.Length(max=64))
    current_type = fields.String(validate=validate.OneOf(("AC", "DC")))
    rated_power_kw = fields.Decimal(validate=validate.Range(min=0, min_inclusive=False))


class HardwareIn(Schema):
    vendor = fields.String(required=True, validate=validate.Length(min=1, max=50))
    model = fields.String(required=True, validate=validate.Length(min=1, max=50))
    firmware = fields.String(validate=validate.Length(max=50))
    serial_number = fields.String(validate=validate.Length(max=64))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class HardwareOut(Schema):
    id = fields.Integer()
    vendor = fields.String()
    model = fields.String()
    firmware = fields.String()
    serial_number = fields.String()
    installed_at = fields.DateTime()
    removed_at = fields.DateTime(allow_none=True)
    reason = fields.String()


class HardwareList(Schema):
    items = fields.List(fields.Nested(HardwareOut))


class ConnectorIn(Schema):
    number = fields.Integer(required=True, validate=validate.Range(min=1, max=99))


class PilePasswordOut(Schema):
    """Shown once: only a hash is kept."""

    pile_id = fields.Function(lambda n: n.pile.id)
    pile_code = fields.Function(lambda n: n.pile.code)
    username = fields.Function(lambda n: n.pile.code, metadata={"description": "HTTP Basic 用户名"})
    password = fields.String(metadata={"description": "只显示这一次"})
    password_set_at = fields.Function(lambda n: n.pile.password_set_at.isoformat())


class ConnectionEventOut(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    last_at = fields.DateTime()
    kind = fields.String(metadata={"description": "refused | replaced"})
    reason = fields.String()
    address = fields.String()
    protocol = fields.String()
    attempts = fields.Integer()


class PileCommandIn(Schema):
    command = fields.Enum(
        PileCommand,
        by_value=True,
        required=True,
        metadata={"description": "remote_stop 远程停止 | soft_reset/hard_reset 软/硬重启 | "
                  "make_available/make_unavailable 可用/停用 | unlock_connector 解锁枪 | "
                  "push_tariff 下发电价 | sync_time 校时"},
    )  # fmt: skip
    connector_number = fields.Integer(
        validate=validate.Range(min=0, max=99),
        metadata={"description": "枪号；可用/停用时 0 表示整桩"},
    )
    order_no = fields.String(
        validate=[validate.Length(max=32), PRINTABLE],
        metadata={"description": "远程停止的订单号（不填则停止该桩/枪正在进行的订单）"},
    )
    reason = fields.String(load_default="", validate=[validate.Length(max=200), PRINTABLE])


class PileCommandOut(Schema):
    command = fields.String(required=True)
    outcome = fields.String(
        required=True,
        metadata={"description": "accepted | rejected | pile_offline | timed_out | not_supported"},
    )
    detail = fields.String(required=True)
    order_no = fields.String(allow_none=True)
