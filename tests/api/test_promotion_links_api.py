"""设置 → 推广链接 (case #3): per sub-operator, the stable links into the charging pages (one
per station too), a QR image (PNG) of each link, and the official-account menu
JSON that opens the operator's own mini-program; scoped and permission-checked."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.catalogue.models import Station
from app.drivers import deep_links, promotion_links
from app.errors import PERMISSION_DENIED
from app.extensions import db
from app.tenancy.models import Operator
from app.tenancy.scope import Actor

API = "/api/admin/v1"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["operator_name"]: item for item in items}


def test_case3_each_sub_operator_gets_its_links_qr_images_and_menu(
    client: FlaskClient, as_admin: dict[str, str], as_yc: dict[str, str]
) -> None:
    yc = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
    assert yc is not None
    yc.wechat_app_id = "wx-yc-mini-program"
    db.session.commit()
    resp = client.get(f"{API}/promotion-links", headers=as_yc)
    assert resp.status_code == 200, resp.get_json()
    items = resp.get_json()["items"]
    assert [i["operator_name"] for i in items] == ["广东云创"]  # only its own
    mine = items[0]
    keys = [link["key"] for link in mine["links"]]
    assert keys[:2] == ["station_list", "scan"]
    stations = db.session.scalars(select(Station).where(Station.operator_id == yc.id)).all()
    assert sorted(link["station_id"] for link in mine["links"] if link["key"] == "station") == \
        sorted(s.id for s in stations)  # fmt: skip
    base = deep_links.base_url()
    assert mine["links"][0]["url"] == f"{base}/stations"
    assert mine["links"][1]["mp_path"] == deep_links.SCAN_PATH
    for link in mine["links"]:
        prefix = "data:image/png;base64,"
        assert link["qr_png"].startswith(prefix)
        assert base64.b64decode(link["qr_png"][len(prefix) :]).startswith(PNG_MAGIC)
    buttons = mine["menu"]["button"]
    assert {b["appid"] for b in buttons} == {"wx-yc-mini-program"} and mine["menu_error"] is None
    assert {b["pagepath"] for b in buttons} == {deep_links.SCAN_PATH, deep_links.STATION_LIST_PATH}

    every = _by_name(client.get(f"{API}/promotion-links", headers=as_admin).get_json()["items"])
    assert {"广东云创", "深圳快充"} <= set(every)
    kc = every["深圳快充"]
    assert kc["menu"] is None and "小程序" in kc["menu_error"]  # no mini-program: said so
    one = client.get(f"{API}/promotion-links?operator_id={yc.id}", headers=as_admin).get_json()
    assert [i["operator_id"] for i in one["items"]] == [yc.id]


def test_promotion_links_need_a_login_and_the_permission(client: FlaskClient, demo: Any) -> None:
    assert client.get(f"{API}/promotion-links").status_code == 401
    nobody = Actor(admin_id=None, name="x", operator_id=None, is_platform=False,
                   permissions=frozenset())  # fmt: skip
    with pytest.raises(PERMISSION_DENIED):
        promotion_links.operator_links(nobody)


def test_a_qr_image_encodes_its_text_as_a_png() -> None:
    uri = promotion_links.qr_png_data_uri("https://charge.example.cn/h5/scan")
    png = base64.b64decode(uri.split(",", 1)[1])
    assert png.startswith(PNG_MAGIC) and len(png) < 4000
