"""我的 → 充电密码 (issue 13, issue 10's drivers' side): a driver sees whether they have a
pile password and since when, and resets it (new digits shown once, the old disabled,
rate-limited, audited); two drivers of one operator never hold the same password."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.charging.port import AuthorizeRequested
from app.drivers import cards, members
from app.errors import CHARGING_PASSWORD_UNAVAILABLE
from app.extensions import db
from app.tenancy.models import AuditLog, Driver, DriverCard
from app.tenancy.scope import SYSTEM
from pile_link.ykc.messages import password_md5_16
from pile_link.ykc.session import password_form
from tests.support.drivers import Login, Ops
from tests.support.money import build_world

PATH = "/api/mp/v1/charging-password"


def _driver(openid: str) -> Driver:
    driver = db.session.scalar(select(Driver).where(Driver.openid == openid))
    assert driver is not None
    return driver


def _active(driver_id: int) -> list[DriverCard]:
    return list(
        db.session.scalars(
            select(DriverCard).where(
                DriverCard.driver_id == driver_id, DriverCard.is_active.is_(True)
            )
        )
    )


def test_a_driver_sees_that_they_have_a_password_and_resets_it_shown_once(
    client: FlaskClient, mp_login: Login
) -> None:
    headers = mp_login("pwd-alice")
    none = client.get(PATH, headers=headers)
    assert none.status_code == 200, none.get_json()
    assert none.get_json() == {"has_password": False, "issued_at": None, "password": None}

    first = client.post(f"{PATH}/reset", headers=headers)
    assert first.status_code == 200, first.get_json()
    assert first.headers["Cache-Control"] == "no-store"
    body = first.get_json()
    assert body["has_password"] is True and body["issued_at"]
    password = body["password"]
    assert len(password) == cards.PASSWORD_DIGITS and password.isdigit()

    seen = client.get(PATH, headers=headers)
    assert seen.headers["Cache-Control"] == "no-store"
    assert seen.get_json() == {
        "has_password": True,
        "issued_at": body["issued_at"],
        "password": None,
    }  # fmt: skip  (shown once, never again)

    second = client.post(f"{PATH}/reset", headers=headers).get_json()
    assert second["password"] != password
    driver = _driver("pwd-alice")
    active = _active(driver.id)
    assert [c.id_tag for c in active] == [cards.password_tag(second["password"])]  # old off
    stored = db.session.scalars(select(DriverCard.id_tag).where(DriverCard.driver_id == driver.id))
    assert all(password not in tag for tag in stored)  # never kept as typed

    logs = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "driver_card.reset_password",
                               AuditLog.target_id == str(driver.id))
    ).all()  # fmt: skip
    assert len(logs) == 2
    assert all(log.actor_type == "driver" and log.operator_id == driver.operator_id for log in logs)
    assert all(password not in str(log.after) and second["password"] not in str(log.after)
               for log in logs)  # fmt: skip
    assert logs[-1].after is not None and logs[-1].after["disabled_ids"]


def test_a_password_the_console_issued_shows_in_the_drivers_api(
    client: FlaskClient, mp_login: Login
) -> None:
    """Issue 13: the console issues a member a password; the driver's page then says so."""
    headers = mp_login("pwd-bob")
    driver = _driver("pwd-bob")
    issued = cards.issue_password(SYSTEM, driver.id, reason="司机来电")
    assert issued.password is not None
    body = client.get(PATH, headers=headers).get_json()
    assert body["has_password"] is True and body["password"] is None
    cards.disable_card(SYSTEM, issued.id, reason="泄露")
    assert client.get(PATH, headers=headers).get_json()["has_password"] is False


def test_password_resets_are_rate_limited_per_driver(
    app: Flask, client: FlaskClient, mp_login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "PASSWORD_RESET_RATE_LIMIT", 2)
    carol, dave = mp_login("pwd-carol"), mp_login("pwd-dave")
    for _ in range(2):
        assert client.post(f"{PATH}/reset", headers=carol).status_code == 200
    refused = client.post(f"{PATH}/reset", headers=carol)
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["code"] == "CHARGING_PASSWORD_RESET_RATE_LIMITED" and "频繁" in error["message"]
    assert int(refused.headers["Retry-After"]) >= 1
    assert client.post(f"{PATH}/reset", headers=dave).status_code == 200  # per driver
    # the refused reset changed nothing: carol's second password still works
    assert len(_active(_driver("pwd-carol").id)) == 1


def test_the_drivers_api_needs_a_driver_token(client: FlaskClient, ops: Ops) -> None:
    assert client.get(PATH).status_code == 401
    assert client.post(f"{PATH}/reset").status_code == 401


def test_a_pile_accepts_the_reset_password_and_refuses_the_old_one(app: Flask, ops: Ops) -> None:
    world = build_world(app, operator=ops.yc, code="YC-PWD-01")
    world.connect(datetime.now(UTC))

    def accepted(password: str) -> bool:
        tag = password_form(password_md5_16(password))
        return bool(world.svc.handle(AuthorizeRequested(world.code, tag)).accepted)

    old = cards.reset_own_password(world.driver).password
    assert old is not None and accepted(old)
    new = cards.reset_own_password(world.driver).password
    assert new is not None and accepted(new)
    assert not accepted(old)


@pytest.fixture
def same_digits_first(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The draws come from a script, and the check before the insert sees nothing (as when
    another issue of the same digits has not committed yet); yields what was drawn."""
    script = iter(["12345678", "12345678", "87654321", "12345678"])
    drawn: list[str] = []

    def digits() -> str:
        drawn.append(next(script))
        return drawn[-1]

    monkeypatch.setattr(cards, "_new_digits", digits)
    monkeypatch.setattr(cards, "_taken", lambda operator_id, id_tag: False)
    yield drawn


def test_two_drivers_of_one_operator_never_get_the_same_password(
    app: Flask, ops: Ops, same_digits_first: list[str]
) -> None:
    """The pile finds the driver by the password alone: a second driver drawing digits
    another driver of the operator holds must get other digits (the unique constraint and a
    retry), not the same password and not a 500."""
    first = members.create_driver(ops.yc.id, openid="pwd-twin-1", nickname="甲")
    second = members.create_driver(ops.yc.id, openid="pwd-twin-2", nickname="乙")
    other_op = members.create_driver(ops.kc.id, openid="pwd-twin-3", nickname="丙")
    db.session.commit()
    a = cards.reset_own_password(first).password
    b = cards.reset_own_password(second).password
    c = cards.issue_password(SYSTEM, other_op.id).password
    assert (a, b, c) == ("12345678", "87654321", "12345678")  # c: another operator's piles
    assert same_digits_first == ["12345678", "12345678", "87654321", "12345678"]
    dupes = db.session.scalar(
        select(func.count()).select_from(
            select(DriverCard.operator_id, DriverCard.id_tag)
            .group_by(DriverCard.operator_id, DriverCard.id_tag)
            .having(func.count() > 1)
            .subquery()
        )
    )
    assert dupes == 0


def test_a_password_unavailable_after_every_draw_is_taken_is_a_clear_error(
    ops: Ops, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver = members.create_driver(ops.yc.id, openid="pwd-full", nickname="满")
    db.session.commit()
    monkeypatch.setattr(cards, "_taken", lambda operator_id, id_tag: True)
    with pytest.raises(CHARGING_PASSWORD_UNAVAILABLE):
        cards.reset_own_password(driver)
    assert _active(driver.id) == []
