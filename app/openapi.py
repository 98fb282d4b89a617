"""The flask-smorest Api, adjusted to the platform's one error contract."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Api


class ErrorDetailSchema(ma.Schema):
    code = ma.fields.String(
        required=True, metadata={"description": "稳定的机器可读错误码，如 WALLET_INSUFFICIENT"}
    )
    message = ma.fields.String(required=True, metadata={"description": "给人看的中文说明"})
    details = ma.fields.Dict(metadata={"description": "字段错误或上下文"})


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorDetailSchema, required=True)


class EvopApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        # app.errors.register_error_handlers owns every error response
        return None


# fields.Decimal(as_string=True) dumps "22.531460"; apispec would document it as a number
DECIMAL_STRING = {"type": "string", "format": "decimal"}
