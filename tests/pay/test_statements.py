"""Statement reconciliation: WeChat's trade bill of a China-local day (served by the fake
from its own records, over real HTTP, through the real client) matched with our top-ups and
refunds of that day; each injected mismatch found, none when all match, re-runs replace."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.payments import statements
from app.payments.models import (
    RefundPart,
    StatementMismatch,
    StatementRun,
    TopUpPayment,
)
from app.wechat import bills
from app.wechat.sandbox.signing import CST
from tests.support.drivers import Login
from tests.support.payments import Pay, ask, funded, post_notify

ADMIN_REFUNDS = "/api/admin/v1/refunds"
DAY = timedelta(days=1)


def _earlier(text: str | None) -> str | None:
    if not text:
        return text
    return (datetime.fromisoformat(text) - DAY).astimezone(CST).isoformat(timespec="seconds")


def _move_to_yesterday(pay: Pay) -> None:
    """Both sides' records happened a day earlier (WeChat makes a bill only for a past day)."""
    with pay.fake.lock:
        for order in pay.fake.orders.values():
            order.success_time = _earlier(order.success_time)
        for refund in pay.fake.refunds.values():
            refund.success_time = _earlier(refund.success_time)
    for p in db.session.scalars(select(TopUpPayment)):
        p.paid_at = p.paid_at - DAY if p.paid_at else None
    for part in db.session.scalars(select(RefundPart)):
        part.finished_at = part.finished_at - DAY if part.finished_at else None
    db.session.commit()


@pytest.fixture
def day_of_money(
    client: FlaskClient, pay: Pay, mp_login: Login, as_yc: dict[str, str]
) -> tuple[list[str], list[str]]:
    """Yesterday: three top-ups (50.00, 30.00, 20.00) and a 20.00 refund paid back."""
    headers = mp_login("alice")
    nos = [funded(client, pay, headers, fen) for fen in (5000, 3000, 2000)]
    refund = ask(client, headers, amount_fen=2000)
    assert client.post(f"{ADMIN_REFUNDS}/{refund['id']}/approve", headers=as_yc).status_code == 200
    refund_nos = [p["out_refund_no"] for p in refund["parts"]]
    for no in refund_nos:
        notify_headers, body = pay.fake.make_refund_notify(no)
        resp = post_notify(client, pay.yc.mch_id, notify_headers, body, "refund-notify")
        assert resp.status_code == 200
    _move_to_yesterday(pay)
    return nos, refund_nos


def _yesterday() -> datetime:
    return datetime.now(CST) - DAY


def test_all_matching_gives_no_mismatch(pay: Pay, day_of_money) -> None:
    run = statements.reconcile(pay.ops.yc.id, _yesterday().date())
    assert run.state == "ok", [m.note for m in run.mismatches]
    assert (run.wechat_lines, run.our_lines, run.matched_lines) == (4, 4, 4)
    assert run.mismatch_count == 0 and run.mismatches == []
    assert run.our_total_fen == run.wechat_total_fen == 5000 + 3000 + 2000 - 2000
    assert run.mch_id == pay.yc.mch_id


def test_each_injected_mismatch_is_found(pay: Pay, day_of_money) -> None:
    (first, second, _third), _ = day_of_money
    mch = pay.yc.mch_id
    day = _yesterday().date()
    pay.fake.statement_alter_amount(first, 4999, mch)
    pay.fake.statement_drop_line(second, mch)
    pay.fake.statement_add_line(mch, day.isoformat(), "GHOST20261203", 1234)
    run = statements.reconcile(pay.ops.yc.id, day)
    assert run.state == "mismatch"
    found = {(m.kind, m.out_trade_no): (m.our_fen, m.wechat_fen) for m in run.mismatches}
    assert found == {
        ("amount_differs", first): (5000, 4999),
        ("missing_wechat", second): (3000, None),
        ("missing_ours", "GHOST20261203"): (None, 1234),
    }
    notes = {m.kind: m.note for m in run.mismatches}
    assert notes["amount_differs"] == "支付金额不一致：我方 50.00 元，微信 49.99 元"
    assert notes["missing_ours"] == "微信账单有此笔支付，我方没有记录"
    assert notes["missing_wechat"] == "我方当日支付成功，微信账单没有此笔"
    assert run.our_total_fen == 8000 and run.wechat_total_fen == 4999 + 2000 + 1234 - 2000


