"""We are the pile owner (issue 11, T/CEC 102.3): a partner's driver authenticates,
starts, watches and stops a charge on our pile over ``/evcs/v1/``; the order is an
ordinary charge order priced by the same engine, the start idempotent by StartChargeSeq;
every refusal has its Ret or FailReason and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.billing.models import Bill
from app.catalogue.models import Connector
from app.charging.commands import COMMAND_PORT
from app.charging.models import ChargeOrder
from app.charging.port import CommandOutcome, ConnectorState, SessionStarted
from app.db import utcnow
from app.extensions import db
from app.hlht.models import RoamingOrder
from app.state import state_of
from tests.support.hlht import PartnerCaller, register_partner
from tests.support.money import World, build_world
from tests.support.ports import FakePort


@pytest.fixture
def port(app: Flask, monkeypatch: pytest.MonkeyPatch) -> FakePort:
    fake = FakePort()
    monkeypatch.setitem(state_of(app), COMMAND_PORT, fake)
    return fake


@pytest.fixture
def world(app: Flask, port: FakePort) -> World:
    w = build_world(app, code="HLHT-PILE-01")
    w.connect(utcnow() - timedelta(minutes=30))
    return w


@pytest.fixture
def partner(app: Flask, world: World) -> PartnerCaller:
    register_partner()
    caller = PartnerCaller(app.test_client())
    caller.login()
    return caller


def _orders() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(ChargeOrder)) or 0


def _roaming() -> int:
    return db.session.scalar(select(func.count()).select_from(RoamingOrder)) or 0


def _start(partner: PartnerCaller, connector: str = "HLHT-PILE-01-1") -> tuple[str, dict]:
    seq = partner.seq()
    ret, data = partner.call(
        "query_start_charge", {"StartChargeSeq": seq, "ConnectorID": connector, "QRCode": "x1"}
    )
    assert ret == 0, data
    return seq, data


def test_equip_auth_says_whether_a_start_may_happen(
    partner: PartnerCaller, world: World, port: FakePort
) -> None:
    ret, data = partner.call(
        "query_equip_auth", {"EquipAuthSeq": partner.seq(), "ConnectorID": "HLHT-PILE-01-1"}
    )
    assert ret == 0 and data["SuccStat"] == 0, data
    port.online = False
    ret, data = partner.call(
        "query_equip_auth", {"EquipAuthSeq": partner.seq(), "ConnectorID": "HLHT-PILE-01-1"}
    )
    assert (data["SuccStat"], data["FailReason"]) == (1, 2)  # offline
    ret, data = partner.call(
        "query_equip_auth", {"EquipAuthSeq": partner.seq(), "ConnectorID": "NOPE-1"}
    )
    assert (data["SuccStat"], data["FailReason"]) == (1, 2)
    assert _orders() == 0


def test_a_partner_start_is_an_ordinary_order_and_idempotent_by_its_seq(
    partner: PartnerCaller, world: World, port: FakePort
) -> None:
    seq, data = _start(partner)
    assert (data["SuccStat"], data["StartChargeSeqStat"]) == (0, 1)
    assert len(port.starts) == 1
    order = db.session.scalar(select(ChargeOrder))
    assert order is not None and order.driver_id is None and order.state == "starting"
    assert order.tariff_version_id is not None and order.station_id == world.station.id
    row = db.session.scalar(select(RoamingOrder))
    assert row is not None and row.start_charge_seq == seq and row.qr_code == "x1"
    # the same StartChargeSeq again: the same order, no second command
    ret, again = partner.call(
        "query_start_charge", {"StartChargeSeq": seq, "ConnectorID": "HLHT-PILE-01-1"}
    )
    assert ret == 0 and again["SuccStat"] == 0 and len(port.starts) == 1 and _orders() == 1
    # the same seq for another connector is bad business data
    ret, _ = partner.call(
        "query_start_charge", {"StartChargeSeq": seq, "ConnectorID": "HLHT-PILE-01-2"}
    )
    assert ret == 4004 and _orders() == 1


def test_a_start_the_rules_refuse_changes_nothing(
    partner: PartnerCaller, world: World, port: FakePort
) -> None:
    _start(partner)  # connector 1 now holds an order
    _, data = _start(partner)  # busy
    assert (data["SuccStat"], data["FailReason"]) == (1, 10)
    port.online = False
    _, data = _start(partner, "HLHT-PILE-01-2")
    assert (data["SuccStat"], data["FailReason"]) == (1, 2)
    _, data = _start(partner, "UNKNOWN-PILE-1")
    assert (data["SuccStat"], data["FailReason"]) == (1, 1)
    conn = db.session.scalar(select(Connector).where(Connector.qr_payload == "HLHT-PILE-01-2"))
    assert conn is not None
    conn.status = ConnectorState.FAULTED
    db.session.commit()
    port.online = True
    _, data = _start(partner, "HLHT-PILE-01-2")
    assert (data["SuccStat"], data["FailReason"]) == (1, 11)
    assert _orders() == 1 and _roaming() == 1 and len(port.starts) == 1


def test_a_start_the_pile_refuses_is_failed_and_says_so(
    partner: PartnerCaller, world: World, port: FakePort
) -> None:
    port.start_outcome = CommandOutcome.REJECTED
    seq, data = _start(partner)
    assert (data["SuccStat"], data["StartChargeSeqStat"]) == (1, 4)
    ret, status = partner.call("query_equip_charge_status", {"StartChargeSeq": seq})
    assert ret == 0 and status["StartChargeSeqStat"] == 4


def test_status_and_stop_of_a_partner_order_priced_by_the_same_engine(
    partner: PartnerCaller, world: World, port: FakePort
) -> None:
    seq, _ = _start(partner)
    order = db.session.scalar(select(ChargeOrder))
    assert order is not None
    began = utcnow() - timedelta(minutes=20)
    reply = world.svc.handle(
        SessionStarted(world.code, 1, began, meter_start_wh=0, id_tag=order.order_no,
                       initiated_by="remote")
    )  # fmt: skip
    ref = reply.session_ref
    assert ref
    world.sample(ref, began + timedelta(minutes=10), 1760)
    ret, status = partner.call("query_equip_charge_status", {"StartChargeSeq": seq})
    assert ret == 0 and status["StartChargeSeqStat"] == 2, status
    # case #18 2020: 1.76 kWh → electricity 1.13 + service 0.62 = 1.75 yuan, never 0
    assert (status["TotalPower"], status["ElecMoney"], status["SeviceMoney"]) == (1.76, 1.13, 0.62)
    assert status["TotalMoney"] == 1.75 and "ServiceMoney" not in status
    assert status["ChargeDetails"][0]["DetailSeviceMoney"] == 0.62
    ret, stopped = partner.call(
        "query_stop_charge", {"StartChargeSeq": seq, "ConnectorID": "HLHT-PILE-01-1"}
    )
    assert ret == 0 and stopped["SuccStat"] == 0 and stopped["StartChargeSeqStat"] == 3
    assert port.stops and port.stops[0][0] == world.code
    world.stop(ref, began + timedelta(minutes=11), 1760)
    ret, again = partner.call(
        "query_stop_charge", {"StartChargeSeq": seq, "ConnectorID": "HLHT-PILE-01-1"}
    )
    assert (again["SuccStat"], again["FailReason"], again["StartChargeSeqStat"]) == (1, 3, 4)
    assert len(port.stops) == 1
    db.session.expire_all()
    bill = db.session.scalar(select(Bill))
    assert bill is not None and bill.total_fen == 175 and bill.driver_id is None
    # the partner pays by statement: no arrears, not in the arrears review queue
    assert bill.arrears_fen == 0 and order.start_method == "roaming"
    ret, final = partner.call("query_equip_charge_status", {"StartChargeSeq": seq})
    assert final["TotalMoney"] == 1.75 and final["StartChargeSeqStat"] == 4


def test_sequence_numbers_are_27_characters_of_the_issuer(
    partner: PartnerCaller, world: World, port: FakePort
) -> None:
    for bad in ("short", "MA5EVOP01" + "0" * 18, partner.operator_id + "0" * 17):
        ret, _ = partner.call(
            "query_start_charge", {"StartChargeSeq": bad, "ConnectorID": "HLHT-PILE-01-1"}
        )
        assert ret == 4004
    ret, _ = partner.call("query_equip_charge_status", {"StartChargeSeq": partner.seq()})
    assert ret == 4004  # unknown order
    ret, _ = partner.call("query_stop_charge", {"StartChargeSeq": partner.seq()})
    assert ret == 4004
    assert _orders() == 0 and port.starts == [] and port.stops == []


def test_business_calls_without_a_valid_token_or_signature_change_nothing(
    partner: PartnerCaller, world: World, port: FakePort
) -> None:
    data = {"StartChargeSeq": partner.seq(), "ConnectorID": "HLHT-PILE-01-1"}
    ret, _ = partner.call("query_start_charge", data, token="forged")
    assert ret == 4002
    wrong = PartnerCaller(partner.client, keys=type(partner.keys)(
        partner.keys.data_secret, partner.keys.data_iv, "wrong-sig-secret"))  # fmt: skip
    ret, _ = wrong.call("query_start_charge", data, token=partner.token)
    assert ret == 4001
    for interface in ("query_stop_charge", "query_equip_auth", "query_equip_charge_status"):
        assert partner.call(interface, data, token="")[0] == 4002
    assert _orders() == 0 and port.starts == []


def test_station_stats_sum_the_energy_of_closed_orders(
    partner: PartnerCaller, world: World, port: FakePort
) -> None:
    began = utcnow() - timedelta(hours=1)
    ref = world.start(began, samples=[(5, 500)])
    world.stop(ref, began + timedelta(minutes=10), 1200)
    day = (began + timedelta(hours=8)).strftime("%Y-%m-%d")
    ret, data = partner.call(
        "query_station_stats",
        {"StationID": str(world.station.id), "StartTime": day, "EndTime": day},
    )
    assert ret == 0, data
    stats = data["StationStats"]
    [pile] = stats["EquipmentStatsInfos"]
    assert pile["EquipmentID"] == world.code and pile["EquipmentElectricity"] == 1.2
    assert [c["ConnectorElectricity"] for c in pile["ConnectorStatsInfos"]] == [1.2, 0]
    ret, _ = partner.call(
        "query_station_stats", {"StationID": "999999", "StartTime": day, "EndTime": day}
    )
    assert ret == 4004
    ret, _ = partner.call(
        "query_station_stats", {"StationID": str(world.station.id), "StartTime": "2026/1/1"}
    )
    assert ret == 4004
