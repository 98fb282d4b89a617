"""Request and response schemas of the admin API (they become the OpenAPI document)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from app.ledger import wallet
from app.openapi import DECIMAL_STRING
from app.openapi import ClockField as ClockField  # shared by both APIs
from app.openapi import PageMeta as PageMeta
from app.openapi import page_of as page_of
from app.pricing import Segment


class PageQuery(ma.Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


# --- auth ----------------------------------------------------------------------------------


class LoginIn(ma.Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=50))
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))


class UserOut(ma.Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()


class OperatorBrief(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    brand_color = fields.String()
    logo_url = fields.String()


class LoginOut(ma.Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    user = fields.Nested(UserOut)


class MeOut(ma.Schema):
    user = fields.Nested(UserOut)
    operator = fields.Nested(OperatorBrief)
    permissions = fields.List(fields.String())


class PermissionOut(ma.Schema):
    code = fields.String()
    name = fields.String()
    group = fields.String()


class PermissionList(ma.Schema):
    items = fields.List(fields.Nested(PermissionOut))


# --- operators ------------------------------------------------------------------------------


class OperatorQuery(PageQuery):
    q = fields.String()


class OperatorOut(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    parent_id = fields.Integer(allow_none=True)
    contact_name = fields.String()
    contact_phone = fields.String()
    brand_color = fields.String()
    logo_url = fields.String()
    wechat_app_id = fields.String()
    wechat_app_secret_set = fields.Function(lambda o: bool(o.wechat_app_secret))
    wechat_mch_id = fields.String()
    wechat_mch_cert_serial = fields.String()
    wechat_pay_configured = fields.Boolean()
    created_at = fields.DateTime()


class OperatorIn(ma.Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    contact_name = fields.String(validate=validate.Length(max=50))
    contact_phone = fields.String(validate=validate.Length(max=30))
    brand_color = fields.String(validate=validate.Length(max=9))
    logo_url = fields.String(validate=validate.Length(max=500))
    wechat_app_id = fields.String(validate=validate.Length(max=64))
    wechat_app_secret = fields.String(load_only=True, validate=validate.Length(max=128))
    wechat_mch_id = fields.String(validate=validate.Length(max=32))
    wechat_mch_cert_serial = fields.String(validate=validate.Length(max=64))
    wechat_mch_private_key = fields.String(load_only=True)
    wechat_apiv3_key = fields.String(load_only=True, validate=validate.Length(equal=32))


class OperatorPatch(OperatorIn):
    name = fields.String(validate=validate.Length(min=1, max=100))


# --- roles and admin users --------------------------------------------------------------------


class RoleOut(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    operator_id = fields.Integer()
    permissions = fields.List(fields.String())


class RoleIn(ma.Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    operator_id = fields.Integer()
    permissions = fields.List(fields.String(), load_default=list)


class RolePatch(ma.Schema):
    name = fields.String(validate=validate.Length(min=1, max=50))
    permissions = fields.List(fields.String())


class RoleBrief(ma.Schema):
    id = fields.Integer()
    name = fields.String()


class AdminUserQuery(PageQuery):
    q = fields.String()


class AdminUserOut(ma.Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    operator_id = fields.Integer()
    operator_name = fields.Function(lambda u: u.operator.name)
    role_ids = fields.Function(lambda u: sorted(r.id for r in u.roles))
    roles = fields.List(fields.Nested(RoleBrief))
    is_active = fields.Boolean()
    last_login_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class AdminUserIn(ma.Schema):
    username = fields.String(
        required=True,
        validate=[
            validate.Length(min=3, max=50),
            validate.Regexp(r"^[A-Za-z0-9_.-]+$", error="只能包含字母、数字和 _ . -"),
        ],
    )
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=128))
    display_name = fields.String(validate=validate.Length(max=50))
    operator_id = fields.Integer()
    role_ids = fields.List(fields.Integer(), load_default=list)


class AdminUserPatch(ma.Schema):
    display_name = fields.String(validate=validate.Length(max=50))
    password = fields.String(load_only=True, validate=validate.Length(max=128))
    role_ids = fields.List(fields.Integer())
    is_active = fields.Boolean()


# --- tariffs --------------------------------------------------------------------------------


TIERS = ("sharp", "peak", "flat", "valley")


class SegmentSchema(ma.Schema):
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


class TariffVersionOut(ma.Schema):
    id = fields.Integer()
    version = fields.Integer()
    created_at = fields.DateTime()
    segments = fields.List(fields.Nested(SegmentSchema))


class TariffOut(ma.Schema):
    id = fields.Integer()
    operator_id = fields.Integer()
    name = fields.String()
    current_version = fields.Nested(TariffVersionOut, allow_none=True)
    created_at = fields.DateTime()


class TariffQuery(PageQuery):
    q = fields.String()
    operator_id = fields.Integer()


class TariffIn(ma.Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    operator_id = fields.Integer()
    segments = fields.List(fields.Nested(SegmentSchema), required=True)


class TariffPatch(ma.Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


class SegmentsIn(ma.Schema):
    segments = fields.List(fields.Nested(SegmentSchema), required=True)


class TariffVersionList(ma.Schema):
    items = fields.List(fields.Nested(TariffVersionOut))


# --- stations -------------------------------------------------------------------------------


class StationQuery(PageQuery):
    q = fields.String()
    operator_id = fields.Integer()
    city = fields.String()


class StationOut(ma.Schema):
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
    pile_count = fields.Integer()
    created_at = fields.DateTime()


class StationIn(ma.Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    address = fields.String(validate=validate.Length(max=200))
    city = fields.String(validate=validate.Length(max=50))
    longitude = fields.Decimal(required=True, places=6)
    latitude = fields.Decimal(required=True, places=6)
    timezone = fields.String(validate=validate.Length(max=64))
    status = fields.String(validate=validate.OneOf(("active", "inactive")))
    operator_id = fields.Integer()
    tariff_id = fields.Integer(allow_none=True)
    visible_to_operator_ids = fields.List(fields.Integer())


class StationPatch(StationIn):
    name = fields.String(validate=validate.Length(min=1, max=100))
    longitude = fields.Decimal(places=6)
    latitude = fields.Decimal(places=6)


# --- piles ------------------------------------------------------------------------------------


class ConnectorOut(ma.Schema):
    id = fields.Integer()
    number = fields.Integer()
    qr_payload = fields.String()
    status = fields.String()
    status_at = fields.DateTime(allow_none=True)


class PileQuery(PageQuery):
    q = fields.String()
    station_id = fields.Integer()
    protocol = fields.String(validate=validate.OneOf(("ocpp16", "ykc")))


class PileOut(ma.Schema):
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
    connectors = fields.List(fields.Nested(ConnectorOut))
    created_at = fields.DateTime()


class PileIn(ma.Schema):
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


class PilePatch(ma.Schema):
    station_id = fields.Integer(allow_none=True)
    vendor = fields.String(validate=validate.Length(max=50))
    model = fields.String(validate=validate.Length(max=50))
    firmware = fields.String(validate=validate.Length(max=50))
    serial_number = fields.String(validate=validate.Length(max=64))
    current_type = fields.String(validate=validate.OneOf(("AC", "DC")))
    rated_power_kw = fields.Decimal(validate=validate.Range(min=0, min_inclusive=False))


class HardwareIn(ma.Schema):
    vendor = fields.String(required=True, validate=validate.Length(min=1, max=50))
    model = fields.String(required=True, validate=validate.Length(min=1, max=50))
    firmware = fields.String(validate=validate.Length(max=50))
    serial_number = fields.String(validate=validate.Length(max=64))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class HardwareOut(ma.Schema):
    id = fields.Integer()
    vendor = fields.String()
    model = fields.String()
    firmware = fields.String()
    serial_number = fields.String()
    installed_at = fields.DateTime()
    removed_at = fields.DateTime(allow_none=True)
    reason = fields.String()


class HardwareList(ma.Schema):
    items = fields.List(fields.Nested(HardwareOut))


class ConnectorIn(ma.Schema):
    number = fields.Integer(required=True, validate=validate.Range(min=1, max=99))


# --- members and audit ----------------------------------------------------------------------


class MemberQuery(PageQuery):
    q = fields.String()
    operator_id = fields.Integer()
    pricing_group = fields.String()


class MemberOut(ma.Schema):
    id = fields.Integer()
    operator_id = fields.Integer()
    nickname = fields.String()
    phone = fields.String()
    pricing_group = fields.String()
    balance_fen = fields.Function(lambda d: wallet.balance_of(d.id))
    created_at = fields.DateTime()


class WalletEntryOut(ma.Schema):
    id = fields.Integer()
    amount_fen = fields.Integer()
    balance_after_fen = fields.Integer()
    reason = fields.String()
    ref_type = fields.String()
    ref_id = fields.String()
    actor_type = fields.String()
    actor_id = fields.Integer(allow_none=True)
    note = fields.String()
    created_at = fields.DateTime()


class WalletAdjustIn(ma.Schema):
    amount_fen = fields.Integer(
        required=True, validate=validate.Range(min=-10_000_000, max=10_000_000)
    )
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class AuditQuery(PageQuery):
    target_type = fields.String()
    target_id = fields.String()
    action = fields.String()


class AuditOut(ma.Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor_type = fields.String()
    actor_id = fields.Integer(allow_none=True)
    actor_name = fields.String()
    operator_id = fields.Integer(allow_none=True)
    action = fields.String()
    target_type = fields.String()
    target_id = fields.String()
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    reason = fields.String()
