"""The sandbox serves daily trade bills from its own records, over real HTTP, through the
real client (apply_bill + download_bill), with injectable mismatches."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from app.wechat import bills, pay
from app.wechat.errors import WeChatPayError
from app.wechat.sandbox.signing import CST, rfc3339
from app.wechat.sandbox.state import FakeRefund

# noon today, China time (the fake checks request timestamps against its real clock)
TODAY = datetime.now(CST).date()
NOON = datetime.combine(TODAY, time(12), CST).timestamp()
YESTERDAY = (TODAY - timedelta(days=1)).isoformat()


@pytest.fixture
def day_fake(fake):
    return fake


def _paid(fake, merchant, no, fen, at):
    fake.add_order(merchant, no, fen, "o-driver")
    fake.pay(no, merchant.mch_id).success_time = rfc3339(at)


def _bill(creds, endpoints, day):
    answer = pay.apply_bill(creds, "trade", day, endpoints=endpoints)
    assert answer["hash_type"] == "SHA1"
    data = pay.download_bill(creds, answer["download_url"], answer["hash_value"])
    return bills.parse_trade_bill(data)


def test_trade_bill_lists_the_days_payments_and_refunds(day_fake, merchant, creds, endpoints):
    yesterday = NOON - 86400
    _paid(day_fake, merchant, "T100001", 1000, yesterday)
    _paid(day_fake, merchant, "T100002", 2550, yesterday - 11 * 3600)  # 01:00 local
    _paid(day_fake, merchant, "T100003", 700, yesterday - 13 * 3600)  # the day before
    day_fake.refunds[(merchant.mch_id, "R100001")] = _refund(merchant, "T100001", 300, yesterday)
    lines, summary = _bill(creds, endpoints, YESTERDAY)
    pays = {ln.out_trade_no: ln.amount_fen for ln in lines if ln.trade_state == "SUCCESS"}
    assert pays == {"T100001": 1000, "T100002": 2550}
    (refund,) = [ln for ln in lines if ln.trade_state == "REFUND"]
    assert (refund.out_refund_no, refund.refund_fen, refund.refund_state) == (
        "R100001",
        300,
        "SUCCESS",
    )
    assert summary["总交易单数"] == "3"
    assert summary["应结订单总金额"] == "35.50"
    assert summary["退款总金额"] == "3.00"


def _refund(merchant, out_trade_no, fen, at):
    return FakeRefund(
        mch_id=merchant.mch_id,
        out_refund_no="R100001",
        refund_id="503000001",
        out_trade_no=out_trade_no,
        transaction_id="4200001",
        refund_fen=fen,
        total_fen=1000,
        reason="",
        notify_url="",
        create_time=rfc3339(at),
        status="SUCCESS",
        success_time=rfc3339(at),
    )


def test_no_statement_for_an_empty_day_today_or_the_future(day_fake, merchant, creds, endpoints):
    _paid(day_fake, merchant, "T200001", 100, NOON - 3600)  # today
    days = [TODAY - timedelta(days=2), TODAY, TODAY + timedelta(days=6)]
    for day in (d.isoformat() for d in days):
        with pytest.raises(WeChatPayError) as exc:
            pay.apply_bill(creds, "trade", day, endpoints=endpoints)
        assert exc.value.code == "NO_STATEMENT_EXIST"


def test_injected_mismatches_show_in_the_bill(day_fake, merchant, creds, endpoints):
    yesterday = NOON - 86400
    _paid(day_fake, merchant, "T300001", 1000, yesterday)
    _paid(day_fake, merchant, "T300002", 2000, yesterday)
    day_fake.statement_alter_amount("T300001", 999, merchant.mch_id)
    day_fake.statement_drop_line("T300002", merchant.mch_id)
    day_fake.statement_add_line(merchant.mch_id, YESTERDAY, "GHOST0001", 500)
    lines, _ = _bill(creds, endpoints, YESTERDAY)
    assert {ln.out_trade_no: ln.amount_fen for ln in lines} == {"T300001": 999, "GHOST0001": 500}


def test_download_link_is_the_merchants_own(day_fake, merchant, other_merchant, creds, endpoints):
    day_fake.register_merchant(other_merchant)
    _paid(day_fake, merchant, "T400001", 1000, NOON - 86400)
    answer = pay.apply_bill(creds, "trade", YESTERDAY, endpoints=endpoints)
    other = other_merchant.credentials(day_fake)
    with pytest.raises(WeChatPayError) as exc:
        pay.download_bill(other, answer["download_url"], answer["hash_value"])
    assert exc.value.code == "INVALID_REQUEST"


def test_bill_download_works_where_the_demo_mounts_the_sandbox(fake, merchant, creds) -> None:
    """Regression: the download URL carries the mount prefix and is signed with it."""
    from flask import Flask
    from werkzeug.serving import make_server

    from app.wechat.config import WeChatEndpoints
    from app.wechat.sandbox.server import MOUNT_PREFIX, mount

    host = Flask("demo-host")
    mount(host, fake)
    server = make_server("127.0.0.1", 0, host, threaded=True)
    import threading

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.port}{MOUNT_PREFIX}"
        _paid(fake, merchant, "T500001", 1000, NOON - 86400)
        lines, _ = _bill(creds, WeChatEndpoints(api_base=base, pay_base=base), YESTERDAY)
        assert [ln.out_trade_no for ln in lines] == ["T500001"]
    finally:
        server.shutdown()
        thread.join(timeout=5)
