"""Drivers' certification review (ride-hailing / taxi)."""

from __future__ import annotations

from marshmallow import fields, validate

from admin_spa.api.schemas.common import PRINTABLE, PageQuery
from app.drivers.models import CERTIFICATION_KINDS, CERTIFICATION_STATES
from app.openapi import Schema


class CertificationQuery(PageQuery):
    state = fields.String(validate=validate.OneOf(CERTIFICATION_STATES))
    kind = fields.String(validate=validate.OneOf(CERTIFICATION_KINDS))
    driver_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    operator_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class CertificationFileAdminOut(Schema):
    id = fields.Integer()
    role = fields.String()
    content_type = fields.String()
    size_bytes = fields.Integer()
    sha256 = fields.String()


class CertificationAdminOut(Schema):
    id = fields.Integer()
    operator_id = fields.Integer()
    driver_id = fields.Integer()
    kind = fields.String()
    state = fields.String()
    reject_reason = fields.String()
    revoke_reason = fields.String()
    submitted_at = fields.DateTime()
    reviewed_at = fields.DateTime(allow_none=True)
    reviewed_by_id = fields.Integer(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    revoked_by_id = fields.Integer(allow_none=True)
    files = fields.List(fields.Nested(CertificationFileAdminOut))


class CertificationReasonIn(Schema):
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=200), PRINTABLE])
