"""The interconnection face as a partner sees it (issue 11): ``POST /evcs/v1/<interface>``
over the envelope, the token, and what we answer as pile owner; every refusal has its
Ret and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from itertools import count
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.hlht import envelope as env
from app.hlht import partners
from app.hlht.envelope import CHINA, Keys
from app.hlht.models import PartnerToken

PARTNER_ID = "MA01DEMO9"
KEYS = Keys("a2b4c6d8e0f1a3b5", "f0e1d2c3b4a59687", "a2b4c6d8e0f1a3b5")
_seq = count(1)
ASK_TOKEN = {"OperatorID": PARTNER_ID, "OperatorSecret": "a2b4c6d8e0f1a3b5"}

Call = Callable[..., tuple[dict[str, Any], Any]]


@pytest.fixture
def call(client: FlaskClient, demo: Any) -> Call:
    """``call(interface, data, token=..., keys=..., operator_id=..., body=...)`` →
    (the raw answer, its decoded Data) — the answer's signature checked."""

    def _call(
        interface: str,
        data: Any = None,
        *,
        token: str | None = None,
        keys: Keys = KEYS,
        operator_id: str = PARTNER_ID,
        body: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], Any]:
        stamp = env.timestamp(datetime.now(CHINA))
        sent = body or env.build_request(
            operator_id, data or {}, keys, stamp=stamp, seq=f"{next(_seq) % 10000:04d}"
        )
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        resp = client.post(f"/evcs/v1/{interface}", json=sent, headers=headers)
        assert resp.status_code == 200  # always, whatever the Ret
        answer: dict[str, Any] = resp.get_json()
        decoded = None
        if answer["Sig"]:
            _, _, decoded = env.open_response(answer, KEYS)
        return answer, decoded

    return _call


def _token(call: Call) -> str:
    answer, data = call("query_token", ASK_TOKEN)
    assert answer["Ret"] == 0 and data["SuccStat"] == 0, (answer, data)
    assert 0 < data["TokenAvailableTime"] <= 7 * 24 * 3600
    return str(data["AccessToken"])


def _tokens() -> int:
    return db.session.scalar(select(func.count()).select_from(PartnerToken)) or 0


def test_query_token_issues_a_token_and_a_wrong_secret_says_why(call: Call) -> None:
    _token(call)
    answer, data = call("query_token", {"OperatorID": PARTNER_ID, "OperatorSecret": "nope"})
    assert answer["Ret"] == 0 and (data["SuccStat"], data["FailReason"]) == (1, 2)


def test_stations_are_listed_with_our_piles_as_equipment(call: Call) -> None:
    token = _token(call)
    answer, data = call("query_stations_info", {"PageNo": 1, "PageSize": 2}, token=token)
    assert answer["Ret"] == 0, answer
    assert data["ItemSize"] == 4 and data["PageCount"] == 2 and len(data["StationInfos"]) == 2
    equipment = {e["EquipmentID"] for s in data["StationInfos"] for e in s["EquipmentInfos"]}
    assert {"DEMO-OCPP-01", "55031412782305"} <= equipment
    assert all(s["OperatorID"] == "MA5EVOP01" for s in data["StationInfos"])


def test_status_and_policy_of_a_shared_station(call: Call) -> None:
    token = _token(call)
    _, stations = call("query_stations_info", {"PageSize": 10}, token=token)
    nanshan = next(s for s in stations["StationInfos"] if s["EquipmentInfos"])
    answer, status = call(
        "query_station_status", {"StationIDs": [nanshan["StationID"]]}, token=token
    )
    assert answer["Ret"] == 0
    [info] = status["StationStatusInfos"]
    assert {c["Status"] for c in info["ConnectorStatusInfos"]} == {0}  # the piles are offline
    connector = info["ConnectorStatusInfos"][0]["ConnectorID"]
    seq = env.sequence_number(PARTNER_ID, datetime.now(CHINA))
    answer, policy = call(
        "query_equip_business_policy", {"EquipBizSeq": seq, "ConnectorID": connector}, token=token
    )
    assert answer["Ret"] == 0 and policy["SuccStat"] == 0 and policy["SumPeriod"] >= 1
    first = policy["PolicyInfos"][0]
    assert "SevicePrice" in first and "ServicePrice" not in first  # the standard's spelling
    assert first["StartTime"] == "000000"