def test_wechat_paid_what_we_never_credited_is_state_differs(pay: Pay, day_of_money) -> None:
    payment = db.session.scalars(select(TopUpPayment).order_by(TopUpPayment.id)).first()
    assert payment is not None
    payment.state = "created"  # our side never saw the notify
    db.session.commit()
    run = statements.reconcile(pay.ops.yc.id, _yesterday().date())
    m, fund = run.mismatches  # the trade bill's line, then the fund-flow bill's income
    assert (m.kind, m.out_trade_no, m.our_fen, m.wechat_fen) == (
        "state_differs",
        payment.out_trade_no,
        5000,
        5000,
    )
    assert m.note == "微信支付成功，我方状态为“待支付”"
    assert (fund.kind, fund.out_trade_no, fund.our_fen, fund.wechat_fen) == (
        "fund_state", payment.out_trade_no, 5000, 5000,
    )  # fmt: skip
    assert fund.note == "微信资金账单有此笔收入（支付），我方状态为“待支付”"


def test_rerun_replaces_the_days_result(pay: Pay, day_of_money) -> None:
    (first, _, _), _ = day_of_money
    day = _yesterday().date()
    pay.fake.statement_alter_amount(first, 1, pay.yc.mch_id)
    run = statements.reconcile(pay.ops.yc.id, day)
    assert run.mismatch_count == 1
    pay.fake.bill_tweaks.clear()
    again = statements.reconcile(pay.ops.yc.id, day)
    assert again.id == run.id and again.state == "ok"
    assert db.session.scalar(select(func.count()).select_from(StatementRun)) == 1
    assert db.session.scalar(select(func.count()).select_from(StatementMismatch)) == 0


def test_bill_not_generated_yet_is_not_ready(pay: Pay, day_of_money) -> None:
    today = datetime.now(CST).date()
    run = statements.reconcile(pay.ops.yc.id, today)
    assert (run.state, run.error_code) == ("not_ready", "NO_STATEMENT_EXIST")
    assert run.mismatches == []
    empty = statements.reconcile(pay.ops.yc.id, today - timedelta(days=5))
    assert empty.state == "not_ready"


