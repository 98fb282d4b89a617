"""Roles and admin users."""

from __future__ import annotations

from marshmallow import fields, validate

from admin_spa.api.schemas.common import PageQuery
from app.openapi import Schema
from app.tenancy.admin_auth import MIN_PASSWORD_LENGTH


class RoleOut(Schema):
    id = fields.Integer()
    name = fields.String()
    operator_id = fields.Integer()
    permissions = fields.List(fields.String())


class RoleIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    operator_id = fields.Integer()
    permissions = fields.List(fields.String(), load_default=list)


class RolePatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=50))
    permissions = fields.List(fields.String())


class RoleBrief(Schema):
    id = fields.Integer()
    name = fields.String()


class AdminUserQuery(PageQuery):
    q = fields.String()


class AdminUserOut(Schema):
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


class AdminUserIn(Schema):
    username = fields.String(
        required=True,
        validate=[
            validate.Length(min=3, max=50),
            validate.Regexp(r"^[A-Za-z0-9_.-]+$", error="只能包含字母、数字和 _ . -"),
        ],
    )
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(max=128),
        metadata={"minLength": MIN_PASSWORD_LENGTH},  # PASSWORD_TOO_SHORT below it
    )  # fmt: skip
    display_name = fields.String(validate=validate.Length(max=50))
    operator_id = fields.Integer()
    role_ids = fields.List(fields.Integer(), load_default=list)


class AdminUserPatch(Schema):
    display_name = fields.String(validate=validate.Length(max=50))
    password = fields.String(
        load_only=True, validate=validate.Length(max=128),
        metadata={"minLength": MIN_PASSWORD_LENGTH},
    )  # fmt: skip
    role_ids = fields.List(fields.Integer())
    is_active = fields.Boolean()