def test_a_bad_signature_is_4001_and_issues_no_token(call: Call) -> None:
    body = env.build_request(
        PARTNER_ID, ASK_TOKEN, KEYS, stamp=env.timestamp(datetime.now(CHINA)), seq="0001"
    )
    answer, _ = call("query_token", body={**body, "Sig": "0" * 32})
    assert answer["Ret"] == 4001 and answer["Sig"] == "" and _tokens() == 0


def test_a_missing_envelope_field_is_4003(call: Call) -> None:
    body = env.build_request(
        PARTNER_ID, {}, KEYS, stamp=env.timestamp(datetime.now(CHINA)), seq="0001"
    )
    del body["Seq"]
    answer, _ = call("query_token", body=body)
    assert answer["Ret"] == 4003 and "Seq" in answer["Msg"] and _tokens() == 0


def test_no_token_or_an_unknown_one_is_4002(call: Call) -> None:
    for token in (None, "forged-token"):
        answer, _ = call("query_stations_info", {"PageNo": 1}, token=token)
        assert answer["Ret"] == 4002


def test_bad_business_data_is_4004(call: Call) -> None:
    token = _token(call)
    before = _tokens()
    answer, _ = call("query_stations_info", {"PageSize": 500}, token=token)
    assert answer["Ret"] == 4004 and "PageSize" in answer["Msg"]
    answer, _ = call("query_equip_business_policy", {"EquipBizSeq": "short"}, token=token)
    assert answer["Ret"] == 4004
    other = Keys("0000000000000000", "0000000000000000", KEYS.sig_secret)
    answer, _ = call("query_stations_info", {"PageNo": 1}, token=token, keys=other)
    assert answer["Ret"] == 4004  # signed right, encrypted with keys that are not ours
    assert _tokens() == before


def test_a_replayed_request_is_refused(call: Call) -> None:
    body = env.build_request(
        PARTNER_ID, ASK_TOKEN, KEYS, stamp=env.timestamp(datetime.now(CHINA)), seq="0042"
    )
    assert call("query_token", body=body)[0]["Ret"] == 0
    assert call("query_token", body=body)[0]["Ret"] == 4003
    assert _tokens() == 1


def test_a_partner_sees_only_the_stations_shared_with_it(app: Flask, call: Call) -> None:
    partners.add_partner(
        {
            "operator_id": "MA02NONE0",
            "name": "不共享的伙伴",
            "operator_secret": "s1",
            "our_operator_secret": "s2",
            "data_secret": "b" * 16,
            "data_iv": "c" * 16,
            "sig_secret": "d" * 16,
            "dialect": "xiaoju",
        }
    )
    keys = Keys("b" * 16, "c" * 16, "d" * 16)
    stamp = env.timestamp(datetime.now(CHINA))
    body = env.build_request(
        "MA02NONE0",
        {"OperatorID": "MA02NONE0", "OperatorSecret": "s1"},
        keys,
        stamp=stamp,
        seq="0001",
    )
    answer = app.test_client().post("/evcs/v1/query_token", json=body).get_json()
    _, _, data = env.open_response(answer, keys)
    token = data["AccessToken"]
    body = env.build_request("MA02NONE0", {"PageNo": 1}, keys, stamp=stamp, seq="0002")
    answer = (
        app.test_client()
        .post(
            "/evcs/v1/query_stations_info", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        .get_json()
    )
    _, _, data = env.open_response(answer, keys)
    assert data["ItemSize"] == 0 and data["StationInfos"] == []


def test_the_cli_registers_a_partner(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "hlht",
            "add-partner",
            "--operator-id",
            "MA03CLI00",
            "--name",
            "命令行伙伴",
            "--base-url",
            "http://partner.test",
            "--roles",
            "emsp",
            "--operator-secret",
            "x",
            "--our-operator-secret",
            "y",
            "--data-secret",
            "e" * 16,
            "--data-iv",
            "f" * 16,
            "--sig-secret",
            "g" * 16,
            "--share-stations",
            "all",
        ]
    )
    assert result.exit_code == 0, result.output
    partner = partners.by_operator_id("MA03CLI00")
    assert partner is not None and str(partner.id) == result.output.strip()
    assert partner.out_data_secret == "e" * 16 and partner.share_all_stations
    bad = runner.invoke(
        args=[
            "hlht",
            "add-partner",
            "--operator-id",
            "short",
            "--name",
            "x",
            "--operator-secret",
            "x",
            "--our-operator-secret",
            "y",
            "--data-secret",
            "e",
            "--data-iv",
            "f",
            "--sig-secret",
            "g",
        ]
    )
    assert bad.exit_code != 0 and "operator_id" in bad.output
