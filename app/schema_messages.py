"""marshmallow's validation messages in Chinese, for every field type and validator: a driver
or an operator never reads "Missing data for required field.".

:func:`translate` puts them on a bound field (``Schema.on_bind_field`` of the surfaces'
base schema, app/openapi.py): a message the field or its schema chose itself stays.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

# the schema's own messages (marshmallow: Schema.error_messages)
SCHEMA_MESSAGES = {"unknown": "未知字段", "type": "数据格式不正确：应为对象"}

# webargs: a validator that returns False; a body that is not JSON
VALIDATION_FAILED = "取值无效"
INVALID_JSON = "请求体不是有效的 JSON"

# Field.default_error_messages, class by class (each class: the keys it defines itself)
FIELD_MESSAGES: dict[type[fields.Field], dict[str, str]] = {
    fields.Field: {
        "required": "缺少必填字段",
        "null": "不能为 null",
        "validator_failed": "取值无效",
    },
    fields.String: {"invalid": "应为字符串", "invalid_utf8": "不是有效的 UTF-8 字符串"},
    fields.Number: {"invalid": "应为数字", "too_large": "数值过大"},
    fields.Integer: {"invalid": "应为整数"},
    fields.Float: {"special": "不能为 NaN 或无穷大"},
    fields.Decimal: {"special": "不能为 NaN 或无穷大"},
    fields.Boolean: {"invalid": "应为布尔值（true 或 false）"},
    fields._TemporalField: {
        "invalid": "时间格式不正确",
        "invalid_awareness": "时间的时区不正确",
        "format": "无法格式化为时间",
    },
    fields.DateTime: {
        "invalid": "应为 ISO 8601 日期时间（如 2024-01-01T08:00:00+08:00）",
        "format": "无法格式化为日期时间",
    },
    fields.AwareDateTime: {"invalid_awareness": "日期时间须带时区（如 +08:00）"},
    fields.NaiveDateTime: {"invalid_awareness": "日期时间不能带时区"},
    fields.Date: {"invalid": "应为日期（YYYY-MM-DD）", "format": "无法格式化为日期"},
    fields.Time: {"invalid": "应为时间（HH:MM:SS）", "format": "无法格式化为时间"},
    fields.TimeDelta: {"invalid": "应为时长", "format": "无法格式化为时长"},
    fields.List: {"invalid": "应为数组"},
    fields.Tuple: {"invalid": "应为数组"},
    fields.Mapping: {"invalid": "应为对象"},
    fields.Nested: {"type": "应为对象"},
    fields.Email: {"invalid": "不是有效的邮箱地址"},
    fields.Url: {"invalid": "不是有效的网址"},
    fields.UUID: {"invalid_uuid": "不是有效的 UUID"},
    fields.Enum: {"unknown": "须为以下之一：{choices}"},
    fields.IP: {"invalid_ip": "不是有效的 IP 地址"},
    fields.IPv4: {"invalid_ip": "不是有效的 IPv4 地址"},
    fields.IPv6: {"invalid_ip": "不是有效的 IPv6 地址"},
    fields.IPInterface: {"invalid_ip_interface": "不是有效的 IP 网段"},
    fields.IPv4Interface: {"invalid_ip_interface": "不是有效的 IPv4 网段"},
    fields.IPv6Interface: {"invalid_ip_interface": "不是有效的 IPv6 网段"},
}

# validators whose message is one text (``default_message``, put in ``error`` when built)
VALIDATOR_MESSAGES: dict[type[validate.Validator], str] = {
    validate.OneOf: "须为以下之一：{choices}",
    validate.Regexp: "格式不正确",
    validate.Equal: "须等于 {other}",
    validate.NoneOf: "取值无效",
    validate.ContainsOnly: "只能包含以下值：{choices}",
    validate.ContainsNoneOf: "不能包含以下值：{values}",
    validate.Email: "不是有效的邮箱地址",
    validate.URL: "不是有效的网址",
    validate.Predicate: "取值无效",
}
LENGTH_MESSAGES = {
    "message_min": "长度不能少于 {min}",
    "message_max": "长度不能超过 {max}",
    "message_all": "长度须在 {min} 到 {max} 之间",
    "message_equal": "长度须为 {equal}",
}


def _range_messages(v: validate.Range) -> dict[str, str]:
    low = "不小于" if v.min_inclusive else "大于"
    high = "不大于" if v.max_inclusive else "小于"
    both = (
        "须在 {min} 到 {max} 之间"
        if v.min_inclusive and v.max_inclusive
        else f"须{low} {{min}} 且{high} {{max}}"
    )
    return {
        "message_min": f"须{low} {{min}}",
        "message_max": f"须{high} {{max}}",
        "message_all": both,
    }


_DEFAULTS: dict[type[fields.Field], tuple[dict[str, str], dict[str, str]]] = {}


def _defaults(cls: type[fields.Field]) -> tuple[dict[str, str], dict[str, str]]:
    """(marshmallow's messages of a field class, the same in Chinese), merged along the MRO
    as marshmallow merges them; a class of ours keeps its own."""
    if cls in _DEFAULTS:
        return _DEFAULTS[cls]
    english: dict[str, str] = {}
    chinese: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        own = klass.__dict__.get("default_error_messages", {})
        english.update(own)
        chinese.update(FIELD_MESSAGES.get(klass, own))
    _DEFAULTS[cls] = english, chinese
    return english, chinese


def translate(field: fields.Field) -> None:
    """Chinese for the messages of ``field`` that are still marshmallow's, its validators'
    and those of the fields inside it (list items, tuple members, mapping keys and values)."""
    english, chinese = _defaults(type(field))
    messages = field.error_messages
    for key, text in messages.items():
        if key in chinese and text == english.get(key):
            messages[key] = chinese[key]
    for validator in field.validators:
        _translate_validator(validator)
    inner: list[Any] = [getattr(field, "inner", None), getattr(field, "key_field", None)]
    inner += [getattr(field, "value_field", None), *getattr(field, "tuple_fields", ())]
    for sub in inner:
        if isinstance(sub, fields.Field):
            translate(sub)


def _translate_validator(v: Any) -> None:
    if isinstance(v, validate.And):
        for inner in v.validators:
            _translate_validator(inner)
    elif isinstance(v, validate.Range):
        if v.error is None:
            vars(v).update(_range_messages(v))
    elif isinstance(v, validate.Length):
        if v.error is None:
            vars(v).update(LENGTH_MESSAGES)
    else:
        for klass in type(v).__mro__:
            if klass in VALIDATOR_MESSAGES:
                if getattr(v, "error", None) == type(v).default_message:  # type: ignore[attr-defined]
                    v.error = VALIDATOR_MESSAGES[klass]
                break
