"""WeChat Pay helpers: merchants configured on operators, offers, top-ups and notifies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.ledger.models import WalletEntry
from app.ledger.wallet import balance_of, wallet_of
from app.payments import merchants
from app.promotions import coupons
from app.promotions.models import Coupon
from app.tenancy.models import Driver, Operator
from app.tenancy.scope import SYSTEM
from app.wechat.sandbox.state import DemoMerchant, FakeWeChat
from tests.support.drivers import Ops


@dataclass
class Pay:
    fake: FakeWeChat
    ops: Ops
    yc: DemoMerchant
    kc: DemoMerchant


def configure_merchant(op: Operator, merchant: DemoMerchant, fake: FakeWeChat) -> None:
    op.wechat_mch_id = merchant.mch_id
    op.wechat_mch_cert_serial = merchant.cert_serial
    op.wechat_mch_private_key = merchant.private_key_pem
    op.wechat_apiv3_key = merchant.apiv3_key
    p = fake.platform
    merchants.set_platform_key(op, "certificate", p.cert_serial, p.cert_pem)


def driver_of(openid: str) -> Driver:
    db.session.expire_all()
    driver = db.session.scalar(select(Driver).where(Driver.openid == openid))
    assert driver is not None
    return driver


def ledger(driver: Driver) -> list[WalletEntry]:
    return list(
        db.session.scalars(
            select(WalletEntry)
            .where(WalletEntry.wallet_id == wallet_of(driver.id).id)
            .order_by(WalletEntry.id)
        )
    )


def topup_coupons(out_trade_no: str) -> list[Coupon]:
    return list(db.session.scalars(select(Coupon).where(Coupon.source_ref == out_trade_no)))


def make_offer(op: Operator, min_topup_fen: int = 5000) -> int:
    """ "Top up 50, get two 10-yuan coupons and one 5-yuan coupon" (25 yuan, 3 coupons)."""
    ten = coupons.create_template(
        SYSTEM, {"name": "10元券", "kind": "fixed", "amount_fen": 1000, "validity_days": 30,
                 "operator_id": op.id},
    )  # fmt: skip
    five = coupons.create_template(
        SYSTEM, {"name": "5元券", "kind": "fixed", "amount_fen": 500, "validity_days": 30,
                 "operator_id": op.id},
    )  # fmt: skip
    offer = coupons.create_offer(
        SYSTEM, {"operator_id": op.id, "min_topup_fen": min_topup_fen,
                 "items": [{"template_id": ten.id, "quantity": 2},
                           {"template_id": five.id, "quantity": 1}]},
    )  # fmt: skip
    return offer.id


def top_up(
    client: FlaskClient, headers: dict[str, str], amount_fen: int, **kw: Any
) -> dict[str, Any]:
    resp = client.post("/api/mp/v1/topups", json={"amount_fen": amount_fen, **kw}, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    body: dict[str, Any] = resp.get_json()
    return body


def post_notify(
    client: FlaskClient, mch_id: str, headers: dict[str, str], body: bytes, kind: str = "notify"
) -> Any:
    return client.post(f"/api/mp/v1/pay/{kind}/{mch_id}", data=body, headers=headers)


def funded(
    client: FlaskClient, pay: Pay, headers: dict[str, str], amount_fen: int, **kw: Any
) -> str:
    no: str = top_up(client, headers, amount_fen, **kw)["out_trade_no"]
    notify_headers, body = pay.fake.make_pay_notify(no)
    assert post_notify(client, pay.yc.mch_id, notify_headers, body).status_code == 200
    return no


def ask(client: FlaskClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    resp = client.post("/api/mp/v1/refunds", json={"reason": "不再使用", **body}, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    out: dict[str, Any] = resp.get_json()
    return out


def balanced(openid: str) -> int:
    driver = driver_of(openid)
    assert sum(e.amount_fen for e in ledger(driver)) == balance_of(driver.id)
    return balance_of(driver.id)