def test_bill_failing_its_hash_is_failed_not_a_crash(
    pay: Pay, day_of_money, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.wechat import pay as wechat_pay

    real = wechat_pay.apply_bill

    def wrong_hash(*args, **kwargs):
        answer = dict(real(*args, **kwargs))
        answer["hash_value"] = "0" * 40
        return answer

    monkeypatch.setattr(wechat_pay, "apply_bill", wrong_hash)
    run = statements.reconcile(pay.ops.yc.id, _yesterday().date())
    assert (run.state, run.error_code) == ("failed", "STATEMENT_HASH_MISMATCH")


def test_another_operators_bill_is_its_own(pay: Pay, day_of_money) -> None:
    run = statements.reconcile(pay.ops.kc.id, _yesterday().date())
    assert run.state == "not_ready" and run.our_lines == 0


def test_refund_amount_differs_and_refund_missing_ours() -> None:
    def line(no: str, refund_no: str, fen: int) -> bills.TradeLine:
        return bills.TradeLine(no, "42", "REFUND", 0, refund_no, fen, "SUCCESS", 0)

    ours = [statements.OurLine("T1", "R1", 500, "succeeded", True)]
    result = statements.compare([line("T1", "R1", 400), line("T2", "R2", 100)], ours, {})
    kinds = {(m.kind, m.out_refund_no, m.our_fen, m.wechat_fen) for m in result.mismatches}
    assert kinds == {("amount_differs", "R1", 500, 400), ("missing_ours", "R2", None, 100)}
    assert result.our_total_fen == -500 and result.wechat_total_fen == -500


def test_job_reconciles_yesterday_for_ready_operators_after_ten(pay: Pay, day_of_money) -> None:
    from datetime import time

    today = datetime.now(CST).date()
    early = datetime.combine(today, time(9, 59), CST)
    assert statements.reconcile_yesterday(early) == 0
    assert db.session.scalar(select(func.count()).select_from(StatementRun)) == 0
    late = datetime.combine(today, time(10, 1), CST)
    pay.ops.kc.wechat_mch_private_key = ""  # kc's merchant is not ready: left out
    db.session.commit()
    assert statements.reconcile_yesterday(late) == 1
    (run,) = db.session.scalars(select(StatementRun)).all()
    assert (run.operator_id, run.bill_date, run.state) == (pay.ops.yc.id, today - DAY, "ok")
    assert statements.reconcile_yesterday(late) == 0  # done for the day: not again


def test_job_retries_a_day_whose_bill_was_not_ready(pay: Pay, day_of_money) -> None:
    from datetime import time

    today = datetime.now(CST).date()
    late = datetime.combine(today, time(10, 1), CST)
    with pay.fake.lock:
        hidden = dict(pay.fake.orders)
        pay.fake.orders.clear()
        refunds = dict(pay.fake.refunds)
        pay.fake.refunds.clear()
    statements.reconcile_yesterday(late)
    run = db.session.scalar(select(StatementRun).where(StatementRun.operator_id == pay.ops.yc.id))
    assert run is not None and run.state == "not_ready"
    with pay.fake.lock:
        pay.fake.orders.update(hidden)
        pay.fake.refunds.update(refunds)
    statements.reconcile_yesterday(late)
    db.session.expire_all()
    again = db.session.get(StatementRun, run.id)
    assert again is not None and again.state == "ok"


# -- the console's API -------------------------------------------------------------------

API = "/api/admin/v1/statements/runs"


def test_api_run_now_lists_runs_and_mismatches_audited(
    client: FlaskClient, pay: Pay, day_of_money, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    from app.tenancy.models import AuditLog

    (first, _, _), _ = day_of_money
    day = _yesterday().date().isoformat()
    pay.fake.statement_alter_amount(first, 4000, pay.yc.mch_id)
    resp = client.post(API, json={"bill_date": day}, headers=as_yc)
    assert resp.status_code == 200, resp.get_json()
    run = resp.get_json()
    assert (run["state"], run["mismatch_count"], run["bill_date"]) == ("mismatch", 1, day)
    assert run["operator_id"] == pay.ops.yc.id
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "statement.run")).all()
    assert len(audit) == 1 and audit[0].target_id == str(run["id"])

    listed = client.get(API, query_string={"date_from": day, "date_to": day}, headers=as_yc)
    assert listed.status_code == 200
    assert [r["id"] for r in listed.get_json()["items"]] == [run["id"]]
    older = client.get(API, query_string={"date_to": "2020-01-01"}, headers=as_yc).get_json()
    assert older["items"] == [] and older["total"] == 0
    detail = client.get(f"{API}/{run['id']}/mismatches", headers=as_yc).get_json()
    assert [(m["kind"], m["our_fen"], m["wechat_fen"]) for m in detail["items"]] == [
        ("amount_differs", 5000, 4000)
    ]
    # another sub-operator neither sees nor lists it
    assert client.get(f"{API}/{run['id']}/mismatches", headers=as_kc).status_code == 404
    assert client.get(API, headers=as_kc).get_json()["items"] == []


