"""Stations, piles, connectors and tariffs through the admin API, with audit."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

TOU = [
    {
        "start": "00:00",
        "end": "08:00",
        "tier": "valley",
        "electricity_price": "0.3500",
        "service_price": "0.5000",
    },
    {
        "start": "08:00",
        "end": "18:00",
        "tier": "peak",
        "electricity_price": "1.0200",
        "service_price": "0.6000",
    },
    {
        "start": "18:00",
        "end": "24:00",
        "tier": "flat",
        "electricity_price": "0.6420",
        "service_price": "0.3523",
    },
]


def _tariff(
    client: FlaskClient, headers: dict[str, str], segments: list[dict[str, str]] | None = None
) -> Any:
    return client.post(
        "/api/admin/v1/tariffs",
        json={"name": "测试电价", "segments": segments or TOU},
        headers=headers,
    )


def test_tariff_versions_keep_old_prices(client: FlaskClient, as_yc: dict[str, str]) -> None:
    resp = _tariff(client, as_yc)
    assert resp.status_code == 201
    tariff = resp.get_json()
    assert tariff["current_version"]["version"] == 1
    assert tariff["current_version"]["segments"][2] == TOU[2]
    first_version_id = tariff["current_version"]["id"]
    changed = [dict(seg) for seg in TOU]
    changed[1]["service_price"] = "0.8000"
    resp = client.put(
        f"/api/admin/v1/tariffs/{tariff['id']}/segments", json={"segments": changed}, headers=as_yc
    )
    assert resp.status_code == 200
    assert resp.get_json()["current_version"]["version"] == 2
    versions = client.get(
        f"/api/admin/v1/tariffs/{tariff['id']}/versions", headers=as_yc
    ).get_json()["items"]
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[1]["id"] == first_version_id
    assert versions[1]["segments"][1]["service_price"] == "0.6000"
    audit = client.get("/api/admin/v1/audit-logs?target_type=tariff", headers=as_yc).get_json()[
        "items"
    ]
    assert audit[0]["action"] == "tariff.set_segments"
    assert audit[0]["before"]["segments"][1]["service_price"] == "0.6000"
    assert audit[0]["after"]["segments"][1]["service_price"] == "0.8000"


def test_tariff_with_gap_overlap_or_short_day_is_refused(
    client: FlaskClient, as_yc: dict[str, str]
) -> None:
    gap = [dict(TOU[0]), dict(TOU[2])]
    resp = _tariff(client, as_yc, gap)
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "TARIFF_SEGMENTS_GAP"
    overlap = [dict(s) for s in TOU]
    overlap[1]["start"] = "07:00"
    resp = _tariff(client, as_yc, overlap)
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "TARIFF_SEGMENTS_OVERLAP"
    short = [dict(s) for s in TOU]
    short[2]["end"] = "23:00"
    resp = _tariff(client, as_yc, short)
    assert (
        resp.status_code == 422 and resp.get_json()["error"]["code"] == "TARIFF_SEGMENTS_INCOMPLETE"
    )
    bad_price = [dict(s) for s in TOU]
    bad_price[0]["electricity_price"] = "0.123456"
    resp = _tariff(client, as_yc, bad_price)
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "TARIFF_PRICE_INVALID"
    bad_clock = [dict(s) for s in TOU]
    bad_clock[0]["end"] = "8am"
    assert _tariff(client, as_yc, bad_clock).status_code == 422


def test_station_pile_connector_lifecycle(client: FlaskClient, as_yc: dict[str, str]) -> None:
    tariff = _tariff(client, as_yc).get_json()
    resp = client.post(
        "/api/admin/v1/stations",
        json={
            "name": "云创·测试站",
            "address": "深圳市南山区",
            "city": "深圳",
            "longitude": "113.9478",
            "latitude": "22.5314",
            "tariff_id": tariff["id"],
        },
        headers=as_yc,
    )
    assert resp.status_code == 201, resp.get_json()
    station = resp.get_json()
    assert station["timezone"] == "Asia/Shanghai" and station["tariff_name"] == "测试电价"
    assert station["pile_count"] == 0
    resp = client.post(
        "/api/admin/v1/piles",
        json={
            "code": "TEST-AC-01",
            "station_id": station["id"],
            "protocol": "ocpp16",
            "vendor": "循道",
            "model": "XD-AC7",
            "current_type": "AC",
            "rated_power_kw": 7,
            "connector_count": 2,
        },
        headers=as_yc,
    )
    assert resp.status_code == 201, resp.get_json()
    pile = resp.get_json()
    assert pile["rated_power_kw"] == 7 and [c["number"] for c in pile["connectors"]] == [1, 2]
    assert pile["connectors"][0]["qr_payload"] == "https://charge.test/q/TEST-AC-01-1"
    listed = client.get("/api/admin/v1/stations?q=测试", headers=as_yc).get_json()
    assert listed["total"] == 1 and listed["items"][0]["pile_count"] == 1
    # a station with piles cannot be deleted
    resp = client.delete(f"/api/admin/v1/stations/{station['id']}", headers=as_yc)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "STATION_HAS_PILES"
    # connectors
    resp = client.post(
        f"/api/admin/v1/piles/{pile['id']}/connectors", json={"number": 2}, headers=as_yc
    )
    assert resp.status_code == 409
    resp = client.post(
        f"/api/admin/v1/piles/{pile['id']}/connectors", json={"number": 3}, headers=as_yc
    )
    assert resp.status_code == 201
    assert (
        client.delete(
            f"/api/admin/v1/connectors/{resp.get_json()['id']}", headers=as_yc
        ).status_code
        == 204
    )
    # hardware replaced under the same code keeps its history (case #25 2021-01-05)
    resp = client.post(
        f"/api/admin/v1/piles/{pile['id']}/replace-hardware",
        json={
            "vendor": "星星",
            "model": "XX-AC7",
            "serial_number": "SN2",
            "reason": "离线桩升级为联网桩",
        },
        headers=as_yc,
    )
    assert resp.status_code == 200 and resp.get_json()["vendor"] == "星星"
    history = client.get(
        f"/api/admin/v1/piles/{pile['id']}/hardware-history", headers=as_yc
    ).get_json()["items"]
    assert [h["vendor"] for h in history] == ["星星", "循道"]
    assert history[1]["removed_at"] is not None and history[0]["removed_at"] is None
    # the pile code is its identity on the wire: PATCH cannot change it
    resp = client.patch(
        f"/api/admin/v1/piles/{pile['id']}", json={"firmware": "2.0"}, headers=as_yc
    )
    assert resp.status_code == 200 and resp.get_json()["code"] == "TEST-AC-01"
    assert client.delete(f"/api/admin/v1/piles/{pile['id']}", headers=as_yc).status_code == 204
    assert (
        client.delete(f"/api/admin/v1/stations/{station['id']}", headers=as_yc).status_code == 204
    )
    actions = [
        a["action"]
        for a in client.get("/api/admin/v1/audit-logs?page_size=100", headers=as_yc).get_json()[
            "items"
        ]
    ]
    for action in (
        "station.create",
        "pile.create",
        "pile.replace_hardware",
        "pile.delete",
        "station.delete",
    ):
        assert action in actions


def test_pile_validation_and_duplicates(client: FlaskClient, as_yc: dict[str, str]) -> None:
    stations = client.get("/api/admin/v1/stations", headers=as_yc).get_json()["items"]
    body = {
        "code": "123",
        "station_id": stations[0]["id"],
        "protocol": "ykc",
        "current_type": "DC",
        "rated_power_kw": 60,
    }
    resp = client.post("/api/admin/v1/piles", json=body, headers=as_yc)
    assert resp.status_code == 422 and "code" in resp.get_json()["error"]["details"]
    body["code"] = "DEMO-OCPP-01"
    body["protocol"] = "ocpp16"
    resp = client.post("/api/admin/v1/piles", json=body, headers=as_yc)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "PILE_CODE_TAKEN"


def test_station_rejects_coordinates_outside_china_and_foreign_tariff(
    client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    resp = client.post(
        "/api/admin/v1/stations",
        json={"name": "x", "longitude": "22.5", "latitude": "113.9"},
        headers=as_yc,
    )
    assert resp.status_code == 422
    assert set(resp.get_json()["error"]["details"]) == {"longitude", "latitude"}
    kc_tariff = client.get("/api/admin/v1/tariffs", headers=as_kc).get_json()["items"][0]
    resp = client.post(
        "/api/admin/v1/stations",
        json={"name": "x", "longitude": "113.9", "latitude": "22.5", "tariff_id": kc_tariff["id"]},
        headers=as_yc,
    )
    assert resp.status_code == 404


def test_pagination_and_filters(client: FlaskClient, as_admin: dict[str, str]) -> None:
    page1 = client.get("/api/admin/v1/stations?page=1&page_size=2", headers=as_admin).get_json()
    page2 = client.get("/api/admin/v1/stations?page=2&page_size=2", headers=as_admin).get_json()
    assert page1["total"] == 4 and page1["page_size"] == 2  # the demo's four stations
    assert len(page1["items"]) == 2 and len(page2["items"]) == 2
    assert not {s["id"] for s in page1["items"]} & {s["id"] for s in page2["items"]}
    assert client.get("/api/admin/v1/stations?page_size=1000", headers=as_admin).status_code == 422
    gz = client.get("/api/admin/v1/stations?city=广州", headers=as_admin).get_json()
    assert [s["name"] for s in gz["items"]] == ["云创·广州天河站"]


def test_a_sub_operator_cannot_share_its_station_into_another_tenant(
    client: FlaskClient, as_yc: dict[str, str], as_admin: dict[str, str]
) -> None:
    """Issue 15 #6: sharing is the platform's grant, never imposed by a sub-operator; the
    refusal comes before any lookup, so it reveals no operator ids."""
    ops = client.get("/api/admin/v1/operators", headers=as_admin).get_json()["items"]
    kc = next(o for o in ops if o["name"] == "深圳快充")
    stations = client.get("/api/admin/v1/stations", headers=as_yc).get_json()["items"]
    station = stations[0]
    url = f"/api/admin/v1/stations/{station['id']}"
    for target in (kc["id"], 987654):  # an existing tenant and one that does not exist
        resp = client.patch(url, json={"visible_to_operator_ids": [target]}, headers=as_yc)
        assert resp.status_code == 403
        assert resp.get_json()["error"]["code"] == "STATION_SHARING_PLATFORM_ONLY"
    # saving the list unchanged (the console sends it back) is fine
    same = station["visible_to_operator_ids"]
    resp = client.patch(
        url, json={"name": station["name"], "visible_to_operator_ids": same}, headers=as_yc
    )
    assert resp.status_code == 200
    # the platform grants it
    resp = client.patch(url, json={"visible_to_operator_ids": [kc["id"]]}, headers=as_admin)
    assert resp.status_code == 200 and resp.get_json()["visible_to_operator_ids"] == [kc["id"]]


def test_hardware_history_keeps_the_firmware_the_pile_reported_at_boot(
    app: Any, client: FlaskClient, as_yc: dict[str, str]
) -> None:
    # issue 14: the first row (the unit serving now) lost the firmware reported at boot
    from datetime import UTC, datetime

    from app.charging.port import PileConnected
    from tests.support.ports import pile_events

    stations = client.get("/api/admin/v1/stations", headers=as_yc).get_json()["items"]
    resp = client.post(
        "/api/admin/v1/piles",
        json={"code": "FW-AC-01", "station_id": stations[0]["id"], "protocol": "ocpp16",
              "vendor": "循道", "model": "XD-AC7", "current_type": "AC", "rated_power_kw": 7,
              "connector_count": 1},
        headers=as_yc,
    )  # fmt: skip
    assert resp.status_code == 201, resp.get_json()
    pile_id = resp.get_json()["id"]
    url = f"/api/admin/v1/piles/{pile_id}/hardware-history"
    svc = pile_events(app)
    now = datetime.now(UTC)
    svc.handle(PileConnected("FW-AC-01", "ocpp16", now, {"firmware": "1.6.4"}))
    [first] = client.get(url, headers=as_yc).get_json()["items"]
    assert first["firmware"] == "1.6.4"
    client.post(
        f"/api/admin/v1/piles/{pile_id}/replace-hardware",
        json={"vendor": "星星", "model": "XX-AC7", "serial_number": "SN2", "reason": "更换主板"},
        headers=as_yc,
    )
    svc.handle(PileConnected("FW-AC-01", "ocpp16", now, {"firmware": "2.0.1"}))
    history = client.get(url, headers=as_yc).get_json()["items"]
    assert [(h["vendor"], h["firmware"]) for h in history] == [("星星", "2.0.1"), ("循道", "1.6.4")]
