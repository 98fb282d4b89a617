"""Interconnection partners (T/CEC 102): secrets are write-only."""

from __future__ import annotations

from marshmallow import fields, validate

from app.hlht.partners import SECRET_FIELDS
from app.openapi import Schema

_KEY16 = validate.Length(equal=16)


class PartnerOut(Schema):
    id = fields.Integer()
    operator_id = fields.String(metadata={"description": "合作平台的 9 位组织机构代码"})
    name = fields.String()
    base_url = fields.String()
    roles = fields.String(
        metadata={"description": "emsp（它的车主用我们的桩）、cpo（我们的车主用它的桩）"}
    )
    dialect = fields.String()
    share_all_stations = fields.Boolean()
    shared_station_ids = fields.List(fields.Integer())
    secrets_set = fields.Function(
        lambda p: {name: bool(getattr(p, name)) for name in SECRET_FIELDS},
        metadata={"description": "各密钥是否已设置（密钥本身永不返回）"},
    )
    created_at = fields.DateTime()


class _PartnerFields(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    base_url = fields.String(validate=validate.Length(max=300))
    roles = fields.String(validate=validate.Length(max=32))
    dialect = fields.String(validate=validate.OneOf(("cec2016", "xiaoju")))
    share_all_stations = fields.Boolean()
    shared_station_ids = fields.List(fields.Integer(validate=validate.Range(min=1)))
    operator_secret = fields.String(load_only=True, validate=validate.Length(max=64))
    our_operator_secret = fields.String(load_only=True, validate=validate.Length(max=64))
    in_data_secret = fields.String(load_only=True, validate=_KEY16)
    in_data_iv = fields.String(load_only=True, validate=_KEY16)
    in_sig_secret = fields.String(load_only=True, validate=validate.Length(max=64))
    out_data_secret = fields.String(load_only=True, validate=_KEY16)
    out_data_iv = fields.String(load_only=True, validate=_KEY16)
    out_sig_secret = fields.String(load_only=True, validate=validate.Length(max=64))


class PartnerIn(_PartnerFields):
    operator_id = fields.String(required=True, validate=validate.Length(equal=9))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    operator_secret = fields.String(required=True, load_only=True, validate=validate.Length(max=64))
    our_operator_secret = fields.String(
        required=True, load_only=True, validate=validate.Length(max=64)
    )
    in_data_secret = fields.String(required=True, load_only=True, validate=_KEY16)
    in_data_iv = fields.String(required=True, load_only=True, validate=_KEY16)
    in_sig_secret = fields.String(required=True, load_only=True, validate=validate.Length(max=64))


class PartnerPatch(_PartnerFields):
    """Fields left out stay; a secret given replaces the old one."""
