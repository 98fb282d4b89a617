"""Login and the current admin."""

from __future__ import annotations

from marshmallow import fields, validate

from app.openapi import Schema


class LoginIn(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=50))
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))


class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()


class OperatorBrief(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    brand_color = fields.String()
    logo_url = fields.String()


class LoginOut(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    user = fields.Nested(UserOut)


class MeOut(Schema):
    user = fields.Nested(UserOut)
    operator = fields.Nested(OperatorBrief)
    permissions = fields.List(fields.String())


class PermissionOut(Schema):
    code = fields.String()
    name = fields.String()
    group = fields.String()


class PermissionList(Schema):
    items = fields.List(fields.Nested(PermissionOut))