def test_api_export_mismatches_xlsx(
    client: FlaskClient, pay: Pay, day_of_money, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    import io

    import openpyxl

    (first, second, _), _ = day_of_money
    day = _yesterday().date().isoformat()
    pay.fake.statement_alter_amount(first, 4000, pay.yc.mch_id)
    pay.fake.statement_drop_line(second, pay.yc.mch_id)
    run = client.post(API, json={"bill_date": day}, headers=as_yc).get_json()
    resp = client.get(f"{API}/{run['id']}/mismatches/export", headers=as_yc)
    assert resp.status_code == 200
    assert resp.headers["X-Export-Rows"] == "2"
    sheet = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    rows = [tuple(c.value for c in row) for row in sheet.iter_rows()]
    body = [r for r in rows if r and r[0] in ("金额不一致", "微信缺单")]
    assert {(r[0], r[1], r[3], r[4]) for r in body} == {
        ("金额不一致", first, 50, 40),
        ("微信缺单", second, 30, None),
    }
    assert client.get(f"{API}/{run['id']}/mismatches/export", headers=as_kc).status_code == 404


def test_statement_export_is_audited_like_the_other_exports(
    client: FlaskClient, pay: Pay, day_of_money, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    from app.tenancy.models import AuditLog

    (first, _, _), _ = day_of_money
    day = _yesterday().date().isoformat()
    pay.fake.statement_alter_amount(first, 4000, pay.yc.mch_id)
    run = client.post(API, json={"bill_date": day}, headers=as_yc).get_json()
    resp = client.get(f"{API}/{run['id']}/mismatches/export", headers=as_yc)
    assert resp.status_code == 200 and resp.headers["X-Export-Rows"] == "1"
    assert client.get(f"{API}/{run['id']}/mismatches/export", headers=as_kc).status_code == 404
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "statement.export")).all()
    assert len(audit) == 1  # the refused one wrote nothing
    (row,) = audit
    assert (row.target_type, row.target_id, row.operator_id) == (
        "statement_run", str(run["id"]), pay.ops.yc.id,
    )  # fmt: skip
    assert row.after == {
        "filters": {"run_id": run["id"], "bill_date": day, "operator_id": pay.ops.yc.id},
        "rows": 1,
    }


def test_api_run_now_refuses_today_and_bad_dates(
    client: FlaskClient, pay: Pay, as_yc: dict[str, str]
) -> None:
    today = datetime.now(CST).date().isoformat()
    for bad in (today, "2026-13-01", "yesterday!"):
        resp = client.post(API, json={"bill_date": bad}, headers=as_yc)
        assert resp.status_code == 422, (bad, resp.get_json())
        assert resp.get_json()["error"]["code"] in ("STATEMENT_DATE_INVALID", "VALIDATION_FAILED")
    resp = client.post(API, json={"bill_date": today}, headers=as_yc)
    assert resp.get_json()["error"]["code"] == "STATEMENT_DATE_INVALID"
    assert db.session.scalar(select(func.count()).select_from(StatementRun)) == 0


