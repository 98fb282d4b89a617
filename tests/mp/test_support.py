"""Customer-service phones by time window (case #16), deep links and the official-account
menu (case #3), and odd input answered with the error contract, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient

from app.drivers import customer_service
from app.wechat.sandbox.state import FakeWeChat
from tests.support.drivers import OA_APP, YC_APP, Login, Ops

PHONES = "/api/admin/v1/customer-service-phones"


def _at_local(hour: int, minute: int = 0) -> datetime:
    # Asia/Shanghai is UTC+8 all year
    return datetime(2024, 3, 1, (hour - 8) % 24, minute, tzinfo=UTC)


def test_window_arithmetic() -> None:
    night = (21 * 60, 9 * 60)
    assert customer_service.in_window(*night, 23 * 60 + 30)
    assert customer_service.in_window(*night, 0)
    assert customer_service.in_window(*night, 8 * 60 + 59)
    assert not customer_service.in_window(*night, 9 * 60)
    assert not customer_service.in_window(*night, 20 * 60 + 59)
    assert customer_service.in_window(0, 0, 12 * 60)  # equal ends: all day


def test_case16_night_number_crossing_midnight(
    client: FlaskClient, ops: Ops, as_yc: dict[str, str], as_kc: dict[str, str],
    mp_login: Login,
) -> None:  # fmt: skip
    day = client.post(
        PHONES, json={"label": "日间客服", "phone": "020-12345678", "start": "09:00",
                      "end": "21:00"}, headers=as_yc,
    )  # fmt: skip
    assert day.status_code == 201, day.get_json()
    night = client.post(
        PHONES, json={"label": "夜间客服", "phone": "13800138000", "start": "21:00",
                      "end": "09:00"}, headers=as_yc,
    )  # fmt: skip
    assert night.status_code == 201 and night.get_json()["operator_id"] == ops.yc.id
    for hour, minute, expected in (
        (23, 30, "13800138000"), (3, 0, "13800138000"), (8, 59, "13800138000"),
        (9, 0, "020-12345678"), (20, 59, "020-12345678"), (21, 0, "13800138000"),
    ):  # fmt: skip
        found = customer_service.phone_now(ops.yc.id, _at_local(hour, minute))
        assert found is not None and found.phone == expected, (hour, minute)
    # the other sub-operator has none of its own: its contact phone
    kc = customer_service.phone_now(ops.kc.id, _at_local(23))
    assert kc is not None and kc.phone == "020-00000000"
    # scope: kc's admin can neither see nor edit yc's numbers
    night_id = night.get_json()["id"]
    assert client.get(PHONES, headers=as_kc).get_json()["total"] == 0
    assert client.patch(f"{PHONES}/{night_id}", json={"phone": "110"},
                        headers=as_kc).status_code == 404  # fmt: skip
    bad = client.post(PHONES, json={"phone": "call me", "start": "25:00", "end": "09:00"},
                      headers=as_yc)  # fmt: skip
    assert bad.status_code == 422
    now = client.get("/api/mp/v1/customer-service", headers=mp_login("sam")).get_json()
    assert now["phone"] in ("13800138000", "020-12345678")
    assert client.delete(f"{PHONES}/{night_id}", headers=as_yc).status_code == 204


def test_case3_deep_links_are_public_and_stable(client: FlaskClient, ops: Ops) -> None:
    resp = client.get(f"/api/mp/v1/deep-links?station_id=7&app_id={YC_APP[0]}")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["mini_program_app_id"] == YC_APP[0]
    links = {item["key"]: item for item in body["items"]}
    assert links["station"]["mp_path"] == "pages/stations/detail?id=7"
    assert links["station"]["url"] == "https://charge.example.cn/h5/stations/7"
    assert links["scan"]["mp_path"] == "pages/scan/index"
    button = body["menu"]["button"][0]
    assert button["type"] == "miniprogram" and button["appid"] == YC_APP[0]


def test_wechat_menu_command_publishes_a_mini_program_entry(
    app: Flask, ops: Ops, wechat: FakeWeChat
) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["wechat-menu", "--oa-app-id", OA_APP[0], "--oa-app-secret", OA_APP[1],
              "--operator-id", str(ops.yc.id)]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    menu = wechat.menus[OA_APP[0]]
    entries = [b for b in menu["button"] if b["type"] == "miniprogram"]
    assert entries and entries[0]["appid"] == YC_APP[0]
    assert entries[0]["pagepath"] == "pages/scan/index"
    wrong = runner.invoke(
        args=["wechat-menu", "--oa-app-id", "wx-not-registered", "--oa-app-secret", "wrong",
              "--operator-id", str(ops.yc.id)]
    )  # fmt: skip
    assert wrong.exit_code != 0 and "微信返回错误" in wrong.output
    dry = runner.invoke(args=["wechat-menu", "--dry-run"])
    assert dry.exit_code != 0 and "MINIPROGRAM_APPID_MISSING" in dry.output


ODD_INPUT = [
    ("get", "/api/mp/v1/stations?lat=abc&lng=1", None),
    ("get", "/api/mp/v1/stations?lat=nan&lng=113", None),
    ("get", "/api/mp/v1/stations?lat=22&lng=113&radius_m=-5", None),
    ("get", "/api/mp/v1/stations?lat=22&lng=113&page=0", None),
    ("get", "/api/mp/v1/stations?lat=22&lng=113&current_type=XX", None),
    ("post", "/api/mp/v1/scan", {"qr": "\x00hlht"}),
    ("post", "/api/mp/v1/scan", {"qr": 12}),
    ("post", "/api/mp/v1/scan", {"qr": "x" * 600}),
    ("post", "/api/mp/v1/orders", {"connector_id": 2**40, "client_request_id": "abcdefgh"}),
    ("post", "/api/mp/v1/orders", {"connector_id": "1", "client_request_id": "a b"}),
    ("put", "/api/mp/v1/orders/C1/coupon", {"coupon_id": -1}),
    ("post", "/api/mp/v1/me/phone", {"code": ["x"]}),
]


def test_odd_input_is_a_422(client: FlaskClient, mp_login: Login) -> None:
    headers = mp_login("tom")
    for method, path, body in ODD_INPUT:
        resp = getattr(client, method)(path, json=body, headers=headers)
        assert resp.status_code == 422, (path, body, resp.get_json())
        assert resp.get_json()["error"]["code"] == "VALIDATION_ERROR"


def test_odd_paths_and_bodies_never_500(client: FlaskClient, mp_login: Login) -> None:
    headers = mp_login("una")
    for path in (
        "/api/mp/v1/stations/99999999999999", "/api/mp/v1/orders/" + "9" * 40,
        "/api/mp/v1/orders/%00", "/api/mp/v1/certifications/0",
    ):  # fmt: skip
        assert client.get(path, headers=headers).status_code == 404, path
    resp = client.post("/api/mp/v1/auth/login", data="not json", content_type="application/json")
    assert resp.status_code in (400, 422)
    resp = client.post("/api/mp/v1/certifications", data={"kind": "taxi"}, headers=headers)
    assert resp.status_code == 422
    spec = client.get("/api/openapi.json").get_json()
    assert (
        "/api/mp/v1/scan" in spec["paths"] and "/api/mp/v1/orders/{order_no}/live" in spec["paths"]
    )
