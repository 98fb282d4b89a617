"""Who may connect as a pile (issue 15 #1): per-pile OCPP passwords set and rotated once
shown, YKC allowed networks per station, credentials mandatory by setting (demo piles exempt
in demo mode), a replacing connection only with credentials, every refusal and replacement
in the pile's history; and the admin API and CLI around them."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.catalogue import pile_access
from app.catalogue.models import Pile, PileConnectionEvent, Station
from app.config import check_settings
from app.errors import Conflict
from app.extensions import db
from app.tenancy.models import AuditLog
from app.tenancy.scope import SYSTEM

OCPP, YKC = "DEMO-OCPP-01", "55031412782305"


def _pile(code: str) -> Pile:
    pile = db.session.scalar(select(Pile).where(Pile.code == code))
    assert pile is not None
    return pile


def _events(code: str) -> list[tuple[str, str, str, int]]:
    pile = _pile(code)
    return [
        (e.kind, e.reason, e.address, e.attempts)
        for e in db.session.scalars(
            select(PileConnectionEvent)
            .where(PileConnectionEvent.pile_id == pile.id)
            .order_by(PileConnectionEvent.id)
        )
    ]


def _admit(code: str, password: str | None = None, **kw: Any) -> str:
    kw.setdefault("protocol", "ykc" if code == YKC else "ocpp16")
    kw.setdefault("address", "203.0.113.7")
    return pile_access.admit(code, password, **kw)


def test_a_pile_password_is_shown_once_checked_and_rotated(app: Flask, demo: Any) -> None:
    first = pile_access.set_password(SYSTEM, _pile(OCPP).id)
    assert len(first.password) == pile_access.PASSWORD_LENGTH
    assert first.password not in _pile(OCPP).password_hash  # only the hash is kept
    assert _admit(OCPP, first.password) == "admitted"
    assert _admit(OCPP, "wrong") == "wrong_password"
    assert _admit(OCPP, None) == "password_required"
    second = pile_access.set_password(SYSTEM, _pile(OCPP).id)
    assert second.password != first.password
    assert _admit(OCPP, first.password) == "wrong_password"
    assert _admit(OCPP, second.password) == "admitted"
    actions = db.session.scalars(
        select(AuditLog.action).where(AuditLog.target_type == "pile").order_by(AuditLog.id)
    ).all()
    assert actions[-2:] == ["pile.password_set", "pile.password_rotated"]
    for entry in db.session.scalars(select(AuditLog)):
        assert second.password not in str(entry.after) and first.password not in str(entry.after)


def test_credentials_required_refuse_a_pile_that_proves_nothing(app: Flask, demo: Any) -> None:
    app.config["PILE_CREDENTIALS_REQUIRED"] = True
    assert _admit(OCPP) == "password_required"
    assert _admit(YKC) == "network_not_allowed"  # YKC: no allowed networks configured
    station = _pile(YKC).station
    assert station is not None
    station.pile_networks = ["203.0.113.0/24"]
    db.session.commit()
    assert _admit(YKC) == "admitted"
    assert _admit(YKC, address="198.51.100.1") == "network_not_allowed"
    assert _admit(YKC, address="::ffff:203.0.113.9") == "admitted"  # IPv4-mapped
    # clearing a password is refused while credentials are required
    pile_access.set_password(SYSTEM, _pile(OCPP).id)
    with pytest.raises(Conflict) as exc:
        pile_access.clear_password(SYSTEM, _pile(OCPP).id)
    assert exc.value.code == "PILE_CREDENTIALS_REQUIRED"


def test_in_demo_mode_the_demo_piles_stay_exempt_and_no_other(app: Flask, demo: Any) -> None:
    app.config["PILE_CREDENTIALS_REQUIRED"] = True
    app.config["DEMO_MODE"] = True
    assert _admit(OCPP) == "admitted" and _admit(YKC) == "admitted"
    other = Pile(code="REAL-PILE-01", operator_id=_pile(OCPP).operator_id, protocol="ocpp16")
    db.session.add(other)
    db.session.commit()
    assert _admit("REAL-PILE-01") == "password_required"


def test_a_replacing_connection_is_admitted_only_with_credentials(app: Flask, demo: Any) -> None:
    assert _admit(OCPP, replacing=True) == "replacement_refused"
    assert _admit(OCPP, replacing=True) == "replacement_refused"  # counted on one row
    password = pile_access.set_password(SYSTEM, _pile(OCPP).id).password
    assert _admit(OCPP, password, replacing=True) == "admitted"
    assert _events(OCPP) == [
        ("refused", "replacement_refused", "203.0.113.7", 2),
        ("replaced", "", "203.0.113.7", 1),
    ]
    # YKC: a matching allowed network is its proof
    assert _admit(YKC, replacing=True) == "replacement_refused"
    station = _pile(YKC).station
    assert station is not None
    station.pile_networks = ["203.0.113.7/32"]
    db.session.commit()
    assert _admit(YKC, replacing=True) == "admitted"


def test_unknown_piles_are_refused_and_leave_no_rows(app: Flask, demo: Any) -> None:
    assert _admit("NOBODY-01") == "unknown_pile"
    assert db.session.scalars(select(PileConnectionEvent)).all() == []


def test_production_settings_require_pile_credentials() -> None:
    from app.config import load_config

    prod = load_config("/tmp", {"ENV": "production"})
    assert prod["PILE_CREDENTIALS_REQUIRED"] is True  # "auto" is on in production
    dev = load_config("/tmp", {"ENV": "development"})
    assert dev["PILE_CREDENTIALS_REQUIRED"] is False
    off = load_config("/tmp", {"ENV": "production", "PILE_CREDENTIALS_REQUIRED": "false"})
    assert any("PILE_CREDENTIALS_REQUIRED" in p for p in check_settings(off))
    assert not any("PILE_CREDENTIALS_REQUIRED" in p for p in check_settings(prod))


def test_the_console_api_sets_the_password_once_and_lists_connection_events(
    client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str], demo: Any
) -> None:
    pile_id = _pile(OCPP).id
    resp = client.post(f"/api/admin/v1/piles/{pile_id}/password", headers=as_yc)
    assert resp.status_code == 201, resp.get_json()
    shown = resp.get_json()
    assert shown["username"] == OCPP and len(shown["password"]) == 24
    pile = client.get(f"/api/admin/v1/piles/{pile_id}", headers=as_yc).get_json()
    assert pile["has_password"] is True and pile["password_set_at"]
    assert shown["password"] not in str(pile)
    # another sub-operator cannot see or set it
    other = client.post(f"/api/admin/v1/piles/{pile_id}/password", headers=as_kc)
    assert other.status_code == 404
    _admit(OCPP, "guess")
    events = client.get(f"/api/admin/v1/piles/{pile_id}/connection-events", headers=as_yc)
    assert events.status_code == 200
    assert [(e["kind"], e["reason"]) for e in events.get_json()["items"]] == [
        ("refused", "wrong_password")
    ]
    cleared = client.delete(f"/api/admin/v1/piles/{pile_id}/password", headers=as_yc)
    assert cleared.status_code == 200 and cleared.get_json()["has_password"] is False


def test_station_networks_are_validated_and_normalised(
    client: FlaskClient, as_yc: dict[str, str], demo: Any
) -> None:
    station = _pile(YKC).station
    assert station is not None
    url = f"/api/admin/v1/stations/{station.id}"
    bad = client.patch(url, json={"pile_networks": ["10.8.0.0/16", "not-a-net"]}, headers=as_yc)
    assert bad.status_code == 422
    assert bad.get_json()["error"]["code"] == "PILE_NETWORKS_INVALID"
    assert bad.get_json()["error"]["details"] == {"pile_networks": ["not-a-net"]}
    ok = client.patch(url, json={"pile_networks": ["10.8.1.2/16", "203.0.113.7"]}, headers=as_yc)
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["pile_networks"] == ["10.8.0.0/16", "203.0.113.7/32"]
    db.session.expire_all()
    assert db.session.get(Station, station.id).pile_networks == ["10.8.0.0/16", "203.0.113.7/32"]


def test_the_cli_prints_a_new_pile_password_once(app: Flask, demo: Any) -> None:
    result = app.test_cli_runner().invoke(args=["pile-password", OCPP])
    assert result.exit_code == 0, result.output
    password = result.output.strip().rsplit(" ", 1)[-1]
    db.session.expire_all()
    assert _admit(OCPP, password) == "admitted"
    missing = app.test_cli_runner().invoke(args=["pile-password", "NOBODY-01"])
    assert missing.exit_code == 1
