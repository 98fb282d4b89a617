"""Delivery of the outbox as subscribe messages: sent through the fake WeChat, every try
recorded, retryable failures retried with backoff, refusals not retried, and never a
message for a pile that merely went offline (case #18 2019-01-09)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.notices import delivery, outbox
from app.notices.models import NOTIFICATION_KINDS, NotificationAttempt, OutboxMessage
from app.wechat.sandbox.state import FakeWeChat
from tests.support.drivers import YC_APP, Login, Ops
from tests.support.payments import driver_of

TEMPLATE = "tmpl-refund-result-0001"


@pytest.fixture
def ready(app: Flask, ops: Ops, mp_login: Login, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "SUBSCRIBE_TEMPLATE_REFUND_RESULT", TEMPLATE)
    mp_login("alice")
    for m in db.session.scalars(select(OutboxMessage)):
        m.status = "sent"  # the demo's own messages are not part of these tests
    db.session.commit()


def _message(openid: str = "alice", kind: str = "refund_result") -> OutboxMessage:
    driver = driver_of(openid)
    message = OutboxMessage(
        kind=kind, dedupe_key=f"{kind}:{openid}", driver_id=driver.id,
        operator_id=driver.operator_id,
        payload={"amount_fen": 5000, "reason": "退款成功，已原路退回微信", "ok": True},
    )  # fmt: skip
    db.session.add(message)
    db.session.commit()
    return message


def _attempts(message: OutboxMessage) -> list[NotificationAttempt]:
    return list(
        db.session.scalars(
            select(NotificationAttempt)
            .where(NotificationAttempt.message_id == message.id)
            .order_by(NotificationAttempt.id)
        )
    )


def test_delivery_sends_subscribe_message_and_records_the_attempt(
    wechat: FakeWeChat, ready: None
) -> None:
    driver = driver_of("alice")
    message = outbox.refund_result(
        driver_id=driver.id, operator_id=driver.operator_id, amount_fen=5000, ref="refund:1",
        reason="退款成功，已原路退回微信",
    )  # fmt: skip
    assert message is not None
    db.session.commit()
    assert delivery.deliver_pending() == 1
    assert delivery.deliver_pending() == 0  # sent once
    db.session.expire_all()
    assert message.status == "sent" and message.sent_at is not None and message.attempts == 1
    [attempt] = _attempts(message)
    assert attempt.ok and attempt.template_id == TEMPLATE and attempt.msgid
    [sent] = wechat.subscribe_messages
    assert (sent["app_id"], sent["touser"], sent["template_id"]) == (YC_APP[0], "alice", TEMPLATE)
    assert sent["data"]["amount1"] == {"value": "50.00元"}
    assert sent["data"]["phrase2"] == {"value": "退款成功"}


def test_refused_subscription_is_not_retried(wechat: FakeWeChat, ready: None) -> None:
    wechat.refuse_subscribe("alice")
    message = _message()
    assert delivery.deliver_pending(utcnow() + timedelta(hours=2)) == 0
    db.session.expire_all()
    assert message.status == "failed"
    [attempt] = _attempts(message)
    assert not attempt.ok and attempt.errcode == 43101
    assert wechat.subscribe_messages == []


def test_unreachable_wechat_is_retried_with_backoff(
    app: Flask, wechat: FakeWeChat, ready: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = _message()
    real_base = app.config["WECHAT_API_BASE"]
    monkeypatch.setitem(app.config, "WECHAT_API_BASE", "http://127.0.0.1:9")  # nobody there
    now = utcnow()
    assert delivery.deliver_pending(now) == 0
    assert delivery.deliver_pending(now + timedelta(seconds=30)) == 0  # backing off
    db.session.expire_all()
    assert message.status == "pending" and len(_attempts(message)) == 1
    monkeypatch.setitem(app.config, "WECHAT_API_BASE", real_base)
    assert delivery.deliver_pending(now + timedelta(seconds=61)) == 1
    db.session.expire_all()
    assert message.status == "sent"
    assert [a.ok for a in _attempts(message)] == [False, True]
    assert _attempts(message)[0].errcode is not None


def test_never_a_message_for_a_pile_that_went_offline(wechat: FakeWeChat, ready: None) -> None:
    """Case #18 2019-01-09: there is no outbox kind for it, and a stray one is not sent."""
    assert not any("offline" in kind or "pile" in kind for kind in NOTIFICATION_KINDS)
    assert set(delivery.RENDERERS) == set(NOTIFICATION_KINDS)
    message = _message(kind="pile_offline")
    assert delivery.deliver_pending() == 0
    db.session.expire_all()
    assert message.status == "failed"
    assert _attempts(message)[0].error.startswith("UNKNOWN_KIND")
    assert wechat.subscribe_messages == []