def test_refund_requested_2359_succeeded_0001_is_on_the_day_it_succeeded(
    client: FlaskClient, pay: Pay, mp_login: Login, as_yc: dict[str, str]
) -> None:
    """Regression (issue 14): a refund belongs to the statement day of WeChat's success
    time, not of its request nor of when we heard of it, so a refund asked at 23:59 and
    paid back at 00:01 is not a false pair of mismatches on two days."""
    from datetime import time

    from app.wechat.sandbox.signing import rfc3339

    headers = mp_login("alice")
    no = funded(client, pay, headers, 5000)
    before = datetime.now(CST).date() - 2 * DAY  # the day asked; the next day it succeeded
    asked_at = datetime.combine(before, time(23, 59), CST)
    done_at = datetime.combine(before + DAY, time(0, 1), CST)
    paid_at = datetime.combine(before, time(12), CST)
    with pay.fake.lock:
        pay.fake.orders[(pay.yc.mch_id, no)].success_time = rfc3339(paid_at.timestamp())
    payment = db.session.scalar(select(TopUpPayment).where(TopUpPayment.out_trade_no == no))
    assert payment is not None
    payment.paid_at = paid_at
    db.session.commit()
    refund = ask(client, headers, amount_fen=5000)
    assert client.post(f"{ADMIN_REFUNDS}/{refund['id']}/approve", headers=as_yc).status_code == 200
    (part_no,) = [p["out_refund_no"] for p in refund["parts"]]
    part = db.session.scalar(select(RefundPart).where(RefundPart.out_refund_no == part_no))
    assert part is not None
    part.created_at = asked_at
    db.session.commit()
    # WeChat paid it back at 00:01; its notify (carrying that success_time) comes now
    fake_refund = pay.fake.find_refund(part_no, pay.yc.mch_id)
    with pay.fake.lock:
        fake_refund.status = "SUCCESS"
        fake_refund.success_time = rfc3339(done_at.timestamp())
    merchant = pay.fake.merchants[pay.yc.mch_id]
    body = pay.fake.notify_body(
        merchant.apiv3_key, "REFUND.SUCCESS", "退款成功", "refund", fake_refund.notify_resource()
    )
    resp = post_notify(client, pay.yc.mch_id, pay.fake.sign(body), body, "refund-notify")
    assert resp.status_code == 200
    db.session.expire_all()
    part = db.session.scalar(select(RefundPart).where(RefundPart.out_refund_no == part_no))
    assert part is not None and part.finished_at == done_at
    asked = statements.reconcile(pay.ops.yc.id, before)
    assert asked.state == "ok", [m.note for m in asked.mismatches]
    assert (asked.wechat_lines, asked.our_lines) == (1, 1)
    succeeded = statements.reconcile(pay.ops.yc.id, before + DAY)
    assert succeeded.state == "ok", [m.note for m in succeeded.mismatches]
    assert (succeeded.our_lines, succeeded.our_total_fen) == (1, -5000)


# -- the fund-flow bill beside the trade bill ---------------------------------------------


def test_fund_flow_mismatches_are_listed_with_their_own_kinds(pay: Pay, day_of_money) -> None:
    (first, second, _third), (refund_no, *_) = day_of_money
    mch = pay.yc.mch_id
    day = _yesterday().date()
    pay.fake.fund_flow_alter_amount(first, 4999, mch)
    pay.fake.fund_flow_drop_line(refund_no, mch)
    pay.fake.fund_flow_add_line(mch, day.isoformat(), "GHOSTPAY01", 800, expense=False)
    pay.fake.fund_flow_add_line(mch, day.isoformat(), "GHOSTREF01", 300, expense=True)
    pay.fake.fund_flow_add_line(mch, day.isoformat(), second, 3000, expense=True)  # not a refund
    part = db.session.scalar(select(RefundPart).where(RefundPart.out_refund_no == refund_no))
    assert part is not None
    refunded = part.payment.out_trade_no
    run = statements.reconcile(pay.ops.yc.id, day)
    assert run.state == "mismatch"
    assert (run.wechat_lines, run.matched_lines) == (4, 4)  # the trade bill matches
    found = {
        (m.kind, m.out_trade_no, m.out_refund_no): (m.our_fen, m.wechat_fen, m.note)
        for m in run.mismatches
    }
    no_ours_in = "微信资金账单有此笔收入（支付），我方没有记录"
    no_ours_out = "微信资金账单有此笔支出（退款），我方没有记录"
    assert found == {
        ("fund_amount", first, ""): (
            5000, 4999, "资金账单收入（支付）金额不一致：我方 50.00 元，微信 49.99 元"
        ),
        ("fund_no_wechat", refunded, refund_no): (
            2000, None, "我方当日退款成功，微信资金账单没有此笔资金变动"
        ),
        ("fund_no_ours", "GHOSTPAY01", ""): (None, 800, no_ours_in),
        ("fund_no_ours", "", "GHOSTREF01"): (None, 300, no_ours_out),
        ("fund_no_ours", "", second): (None, 3000, no_ours_out),
    }  # fmt: skip
    assert run.mismatch_count == 5


