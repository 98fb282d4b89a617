"""Schemas of WeChat Pay statement reconciliation (财务对账)."""

from __future__ import annotations

from marshmallow import fields, validate

from admin_spa.api.schemas.common import PageQuery
from app.openapi import Schema
from app.payments.models import MismatchKind, StatementRunState

STATES = tuple(s.value for s in StatementRunState)
KINDS = tuple(k.value for k in MismatchKind)


class RunQuery(PageQuery):
    date_from = fields.Date(metadata={"description": "账单日（北京时间）起，含"})
    date_to = fields.Date(metadata={"description": "账单日（北京时间）止，含"})
    operator_id = fields.Integer(metadata={"description": "平台管理员按运营商筛选"})
    state = fields.String(validate=validate.OneOf(STATES))


class RunIn(Schema):
    bill_date = fields.String(
        required=True,
        validate=validate.Length(min=10, max=10),
        metadata={"description": "对账的账单日 YYYY-MM-DD（北京时间，须早于今天）"},
    )
    operator_id = fields.Integer(
        metadata={"description": "平台管理员指定运营商；运营商管理员只能对自己的"}
    )


class RunOut(Schema):
    id = fields.Integer(required=True)
    operator_id = fields.Integer(required=True)
    bill_date = fields.Date(required=True)
    mch_id = fields.String(required=True)
    state = fields.String(
        required=True,
        validate=validate.OneOf(STATES),
        metadata={"description": "ok 一致 / mismatch 有差异 / not_ready 账单未生成 / failed 失败"},
    )
    wechat_lines = fields.Integer(required=True)
    our_lines = fields.Integer(required=True)
    matched_lines = fields.Integer(required=True)
    mismatch_count = fields.Integer(required=True)
    our_total_fen = fields.Integer(required=True, metadata={"description": "我方当日收入减退款"})
    wechat_total_fen = fields.Integer(required=True, metadata={"description": "微信账单收入减退款"})
    error_code = fields.String(required=True)
    error_message = fields.String(required=True)
    ran_at = fields.DateTime(required=True)


class MismatchOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    out_trade_no = fields.String(required=True)
    out_refund_no = fields.String(required=True)
    our_fen = fields.Integer(allow_none=True)
    wechat_fen = fields.Integer(allow_none=True)
    note = fields.String(required=True)


class MismatchList(Schema):
    run = fields.Nested(RunOut, required=True)
    items = fields.List(fields.Nested(MismatchOut), required=True)