def test_kind_without_template_is_not_sent(wechat: FakeWeChat, ready: None) -> None:
    message = _message(kind="coupon_expiring")
    assert delivery.deliver_pending() == 0
    db.session.expire_all()
    assert message.status == "failed"
    assert _attempts(message)[0].error == "TEMPLATE_NOT_CONFIGURED"
    # the outbox row itself says why (issue 14: nothing was sent and nothing said so)
    assert message.last_error == (
        "TEMPLATE_NOT_CONFIGURED: 未配置「优惠券即将过期」订阅消息模板，不发送"
    )
    assert wechat.subscribe_messages == []


def test_the_operators_own_template_is_used_before_the_setting(
    wechat: FakeWeChat, ready: None, ops: Ops
) -> None:
    ops.yc.subscribe_templates = {"refund_result": "tmpl-yc-refund", "coupon_expiring": "tmpl-yc-c"}
    db.session.commit()
    refund, coupon = _message(), _message(kind="coupon_expiring")
    assert delivery.deliver_pending() == 2
    db.session.expire_all()
    assert [m["template_id"] for m in wechat.subscribe_messages] == ["tmpl-yc-refund", "tmpl-yc-c"]
    assert _attempts(refund)[0].template_id == "tmpl-yc-refund"
    assert (refund.status, refund.last_error, coupon.status) == ("sent", "", "sent")


def test_a_kind_another_operator_configured_is_still_off_for_this_one(
    wechat: FakeWeChat, ready: None, ops: Ops
) -> None:
    ops.kc.subscribe_templates = {"coupon_expiring": "tmpl-kc-only"}
    db.session.commit()
    message = _message(kind="coupon_expiring")  # alice is a 广东云创 driver
    assert delivery.deliver_pending() == 0
    db.session.expire_all()
    assert message.status == "failed"
    assert message.last_error.startswith("TEMPLATE_NOT_CONFIGURED")
    assert wechat.subscribe_messages == []


def test_a_drivers_messages_are_delivered_in_the_order_they_happened(
    app: Flask, wechat: FakeWeChat, ready: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # issue 14: the first waits for its retry, so the second waits behind it
    monkeypatch.setitem(app.config, "SUBSCRIBE_TEMPLATE_CHARGE_STARTED", "tmpl-started")
    driver = driver_of("alice")
    first = OutboxMessage(
        kind="charge_started", dedupe_key="charge_started:order-1", driver_id=driver.id,
        operator_id=driver.operator_id,
        payload={"order_no": "O1", "started_at": "2026-12-03T06:17:38.867000+00:00"},
    )  # fmt: skip
    db.session.add(first)
    db.session.commit()
    second = _message()
    now = utcnow()
    db.session.add(NotificationAttempt(message_id=first.id, attempted_at=now, ok=False))
    first.attempts = 1
    db.session.commit()
    assert delivery.deliver_pending(now + timedelta(seconds=5)) == 0  # both wait
    assert wechat.subscribe_messages == []
    assert delivery.deliver_pending(now + timedelta(seconds=61)) == 2
    assert [m["template_id"] for m in wechat.subscribe_messages] == ["tmpl-started", TEMPLATE]
    assert wechat.subscribe_messages[0]["data"]["time2"] == {"value": "2026-12-03 14:17"}
    db.session.expire_all()
    assert (first.status, second.status) == ("sent", "sent")