def test_fund_flow_income_of_a_payment_we_booked_another_day_is_fund_state(
    pay: Pay, day_of_money
) -> None:
    (first, _, _), _ = day_of_money
    payment = db.session.scalar(select(TopUpPayment).where(TopUpPayment.out_trade_no == first))
    assert payment is not None and payment.paid_at is not None
    # WeChat's trade bill still lists it on the day; our clock says the day before
    payment.paid_at = payment.paid_at - DAY
    db.session.commit()
    run = statements.reconcile(pay.ops.yc.id, _yesterday().date())
    kinds = {(m.kind, m.out_trade_no, m.note) for m in run.mismatches}
    note = "微信资金账单当日有此笔收入（支付），我方记录不在当日（状态：已入账）"
    assert ("fund_state", first, note) in kinds
    assert ("state_differs", first, "微信支付成功，我方记录不在当日（状态：已入账）") in kinds


def test_fund_flow_bill_failing_its_hash_fails_the_run_with_its_reason(
    pay: Pay, day_of_money, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.wechat import pay as wechat_pay

    real = wechat_pay.apply_bill
    asked: list[tuple[str, str | None]] = []

    def wrong_fund_hash(creds, kind, *args, **kwargs):
        asked.append((kind, kwargs.get("tar_type")))
        answer = dict(real(creds, kind, *args, **kwargs))
        if kind == "fundflow":
            answer["hash_value"] = "0" * 40
        return answer

    monkeypatch.setattr(wechat_pay, "apply_bill", wrong_fund_hash)
    run = statements.reconcile(pay.ops.yc.id, _yesterday().date())
    assert asked == [("trade", None), ("fundflow", "GZIP")]
    assert (run.state, run.error_code) == ("failed", "STATEMENT_HASH_MISMATCH")
    assert run.error_message.startswith("资金账单：") and run.mismatches == []


def test_no_fund_flow_bill_while_trades_exist_lists_every_line_missing(
    pay: Pay, day_of_money, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.wechat import pay as wechat_pay
    from app.wechat.errors import WeChatPayError

    real = wechat_pay.apply_bill

    def no_fund_flow(creds, kind, *args, **kwargs):
        if kind == "fundflow":
            raise WeChatPayError("NO_STATEMENT_EXIST", "账单文件不存在", status=400)
        return real(creds, kind, *args, **kwargs)

    monkeypatch.setattr(wechat_pay, "apply_bill", no_fund_flow)
    run = statements.reconcile(pay.ops.yc.id, _yesterday().date())
    assert run.state == "mismatch" and run.matched_lines == 4
    assert sorted(m.kind for m in run.mismatches) == ["fund_no_wechat"] * 4


def test_every_mismatch_kind_has_its_export_label() -> None:
    from app.payments.models import MismatchKind
    from app.payments.statement_export import KIND_LABELS

    assert set(KIND_LABELS) == set(MismatchKind)
    assert len(set(KIND_LABELS.values())) == len(KIND_LABELS)
    assert all(len(k.value) <= 16 for k in MismatchKind)  # statement_mismatches.kind


def test_a_refund_part_kept_back_whole_for_coupons_is_not_a_mismatch(
    pay: Pay, day_of_money
) -> None:
    """Regression: a part whose share all went to coupons already spent is finished without
    asking WeChat (refund_fen 0), so neither of WeChat's bills lists it."""
    _, (refund_no, *_) = day_of_money
    paid = db.session.scalar(select(RefundPart).where(RefundPart.out_refund_no == refund_no))
    assert paid is not None
    db.session.add(
        RefundPart(
            request_id=paid.request_id, payment_id=paid.payment_id, out_refund_no="R-COUPON-1",
            amount_fen=500, coupon_deduction_fen=500, state="succeeded",
            finished_at=paid.finished_at,
        )
    )  # fmt: skip
    db.session.commit()
    run = statements.reconcile(pay.ops.yc.id, _yesterday().date())
    assert run.state == "ok", [(m.kind, m.note) for m in run.mismatches]
    assert run.our_lines == 4
