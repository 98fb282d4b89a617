"""Refund requests and certification applications for the browser tests of 退款审核 and
司机认证, made through the domain's services in the live server's database:
``python -m tests.e2e.seed_reviews`` with the live server's environment prints their ids as
JSON. The demo has none of either.

广东云创 gets a test WeChat Pay merchant (stored as the platform stores one); 深圳快充 has
none, so its refund shows the case #22 banner. No WeChat call is made: the refund approved
in the test is one whose share went entirely to the top-up's coupons already spent."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import timedelta

from sqlalchemy import select

from app.db import utcnow
from app.drivers import certification, members
from app.drivers.certification import Upload
from app.extensions import db
from app.ledger import wallet
from app.payments import refunds
from app.payments.models import TopUpPayment, TopUpState
from app.promotions import coupons
from app.promotions.models import Coupon, CouponState
from app.tenancy.models import Driver, Operator
from app.wechat.sandbox.state import FakeWeChat, make_test_merchant
from tests.support.payments import configure_merchant, make_offer
from wsgi import compose

# a 1×1 PNG; each upload gets a different trailing chunk so the three files differ
_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYPj/HwADAgH/eL9GtQAAAABJRU5ErkJggg=="
)


def _driver(op: Operator, phone: str, nickname: str) -> Driver:
    return members.create_driver(
        op.id, openid=f"e2e-rev-{secrets.token_hex(6)}", nickname=nickname, phone=phone
    )


def _paid_topup(driver: Driver, op: Operator, amount_fen: int, coupon_spent_fen: int) -> str:
    """A WeChat top-up already paid into the wallet, its offer's coupons granted, one of them
    spent ``coupon_spent_fen`` on charging (what a refund of it keeps back, case #4)."""
    no = f"E2E{secrets.token_hex(8).upper()}"
    payment = TopUpPayment(
        out_trade_no=no, driver_id=driver.id, operator_id=op.id,
        mch_id=op.wechat_mch_id or "0000000000", app_id=op.wechat_app_id or "wx-e2e",
        amount_fen=amount_fen, state=TopUpState.PAID, paid_at=utcnow() - timedelta(days=2),
        transaction_id=f"4200{secrets.token_hex(10)}",
    )  # fmt: skip
    db.session.add(payment)
    wallet.post_entry(
        driver.id, amount_fen, "topup", ref_type="payment", ref_id=no,
        idempotency_key=f"e2e:{no}", note="微信支付充值",
    )  # fmt: skip
    coupons.grant_for_topup(driver.id, no, amount_fen)
    if coupon_spent_fen:
        coupon = db.session.scalar(select(Coupon).where(Coupon.source_ref == no).limit(1))
        assert coupon is not None, "the top-up offer granted no coupon"
        coupon.status, coupon.used_amount_fen = CouponState.USED, coupon_spent_fen
    db.session.commit()
    return no


def _apply(driver: Driver, kind: str) -> int:
    uploads = [
        Upload(role, _PNG + role.encode())
        for role in ("id_card", "driving_licence", "vehicle_photo")
    ]
    return certification.submit(driver, kind, uploads).id


def main() -> None:
    app = compose()
    with app.app_context():
        yc = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
        kc = db.session.scalar(select(Operator).where(Operator.name == "深圳快充"))
        assert yc is not None and kc is not None
        if not yc.wechat_app_id:
            yc.wechat_app_id = "wxe2e0000reviews"
        configure_merchant(yc, make_test_merchant("1900000201", yc.wechat_app_id), FakeWeChat())
        make_offer(yc, 1000)
        make_offer(kc, 1000)
        db.session.commit()

        out: dict[str, int | str] = {}
        # ¥10 back, all of it spent as the top-up's ¥10 coupon: approving needs no WeChat call
        covered = _driver(yc, "13800138301", "券已用司机")
        _paid_topup(covered, yc, 3000, 1000)
        out["yc_covered"] = refunds.request_refund(covered, 1000, "不再使用").id
        # ¥20 back, ¥5.50 of the coupons spent: WeChat would return ¥14.50 (rejected in the test)
        partial = _driver(yc, "13800138302", "部分退款司机")
        _paid_topup(partial, yc, 5000, 550)
        out["yc_partial"] = refunds.request_refund(partial, 2000, "换车了").id
        # 深圳快充 has no merchant: its refund cannot be approved (case #22)
        blocked = _driver(kc, "13800138303", "快充司机")
        _paid_topup(blocked, kc, 3000, 0)
        out["kc_blocked"] = refunds.request_refund(blocked, 1000, "不再使用").id

        out["yc_cert"] = _apply(_driver(yc, "13800138304", "网约车司机"), "ride_hailing")
        out["yc_cert_other"] = _apply(_driver(yc, "13800138305", "出租车司机"), "taxi")
        out["kc_cert"] = _apply(_driver(kc, "13800138306", "快充出租车"), "taxi")
        db.session.commit()
        print(json.dumps(out))


if __name__ == "__main__":
    main()
