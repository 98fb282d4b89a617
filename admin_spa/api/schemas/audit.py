"""The audit log."""

from __future__ import annotations

from marshmallow import fields

from admin_spa.api.schemas.common import PageQuery
from app.openapi import Schema


class AuditQuery(PageQuery):
    target_type = fields.String()
    target_id = fields.String()
    action = fields.String()


class AuditOut(Schema):
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
