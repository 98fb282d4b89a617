"""A refund of a top-up keeps back the value of its coupons already spent (issue 14, case
#4 2019-10-15): ¥100 topped up with an offer, ¥5.50 of its coupons used on charging, a
¥20 refund paid ¥20 in full before — now WeChat returns ¥14.50, the review shows the
¥5.50 kept back and why, the unused coupons are revoked, and a second refund of the same
top-up keeps nothing back again."""

from __future__ import annotations

from flask.testing import FlaskClient

from app.extensions import db
from app.promotions.models import CouponState
from tests.support.drivers import Login
from tests.support.payments import (
    Pay,
    ask,
    balanced,
    funded,
    make_offer,
    post_notify,
    topup_coupons,
)

ADMIN = "/api/admin/v1/refunds"


def _spend(out_trade_no: str, fen: int) -> None:
    """One of the top-up's coupons was used on a charge, ``fen`` of it."""
    coupon = topup_coupons(out_trade_no)[0]
    coupon.status, coupon.used_amount_fen = CouponState.USED, fen
    db.session.commit()


def _approve_and_confirm(client: FlaskClient, pay: Pay, refund: dict, as_yc: dict) -> dict:
    approved = client.post(f"{ADMIN}/{refund['id']}/approve", headers=as_yc)
    assert approved.status_code == 200, approved.get_json()
    for part in approved.get_json()["parts"]:
        if part["refund_fen"]:
            headers, body = pay.fake.make_refund_notify(part["out_refund_no"])
            assert (
                post_notify(client, pay.yc.mch_id, headers, body, "refund-notify").status_code
                == 200
            )
    return approved.get_json()


def test_a_refund_keeps_back_the_coupons_already_spent_and_says_so(
    client: FlaskClient, pay: Pay, mp_login: Login, as_yc: dict[str, str]
) -> None:
    headers = mp_login("alice")
    no = funded(client, pay, headers, 10_000, offer_id=make_offer(pay.ops.yc, 10_000))
    _spend(no, 550)
    refund = ask(client, headers, amount_fen=2000)
    [part] = refund["parts"]
    assert (part["amount_fen"], part["coupon_deduction_fen"], part["refund_fen"]) == (
        2000,
        550,
        1450,
    )
    review = client.get(f"{ADMIN}/{refund['id']}", headers=as_yc).get_json()
    assert review["parts"][0]["coupon_deduction_fen"] == 550  # the reviewer sees it
    _approve_and_confirm(client, pay, refund, as_yc)
    sent = [r for r in pay.fake.refund_requests if r["out_refund_no"] == part["out_refund_no"]]
    assert sent[0]["amount"]["refund"] == 1450  # WeChat returns ¥14.50
    assert balanced("alice") == 8000  # the wallet gives up its ¥20 share
    done = client.get(f"/api/mp/v1/refunds/{refund['id']}", headers=headers).get_json()
    assert done["state"] == "succeeded" and done["succeeded_fen"] == 1450
    left = {c.status for c in topup_coupons(no)}
    assert left == {CouponState.USED, CouponState.REVOKED}  # unused ones taken back

    # the same top-up again: its spent coupons were kept back once already
    again = ask(client, headers, amount_fen=3000)
    assert again["parts"][0]["coupon_deduction_fen"] == 0
    assert again["parts"][0]["refund_fen"] == 3000


def test_a_share_no_larger_than_the_coupons_spent_goes_back_without_wechat(
    client: FlaskClient, pay: Pay, mp_login: Login, as_yc: dict[str, str]
) -> None:
    headers = mp_login("alice")
    no = funded(client, pay, headers, 10_000, offer_id=make_offer(pay.ops.yc, 10_000))
    _spend(no, 1000)
    refund = ask(client, headers, amount_fen=800)
    assert refund["parts"][0]["refund_fen"] == 0
    sent_before = len(pay.fake.refund_requests)
    _approve_and_confirm(client, pay, refund, as_yc)
    assert len(pay.fake.refund_requests) == sent_before  # nothing to send
    done = client.get(f"/api/mp/v1/refunds/{refund['id']}", headers=headers).get_json()
    assert done["state"] == "succeeded" and done["succeeded_fen"] == 0
    assert balanced("alice") == 9200


def test_issue14_three_coupons_used_5_50_then_a_20_yuan_refund_says_what_is_deducted(
    client: FlaskClient, pay: Pay, mp_login: Login, as_yc: dict[str, str]
) -> None:
    # the issue's repro: ¥100 with an offer, its three coupons used for ¥5.50 in all
    headers = mp_login("alice")
    no = funded(client, pay, headers, 10_000, offer_id=make_offer(pay.ops.yc, 10_000))
    granted = topup_coupons(no)
    assert len(granted) == 3
    for coupon, fen in zip(granted, (200, 200, 150), strict=True):
        coupon.status, coupon.used_amount_fen = CouponState.USED, fen
    db.session.commit()
    refund = ask(client, headers, amount_fen=2000)
    review = client.get(f"{ADMIN}/{refund['id']}", headers=as_yc).get_json()
    [part] = review["parts"]
    assert (part["amount_fen"], part["coupon_deduction_fen"], part["refund_fen"]) == (
        2000, 550, 1450,
    )  # fmt: skip
    assert part["coupon_deduction_note"] == (
        "该笔充值赠送的优惠券已使用 5.50 元，从退款 20.00 元中扣除，原路退回 14.50 元"
    )
    mine = client.get(f"/api/mp/v1/refunds/{refund['id']}", headers=headers).get_json()
    assert mine["parts"][0]["coupon_deduction_note"] == part["coupon_deduction_note"]
    _approve_and_confirm(client, pay, refund, as_yc)
    sent = [r for r in pay.fake.refund_requests if r["out_refund_no"] == part["out_refund_no"]]
    assert sent[0]["amount"]["refund"] == 1450  # not the ¥20 paid in full before
    assert {c.status for c in topup_coupons(no)} == {CouponState.USED}  # none left to revoke
