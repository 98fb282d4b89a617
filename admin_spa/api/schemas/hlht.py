"""Interconnection partners (T/CEC 102): secrets are write-only."""

from __future__ import annotations

from marshmallow import fields, validate

from app.charging.models import OrderState
from app.hlht.models import CustomerState, PushState
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
    grant_member_discount = fields.Boolean(
        metadata={
            "description": "本平台车主在其电站充电时，合作方价格是否享受本平台会员折扣（默认否）"
        }
    )
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
    grant_member_discount = fields.Boolean(
        metadata={
            "description": "本平台车主在其电站充电时，合作方价格是否享受本平台会员折扣（默认否）"
        }
    )
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


class PushQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    partner_id = fields.Integer(validate=validate.Range(min=1))
    state = fields.String(validate=validate.OneOf([s.value for s in PushState]))
    interface = fields.String(validate=validate.Length(max=64))


class PushOut(Schema):
    id = fields.Integer()
    partner_id = fields.Integer()
    interface = fields.String(
        metadata={"description": "T/CEC 102 接口名，如 notification_charge_order_info"}
    )
    order_id = fields.Integer(allow_none=True)
    payload = fields.Dict(metadata={"description": "推送的 Data（解密后的明文）"})
    state = fields.String(
        metadata={
            "description": "pending 待发送 / delivered 已送达 / discarded 对方丢弃 / failed 失败"
        }
    )
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_ret = fields.Integer(allow_none=True)
    last_msg = fields.String()
    created_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)


class PushAttemptOut(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    ret = fields.Integer(
        allow_none=True, metadata={"description": "对方的 Ret；空：未得到可读的应答"}
    )
    msg = fields.String()
    answer = fields.Dict(allow_none=True, metadata={"description": "对方应答的 Data（解密后）"})
    error = fields.String()


class PushDetailOut(PushOut):
    attempt_log = fields.List(fields.Nested(PushAttemptOut))


class CustomerOrderQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    partner_id = fields.Integer(validate=validate.Range(min=1))
    driver_id = fields.Integer(validate=validate.Range(min=1))
    state = fields.String(validate=validate.OneOf([s.value for s in CustomerState]))
    disputed = fields.Boolean(metadata={"description": "合作方对账（check_charge_orders）有争议"})
    estimated = fields.Boolean(metadata={"description": "合作方账单未到，按其价格预估结算"})


class CustomerOrderOut(Schema):
    id = fields.Integer(attribute="order.id")
    order_no = fields.String(attribute="order.order_no")
    start_charge_seq = fields.String(
        attribute="order.start_charge_seq", metadata={"description": "我方的 StartChargeSeq"}
    )
    partner_id = fields.Integer(attribute="order.partner_id")
    partner_name = fields.String(metadata={"description": "合作运营商（桩属方）"})
    operator_id = fields.String(metadata={"description": "合作运营商的 OperatorID"})
    driver_id = fields.Integer(attribute="order.driver_id")
    connector_code = fields.String(attribute="order.connector_code")
    state = fields.String(
        attribute="order.state",
        metadata={"description": "starting | charging | stopping | finished | settled | failed"},
    )
    fail_reason = fields.String(attribute="order.fail_reason")
    energy_wh = fields.Integer(attribute="order.energy_wh")
    partner_total_fen = fields.Integer(
        attribute="order.partner_total_fen",
        allow_none=True,
        metadata={"description": "合作方账单金额（分）；未到为 null"},
    )
    member_discount_fen = fields.Integer(
        attribute="order.member_discount_fen", metadata={"description": "本平台会员折扣（分）"}
    )
    charged_fen = fields.Integer(
        attribute="order.charged_fen", metadata={"description": "已从车主钱包扣除（分）"}
    )
    estimate_fen = fields.Integer(
        allow_none=True,
        metadata={"description": "我方按合作方价格的预估（分，未扣会员折扣）；未预估为 null"},
    )
    estimated = fields.Boolean(attribute="order.estimated")
    disputed = fields.Boolean(attribute="order.disputed")
    dispute_reason = fields.String(attribute="order.dispute_reason")
    created_at = fields.DateTime(attribute="order.created_at")
    started_at = fields.DateTime(attribute="order.started_at", allow_none=True)
    stopped_at = fields.DateTime(attribute="order.stopped_at", allow_none=True)
    settled_at = fields.DateTime(attribute="order.settled_at", allow_none=True)
    reconciled_at = fields.DateTime(attribute="order.reconciled_at", allow_none=True)


class RoamingOrderQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    partner_id = fields.Integer(validate=validate.Range(min=1))
    state = fields.String(validate=validate.OneOf([s.value for s in OrderState]))
    disputed = fields.Boolean(
        metadata={"description": "合作方对订单有异议（ConfirmResult 1 或对账不符）"}
    )
    estimated = fields.Boolean(metadata={"description": "桩的结算记录未到，按电价预估结算"})


class RoamingOrderOut(Schema):
    id = fields.Integer(attribute="order.id", metadata={"description": "充电订单 id"})
    order_no = fields.String(attribute="order.order_no")
    start_charge_seq = fields.String(
        attribute="roaming.start_charge_seq", metadata={"description": "合作方的 StartChargeSeq"}
    )
    partner_id = fields.Integer(attribute="roaming.partner_id")
    partner_name = fields.String(metadata={"description": "合作平台（车主所属方）"})
    operator_id = fields.String(metadata={"description": "合作平台的 OperatorID"})
    station_name = fields.String()
    pile_code = fields.String()
    connector_code = fields.String(
        attribute="roaming.connector_code", metadata={"description": "对方所用 ConnectorID"}
    )
    state = fields.String(attribute="order.state", metadata={"description": "充电订单状态"})
    energy_wh = fields.Integer(attribute="order.energy_wh")
    total_fen = fields.Integer(
        attribute="bill.total_fen", allow_none=True, metadata={"description": "账单金额（分）"}
    )
    bill_estimated = fields.Boolean(
        attribute="bill.estimated", allow_none=True, metadata={"description": "账单为预估结算"}
    )
    confirm_result = fields.Integer(
        attribute="roaming.confirm_result",
        allow_none=True,
        metadata={"description": "合作方对订单推送的 ConfirmResult（0 一致，1 有异议）"},
    )
    disputed = fields.Boolean(attribute="roaming.disputed")
    dispute_reason = fields.String(attribute="roaming.dispute_reason")
    created_at = fields.DateTime(attribute="roaming.created_at")
    started_at = fields.DateTime(attribute="order.started_at", allow_none=True)
    stopped_at = fields.DateTime(attribute="order.stopped_at", allow_none=True)
    settled_at = fields.DateTime(attribute="bill.settled_at", allow_none=True)


class StatementQuery(Schema):
    partner_id = fields.Integer(required=True, validate=validate.Range(min=1))
    month = fields.String(
        required=True,
        validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"),
        metadata={"description": "结算月份 YYYY-MM（按平台时区 Asia/Shanghai 的自然月）"},
    )
