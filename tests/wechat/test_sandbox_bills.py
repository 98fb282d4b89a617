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


# -- the fund-flow bill (资金账单, basic account) ----------------------------------------


def _fund(creds, endpoints, day):
    answer = pay.apply_bill(creds, "fundflow", day, tar_type="GZIP", endpoints=endpoints)
    assert answer["hash_type"] == "SHA1" and "tartype=gzip" in answer["download_url"]
    data = pay.download_bill(creds, answer["download_url"], answer["hash_value"], tar_type="GZIP")
    return data, *bills.parse_fund_flow_bill(data)


def test_fund_flow_bill_lists_the_days_income_and_expense(day_fake, merchant, creds, endpoints):
    yesterday = NOON - 86400
    _paid(day_fake, merchant, "T600001", 700, yesterday - 13 * 3600)  # the day before
    _paid(day_fake, merchant, "T600002", 1000, yesterday)
    _paid(day_fake, merchant, "T600003", 2550, yesterday - 11 * 3600)  # 01:00 local
    day_fake.refunds[(merchant.mch_id, "R100001")] = _refund(merchant, "T600002", 300, yesterday)
    data, lines, summary = _fund(creds, endpoints, YESTERDAY)
    assert data.decode().splitlines()[0].split(",") == list(bills.FUND_FLOW_COLUMNS)
    got = [(ln.direction, ln.voucher_no, ln.fen, ln.balance_fen) for ln in lines]
    # in booking order; the balance runs on from the day before (7.00)
    assert got == [
        ("收入", "T600003", 2550, 3250),
        ("收入", "T600002", 1000, 4250),
        ("支出", "R100001", 300, 3950),
    ]
    income = next(ln for ln in lines if ln.voucher_no == "T600002")
    order = day_fake.orders[(merchant.mch_id, "T600002")]
    assert (income.wechat_no, income.business_type) == (order.transaction_id, "交易")
    assert income.booked_at.startswith(YESTERDAY + " 12:00")
    expense = lines[-1]
    assert (expense.wechat_no, expense.business_type, expense.signed_fen) == (
        "503000001", "退款", -300,
    )  # fmt: skip
    assert summary == {
        "资金流水总笔数": "3", "收入笔数": "2", "收入金额": "35.50", "支出笔数": "1",
        "支出金额": "3.00",
    }  # fmt: skip


def test_fund_flow_bill_only_for_the_basic_account_and_a_past_day_with_money(
    day_fake, merchant, creds, endpoints
):
    _paid(day_fake, merchant, "T700001", 100, NOON - 86400)
    _paid(day_fake, merchant, "T700002", 100, NOON - 3600)  # today
    for day in (TODAY.isoformat(), (TODAY - timedelta(days=3)).isoformat()):
        with pytest.raises(WeChatPayError) as exc:
            pay.apply_bill(creds, "fundflow", day, endpoints=endpoints)
        assert exc.value.code == "NO_STATEMENT_EXIST"
    # the fake's operation and fees accounts never move
    for account in ("OPERATION", "FEES", "NOPE"):
        with pytest.raises(WeChatPayError) as exc:
            pay.pay_request(
                creds, "GET", "/v3/bill/fundflowbill", endpoints=endpoints,
                query={"bill_date": YESTERDAY, "account_type": account},
            )  # fmt: skip
        assert exc.value.code == ("PARAM_ERROR" if account == "NOPE" else "NO_STATEMENT_EXIST")


def test_fund_flow_injected_mismatches_show_in_its_bill_only(day_fake, merchant, creds, endpoints):
    yesterday = NOON - 86400
    _paid(day_fake, merchant, "T800001", 1000, yesterday)
    _paid(day_fake, merchant, "T800002", 2000, yesterday)
    day_fake.fund_flow_alter_amount("T800001", 999, merchant.mch_id)
    day_fake.fund_flow_drop_line("T800002", merchant.mch_id)
    day_fake.fund_flow_add_line(merchant.mch_id, YESTERDAY, "RGHOST01", 500, expense=True)
    _, lines, summary = _fund(creds, endpoints, YESTERDAY)
    assert {(ln.voucher_no, ln.direction, ln.fen) for ln in lines} == {
        ("T800001", "收入", 999),
        ("RGHOST01", "支出", 500),
    }
    assert (summary["收入金额"], summary["支出金额"]) == ("9.99", "5.00")
    trade, _ = _bill(creds, endpoints, YESTERDAY)  # the trade bill is untouched
    assert {ln.out_trade_no: ln.amount_fen for ln in trade} == {"T800001": 1000, "T800002": 2000}


def test_fund_flow_parser_refuses_a_summary_disagreeing_with_its_lines() -> None:
    from app.errors import DomainError

    head = ",".join(bills.FUND_FLOW_COLUMNS)
    row = ",".join("`" + v for v in (
        "2026-12-03 12:00:00", "4200", "1", "交易", "交易", "收入", "10.00", "10.00",
        "system", "", "T1",
    ))  # fmt: skip
    summary_head = ",".join(bills.FUND_FLOW_SUMMARY_COLUMNS)
    good = f"{head}\r\n{row}\r\n{summary_head}\r\n`1,`1,`10.00,`0,`0.00\r\n".encode()
    lines, _ = bills.parse_fund_flow_bill(good)
    assert [(ln.voucher_no, ln.signed_fen) for ln in lines] == [("T1", 1000)]
    for bad in (
        f"{head}\r\n{row}\r\n{summary_head}\r\n`1,`1,`10.01,`0,`0.00\r\n",
        f"{head}\r\n{row}\r\n{summary_head}\r\n`2,`1,`10.00,`0,`0.00\r\n",
        f"{head}\r\n{row.replace('收入', '冻结')}\r\n",
    ):
        with pytest.raises(DomainError) as exc:
            bills.parse_fund_flow_bill(bad.encode())
        assert exc.value.code == "STATEMENT_FORMAT_INVALID"
