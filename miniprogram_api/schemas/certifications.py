"""Drivers' certification (ride-hailing / taxi, case #4)."""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import fields, validate

from app.drivers.models import CERTIFICATION_KINDS
from app.openapi import Schema


class MpCertificationForm(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(CERTIFICATION_KINDS))


class MpCertificationFiles(Schema):
    id_card = Upload(required=True, metadata={"description": "身份证（JPEG/PNG/WebP）"})
    driving_licence = Upload(required=True, metadata={"description": "驾驶证"})
    vehicle_photo = Upload(required=True, metadata={"description": "车辆照片"})


class MpCertificationFileOut(Schema):
    id = fields.Integer()
    role = fields.String()
    content_type = fields.String()
    size_bytes = fields.Integer()


class MpCertificationOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    state = fields.String(metadata={"description": "pending | approved | rejected | revoked"})
    reject_reason = fields.String()
    revoke_reason = fields.String()
    submitted_at = fields.DateTime()
    reviewed_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    files = fields.List(fields.Nested(MpCertificationFileOut))


class MpCurrentCertificationOut(Schema):
    pricing_group = fields.String()
    application = fields.Nested(MpCertificationOut, allow_none=True)
