"""Schema pieces every area of the console's API uses."""

from __future__ import annotations

from marshmallow import fields, validate

from app.openapi import Schema

# PostgreSQL refuses NUL in text: control characters are a 422, never a 500
PRINTABLE = validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="不能包含控制字符")


class PageQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
