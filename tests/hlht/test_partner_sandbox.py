"""The demo's partner platform (issue 11: "the demo's partner sandbox works from make run"):
mounted at /sandbox/hlht/ on the platform's own server in demo mode, the demo partner
演示互联平台 pointed at it; its stations sync over real HTTP through the envelope, a demo
driver's roaming charge starts, runs, stops and is billed by the partner's notifications
to our /evcs/v1/, once. Never mounted outside demo mode; production refuses it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.config import check_settings
from app.db import utcnow
from app.demo import DEMO_PARTNER_ID, demo_driver, seed_demo
from app.extensions import db
from app.hlht import customer, partners
from app.hlht.models import CustomerOrder, PartnerConnector, PartnerStation
from app.hlht.sandbox import MOUNT_PREFIX, STATIONS, PartnerSandbox, connector_ids, period_at
from app.ledger import wallet
from app.money import fee_fen
from tests.support.servers import free_port
from tests.support.settings import BASE_CONFIG
from wsgi import attach_hlht_sandbox, compose, sync_demo_partner


def _app(tmp_path: Path, **config: object) -> Flask:
    app = compose(
        {
            **BASE_CONFIG,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
            "HTTP_PORT": free_port(),
            "DEMO_MODE": True,
            "HLHT_SANDBOX": True,
            **config,
        }
    )
    with app.app_context():
        db.create_all()
        seed_demo()
        db.session.remove()
    return app


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Flask, PartnerSandbox]]:
    app = _app(tmp_path)
    sandbox = attach_hlht_sandbox(app)
    assert sandbox is not None
    server = make_server("127.0.0.1", app.config["HTTP_PORT"], app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield app, sandbox
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()


def test_demo_partner_points_at_the_sandbox_and_its_stations_sync_over_http(
    served: tuple[Flask, PartnerSandbox],
) -> None:
    app, sandbox = served
    with app.app_context():
        partner = partners.by_operator_id(DEMO_PARTNER_ID)
        assert partner is not None
        assert partner.base_url == f"http://127.0.0.1:{app.config['HTTP_PORT']}{MOUNT_PREFIX}"
    sync_demo_partner(app)
    with app.app_context():
        names = set(db.session.scalars(select(PartnerStation.name)))
        assert names == {name for _, name, *_ in STATIONS}
        connectors = db.session.scalars(select(PartnerConnector)).all()
        assert sorted(c.connector_code for c in connectors) == sorted(connector_ids())
        # the policy came in the standard's spelling (SevicePrice) and was read as service
        policy = connectors[0].policy
        assert [p["start_minute"] for p in policy] == [0, 480, 1320]
        assert policy[1]["elec"] == "1.0000" and policy[1]["service"] == "0.8000"
        assert all(c.status == 1 for c in connectors)  # 空闲
    assert sandbox.tokens, "our platform fetched a token from the sandbox first"


def test_a_roaming_charge_on_the_sandbox_is_billed_once_to_the_fen(
    served: tuple[Flask, PartnerSandbox],
) -> None:
    app, sandbox = served
    sync_demo_partner(app)
    began = utcnow()
    sandbox.clock = lambda: began
    with app.app_context():
        driver = demo_driver()
        assert driver is not None
        before = wallet.balance_of(driver.id)
        order = customer.start(driver, connector_ids()[0], DEMO_PARTNER_ID, "/demo", None)
        seq, order_no = order.start_charge_seq, order.order_no
        assert order.state == "starting"
    sandbox.step("start", seq)  # what its worker does a second later: pushed to /evcs/v1/
    with app.app_context():
        assert db.session.scalar(select(CustomerOrder.state)) == "charging"
    sandbox.clock = lambda: began + timedelta(minutes=10)  # 30 kW for 10 min: 5.00 kWh
    sandbox.step("status", seq)
    with app.app_context():
        running = db.session.scalar(select(CustomerOrder))
        assert running is not None and running.energy_wh == 5000
        driver = demo_driver()
        assert driver is not None
        stopping = customer.stop(driver, order_no, None)
        assert stopping.state == "stopping"
    sandbox.step("stop", seq)
    sandbox.step("bill", seq)
    _, elec, service = period_at(began)
    expected = fee_fen(5000, Decimal(elec)) + fee_fen(5000, Decimal(service))
    with app.app_context():
        settled = db.session.scalar(select(CustomerOrder))
        assert settled is not None and settled.state == "settled"
        assert settled.partner_total_fen == settled.charged_fen == expected
        driver = demo_driver()
        assert driver is not None and wallet.balance_of(driver.id) == before - expected
    # the partner tells us the bill again: acknowledged, nothing changes
    session = sandbox.sessions[seq]
    assert sandbox.push("notification_charge_order_info", sandbox.bill(session)) == 0
    with app.app_context():
        driver = demo_driver()
        assert driver is not None and wallet.balance_of(driver.id) == before - expected
        assert db.session.scalar(select(func.count()).select_from(CustomerOrder)) == 1
    assert [ret for _, ret in sandbox.pushed] == [0] * len(sandbox.pushed)


def test_the_sandbox_refuses_a_busy_connector_and_a_wrong_secret(
    served: tuple[Flask, PartnerSandbox],
) -> None:
    app, sandbox = served
    sync_demo_partner(app)
    with app.app_context():
        driver = demo_driver()
        assert driver is not None
        customer.start(driver, connector_ids()[1], DEMO_PARTNER_ID, "", None)
    answer = sandbox._query_equip_auth({"EquipAuthSeq": "x", "ConnectorID": connector_ids()[1]})
    assert answer["SuccStat"] == 1 and answer["FailReason"] == 2
    refused = sandbox._query_token({"OperatorID": "MA5EVOP01", "OperatorSecret": "wrong"})
    assert refused["SuccStat"] == 1 and not refused["AccessToken"]


def test_the_partner_sandbox_is_never_mounted_outside_demo_mode(tmp_path: Path) -> None:
    app = _app(tmp_path, DEMO_MODE=False)
    assert attach_hlht_sandbox(app) is None
    assert not any(rule.rule.startswith(MOUNT_PREFIX) for rule in app.url_map.iter_rules())
    problems = check_settings({"HLHT_SANDBOX": True})
    assert any("EVOP_HLHT_SANDBOX" in p for p in problems)
