"""A driver or an operator never reads marshmallow's English: a missing field, a wrong
type, a value out of range and an unknown field all answer 422 with Chinese messages in
details.fields; so does every default message of every field type and validator."""

from __future__ import annotations

import enum
import inspect
import re
from typing import Any

import flask_smorest.fields
import marshmallow as ma
from flask.testing import FlaskClient
from marshmallow import fields, validate

from app.openapi import Schema
from app.schema_messages import translate
from tests.support.drivers import Login

CJK = re.compile(r"[\u4e00-\u9fff]")


def _messages(tree: Any) -> list[str]:
    if isinstance(tree, str):
        return [tree]
    if isinstance(tree, dict):
        return [m for v in tree.values() for m in _messages(v)]
    if isinstance(tree, list):
        return [m for v in tree for m in _messages(v)]
    return []


def _fields(resp: Any) -> dict[str, Any]:
    assert resp.status_code == 422, resp.get_json()
    err = resp.get_json()["error"]
    assert err["code"] == "VALIDATION_ERROR"
    found: dict[str, Any] = err["details"]["fields"]
    assert all(CJK.search(m) for m in _messages(found)), found
    return found


def test_console_missing_wrong_type_out_of_range_and_unknown_fields(
    client: FlaskClient, as_admin: dict[str, str]
) -> None:
    body = {"code": "P-1", "protocol": "ocpp16", "rated_power_kw": "abc", "connector_count": 9}
    found = _fields(
        client.post("/api/admin/v1/piles", json={**body, "colour": 1}, headers=as_admin)
    )
    assert found["json"] == {
        "current_type": ["缺少必填字段"],
        "rated_power_kw": ["应为数字"],
        "connector_count": ["须在 1 到 8 之间"],
        "colour": ["未知字段"],
    }
    found = _fields(
        client.post("/api/admin/v1/stations", json={"name": "", "longitude": 1}, headers=as_admin)
    )
    assert found["json"] == {"name": ["长度须在 1 到 100 之间"], "latitude": ["缺少必填字段"]}


def test_drivers_api_wrong_type_out_of_range_and_unknown_fields(
    client: FlaskClient, mp_login: Login
) -> None:
    alice = mp_login("alice")
    found = _fields(client.get("/api/mp/v1/stations?lat=91&lng=abc&free_only=maybe", headers=alice))
    assert found["query"] == {
        "lat": ["须在 -90 到 90 之间"],
        "lng": ["应为数字"],
        "free_only": ["应为布尔值（true 或 false）"],
    }
    found = _fields(
        client.post(
            "/api/mp/v1/orders",
            json={"connector_id": "x", "client_request_id": "short", "note": "hi"},
            headers=alice,
        )
    )
    assert found["json"] == {
        "connector_id": ["应为整数"],
        "client_request_id": ["应为 8~40 位字母、数字、_ 或 -"],
        "note": ["未知字段"],
    }
    found = _fields(client.post("/api/mp/v1/topups", json={"amount_fen": 0}, headers=alice))
    assert found["json"] == {"amount_fen": ["须在 1 到 10000000 之间"]}


def test_a_body_that_is_not_json_is_told_in_chinese(client: FlaskClient, mp_login: Login) -> None:
    resp = client.post(
        "/api/mp/v1/scan", data="{", content_type="application/json", headers=mp_login("alice")
    )
    assert resp.status_code == 400
    assert resp.get_json()["error"]["details"] == {"fields": {"json": ["请求体不是有效的 JSON"]}}


def _field_classes() -> list[type[fields.Field]]:
    found = []
    for module in (fields, flask_smorest.fields):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, fields.Field) and not inspect.isabstract(cls):
                found.append(cls)
    return found


class Colour(enum.Enum):
    RED = "red"


def _instance(cls: type[fields.Field]) -> fields.Field:
    """A field of ``cls`` built with whatever arguments its constructor needs."""
    needs: dict[type[fields.Field], tuple[Any, ...]] = {
        fields.Nested: (Schema,), fields.Pluck: (Schema, "id"), fields.List: (fields.String(),),
        fields.Tuple: ((fields.String(),),), fields.Enum: (Colour,), fields.Constant: (1,),
    }  # fmt: skip
    args = next((needs[k] for k in cls.__mro__ if k in needs), ())
    return cls(*args)


def test_every_default_message_of_every_field_type_is_chinese() -> None:
    for cls in _field_classes():
        field = _instance(cls)
        translate(field)
        english = [m for m in field.error_messages.values() if not CJK.search(m)]
        assert not english, f"{cls.__name__}: {english}"


def test_every_validator_message_is_chinese() -> None:
    validators: list[Any] = [
        validate.Range(min=1), validate.Range(max=1), validate.Range(min=1, max=2),
        validate.Range(min=0, min_inclusive=False),
        validate.Range(min=0, max=1, max_inclusive=False),
        validate.Length(min=1), validate.Length(max=1), validate.Length(min=1, max=2),
        validate.Length(equal=3), validate.OneOf(("a", "b")), validate.Regexp(r"^a$"),
        validate.Equal(1), validate.NoneOf((1,)), validate.ContainsOnly((1,)),
        validate.ContainsNoneOf((1,)), validate.Email(), validate.URL(),
        validate.Predicate("isdigit"), validate.And(validate.Length(max=1)),
    ]  # fmt: skip
    field = fields.Raw(validate=validators)
    translate(field)
    bad: list[Any] = [5, "aaaaa", "", -1, 0, 1, 2, "c", [2], [1], "x", 3, None]
    for v in validators:
        refused = 0
        for value in bad:
            try:
                v(value)
            except ma.ValidationError as err:
                assert all(CJK.search(m) for m in _messages(err.messages)), (v, err.messages)
                refused += 1
            except (TypeError, AttributeError):
                pass  # a value the validator cannot even compare
        assert refused, f"{v!r} refused none of the values"


def test_every_schema_of_the_surfaces_has_the_chinese_base() -> None:
    import admin_spa.api
    import miniprogram_api

    assert admin_spa.api and miniprogram_api
    from app import create_app

    create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "x" * 40})

    def subclasses(cls: type[ma.Schema]) -> list[type[ma.Schema]]:
        return [c for s in cls.__subclasses__() for c in (s, *subclasses(s))]

    ours = [
        c
        for c in subclasses(ma.Schema)
        if c.__module__.startswith(("admin_spa", "miniprogram_api", "app."))
    ]
    assert len(ours) > 100
    assert [c.__qualname__ for c in ours if not issubclass(c, Schema)] == []
