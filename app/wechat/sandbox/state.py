"""The fake's in-memory state: registered apps and merchants, orders, refunds, what it
received and what it is scripted to do, and the WeChat-side acts (pay, refund, notify).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests

from app.wechat.bills import (
    EXPENSE,
    FUND_FLOW_COLUMNS,
    FUND_FLOW_SUMMARY_COLUMNS,
    INCOME,
    TRADE_BILL_ALL_COLUMNS,
)
from app.wechat.config import MerchantCredentials
from app.wechat.sandbox.signing import (
    CST,
    PlatformKeys,
    new_key,
    new_nonce,
    notify_envelope,
    pem_private,
    pem_public,
    rfc3339,
    signature_headers,
)


@dataclass(frozen=True)
class DemoMerchant:
    """A merchant made up for tests and the demo: its key pair, cert serial, APIv3 key."""

    mch_id: str
    app_id: str
    cert_serial: str
    private_key_pem: str = field(repr=False)
    public_key_pem: str
    apiv3_key: str = field(repr=False)

    def credentials(self, fake: FakeWeChat, mode: str = "certificate") -> MerchantCredentials:
        """Its credentials as the platform stores them, trusting ``fake``'s platform keys.

        ``mode``: ``certificate`` (platform certificate), ``public_key`` or ``both``.
        """
        p = fake.platform
        certs = {p.cert_serial: p.cert_pem} if mode in ("certificate", "both") else {}
        with_pub = mode in ("public_key", "both")
        return MerchantCredentials(
            mch_id=self.mch_id,
            app_id=self.app_id,
            cert_serial=self.cert_serial,
            private_key_pem=self.private_key_pem,
            apiv3_key=self.apiv3_key,
            platform_certs=certs,
            public_key_id=p.public_key_id if with_pub else None,
            public_key_pem=p.public_key_pem if with_pub else None,
        )


def make_test_merchant(
    mch_id: str = "1900000109", app_id: str = "wxd678efh567hg6787"
) -> DemoMerchant:
    key = new_key()
    return DemoMerchant(
        mch_id=mch_id,
        app_id=app_id,
        cert_serial=secrets.token_hex(20).upper(),
        private_key_pem=pem_private(key),
        public_key_pem=pem_public(key.public_key()),
        apiv3_key=new_nonce(32),
    )


@dataclass
class FakeOrder:
    mch_id: str
    app_id: str
    out_trade_no: str
    total_fen: int
    openid: str
    description: str
    notify_url: str
    prepay_id: str
    attach: str = ""
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: str | None = None

    def resource(self) -> dict[str, Any]:
        """The transaction as the query API and the pay notify show it."""
        data: dict[str, Any] = {
            "appid": self.app_id,
            "mchid": self.mch_id,
            "out_trade_no": self.out_trade_no,
            "trade_type": "JSAPI",
            "trade_state": self.trade_state,
            "trade_state_desc": _TRADE_STATE_DESC.get(self.trade_state, ""),
            "attach": self.attach,
            "payer": {"openid": self.openid},
            "amount": {"total": self.total_fen, "currency": "CNY", "payer_currency": "CNY"},
        }
        if self.transaction_id:
            data["transaction_id"] = self.transaction_id
            data["bank_type"] = "OTHERS"
            data["success_time"] = self.success_time
            data["amount"]["payer_total"] = self.total_fen
        return data


_TRADE_STATE_DESC = {
    "SUCCESS": "支付成功",
    "REFUND": "转入退款",
    "NOTPAY": "订单未支付",
    "CLOSED": "订单已关闭",
}


@dataclass(frozen=True)
class BillTweak:
    """A mismatch injected into a statement: ``alter`` an order's amount, ``add`` a line
    WeChat has and the merchant does not, ``drop`` an order's line. ``bill`` says which
    file: the trade bill, or the fund-flow bill (where ``out_trade_no`` is the line's
    业务凭证号: an order's out_trade_no or a refund's out_refund_no)."""

    kind: str  # alter | add | drop
    mch_id: str
    out_trade_no: str
    bill_date: str = ""  # add: the China-local day the line is on
    amount_fen: int = 0
    bill: str = "trade"  # trade | fundflow
    expense: bool = False  # fundflow add: an expense (支出) line rather than income


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text).astimezone(CST) if text else None


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


@dataclass
class FakeRefund:
    mch_id: str
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    refund_fen: int
    total_fen: int
    reason: str
    notify_url: str
    create_time: str
    status: str = "PROCESSING"
    success_time: str | None = None

    def resource(self) -> dict[str, Any]:
        """The refund as the refund API and its query answer show it."""
        data: dict[str, Any] = {
            "refund_id": self.refund_id,
            "out_refund_no": self.out_refund_no,
            "transaction_id": self.transaction_id,
            "out_trade_no": self.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": self.create_time,
            "status": self.status,
            "funds_account": "AVAILABLE",
            "amount": {
                "total": self.total_fen,
                "refund": self.refund_fen,
                "payer_total": self.total_fen,
                "payer_refund": self.refund_fen,
                "settlement_total": self.total_fen,
                "settlement_refund": self.refund_fen,
                "discount_refund": 0,
                "currency": "CNY",
            },
        }
        if self.success_time:
            data["success_time"] = self.success_time
        return data

    def notify_resource(self) -> dict[str, Any]:
        """The refund as the refund notify shows it (``refund_status``, fewer amounts)."""
        data: dict[str, Any] = {
            "mchid": self.mch_id,
            "out_trade_no": self.out_trade_no,
            "transaction_id": self.transaction_id,
            "out_refund_no": self.out_refund_no,
            "refund_id": self.refund_id,
            "refund_status": self.status,
            "user_received_account": "支付用户零钱",
            "amount": {
                "total": self.total_fen,
                "refund": self.refund_fen,
                "payer_total": self.total_fen,
                "payer_refund": self.refund_fen,
            },
        }
        if self.success_time:
            data["success_time"] = self.success_time
        return data


class FakeWeChat:
    """The fake's state: keys, registered apps and merchants, orders, recordings, scripts.

    It records what it receives (``subscribe_messages``, ``refund_requests``, ``menus``...)
    and can be scripted to fail (``fail_next_refund``, ``refuse_subscribe``,
    ``expire_access_tokens``, ``corrupt_next_signature``). Every method is safe to call
    from the test thread while the server thread serves.

        fake = FakeWeChat()
        merchant = make_test_merchant()
        fake.register_merchant(merchant)
        fake.register_app("wx-demo-app", "secret")
        with FakeWeChatServer(fake) as server:       # real HTTP on 127.0.0.1
            creds = merchant.credentials(fake)
            jsapi_prepay(creds, ..., endpoints=server.endpoints)
            headers, body = fake.make_pay_notify("T1")
            fake.deliver("http://127.0.0.1:5000/api/mp/v1/pay/notify", headers, body, times=2)
    """

    def __init__(
        self,
        platform: PlatformKeys | None = None,
        *,
        signing: str = "certificate",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.platform = platform or PlatformKeys.generate()
        if signing not in ("certificate", "public_key"):
            raise ValueError("signing is 'certificate' or 'public_key'")
        self.signing = signing  # which platform key signs answers and notifies
        self.clock = clock
        self.lock = threading.RLock()
        self._seq = 0
        # mini-program and official account
        self.apps: dict[str, str] = {}
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (app_id, expires_at)
        self.token_requests: list[str] = []
        self.single_use_codes = False
        self.used_codes: set[tuple[str, str]] = set()
        self.phone_codes: dict[str, str] = {}
        self.refused_subscribers: set[str] = set()
        self.subscribe_messages: list[dict[str, Any]] = []
        self.menus: dict[str, dict[str, Any]] = {}
        # official accounts' web authorization (snsapi_base): the people who can log in
        # (key -> nickname) and the codes the authorize page gave (code -> (app, key))
        self.users: dict[str, str] = {}
        self.oauth_codes: dict[str, tuple[str, str]] = {}
        # WeChat Pay: app ids bound to a merchant besides its own (an official account)
        self.bound_apps: dict[str, set[str]] = {}
        # WeChat Pay
        self.merchants: dict[str, DemoMerchant] = {}
        self.orders: dict[tuple[str, str], FakeOrder] = {}
        self.refunds: dict[tuple[str, str], FakeRefund] = {}
        self.pay_requests: list[dict[str, Any]] = []
        self.refund_requests: list[dict[str, Any]] = []
        self.refund_initial_status = "PROCESSING"
        self._refund_failures: list[tuple[int, str, str]] = []
        self._corrupt_signatures = 0
        # daily statements: download tokens handed out, and the mismatches tests inject
        self.bill_files: dict[str, tuple[str, bytes]] = {}  # token -> (mch_id, file)
        self.bill_tweaks: list[BillTweak] = []

    # -- set-up and scripts -------------------------------------------------------------

    def next_seq(self) -> int:
        with self.lock:
            self._seq += 1
            return self._seq

    def register_app(self, app_id: str, app_secret: str) -> None:
        with self.lock:
            self.apps[app_id] = app_secret

    def register_merchant(self, merchant: DemoMerchant) -> None:
        """WeChat now knows the merchant's certificate (public key) and APIv3 key."""
        with self.lock:
            self.merchants[merchant.mch_id] = merchant

    def bind_app(self, mch_id: str, app_id: str) -> None:
        """The merchant may also take payments in ``app_id`` (an official account: the
        merchant platform's 「AppID账号管理」)."""
        with self.lock:
            self.bound_apps.setdefault(mch_id, set()).add(app_id)

    def accepts_app(self, merchant: DemoMerchant, app_id: str) -> bool:
        with self.lock:
            return app_id == merchant.app_id or app_id in self.bound_apps.get(merchant.mch_id, ())

    def add_user(self, key: str, nickname: str) -> None:
        """A WeChat user the authorize page offers (``key`` is the mini-program openid:
        wx.login codes ``code-<key>`` log in as the same person)."""
        with self.lock:
            self.users[key] = nickname

    @staticmethod
    def oa_openid(app_id: str, key: str) -> str:
        """The user's openid under an official account (openids differ per app)."""
        return "oa" + app_id[-6:] + "-" + key

    @staticmethod
    def unionid(key: str) -> str:
        return "union-" + key

    def oauth_code(self, app_id: str, key: str) -> str:
        """The code the authorize page hands the redirect (single use, as WeChat's)."""
        code = "oacode-" + new_nonce(24)
        with self.lock:
            self.oauth_codes[code] = (app_id, key)
        return code

    def redeem_oauth_code(self, app_id: str, code: str) -> str | None:
        """The user behind ``code`` (issued for ``app_id``); None when unknown or used."""
        with self.lock:
            entry = self.oauth_codes.pop(code, None)
        if entry is None or entry[0] != app_id:
            return None
        return entry[1]

    def find_prepay(self, prepay_id: str) -> FakeOrder | None:
        with self.lock:
            return next((o for o in self.orders.values() if o.prepay_id == prepay_id), None)

    def expire_access_tokens(self) -> None:
        """Every issued token is now expired: the next call gets errcode 42001."""
        with self.lock:
            self.tokens = {t: (app_id, 0.0) for t, (app_id, _) in self.tokens.items()}

    def refuse_subscribe(self, openid: str) -> None:
        """Messages to ``openid`` fail with 43101 (the user has not subscribed)."""
        with self.lock:
            self.refused_subscribers.add(openid)

    def fail_next_refund(
        self,
        code: str = "NOT_ENOUGH",
        message: str = "基本账户余额不足，请充值后重新发起",
        status: int = 403,
    ) -> None:
        with self.lock:
            self._refund_failures.append((status, code, message))

    def corrupt_next_signature(self, count: int = 1) -> None:
        """The next ``count`` signed answers carry a signature that does not verify."""
        with self.lock:
            self._corrupt_signatures += count

    def add_order(
        self,
        merchant: DemoMerchant,
        out_trade_no: str,
        total_fen: int,
        openid: str,
        *,
        notify_url: str = "https://merchant.example/notify",
        description: str = "充值",
    ) -> FakeOrder:
        """An order as if the merchant had placed it (for notify tests without HTTP)."""
        order = FakeOrder(
            mch_id=merchant.mch_id,
            app_id=merchant.app_id,
            out_trade_no=out_trade_no,
            total_fen=total_fen,
            openid=openid,
            description=description,
            notify_url=notify_url,
            prepay_id=self._prepay_id(),
        )
        with self.lock:
            self.orders[(merchant.mch_id, out_trade_no)] = order
        return order

    def find_order(self, out_trade_no: str, mch_id: str | None = None) -> FakeOrder:
        with self.lock:
            found = [
                o
                for (m, no), o in self.orders.items()
                if no == out_trade_no and (mch_id is None or m == mch_id)
            ]
        if len(found) != 1:
            raise KeyError(f"no single order {out_trade_no}")
        return found[0]

    def find_refund(self, out_refund_no: str, mch_id: str | None = None) -> FakeRefund:
        with self.lock:
            found = [
                r
                for (m, no), r in self.refunds.items()
                if no == out_refund_no and (mch_id is None or m == mch_id)
            ]
        if len(found) != 1:
            raise KeyError(f"no single refund {out_refund_no}")
        return found[0]

    def pay(self, out_trade_no: str, mch_id: str | None = None) -> FakeOrder:
        """The driver pays: the order becomes SUCCESS with a transaction id."""
        order = self.find_order(out_trade_no, mch_id)
        with self.lock:
            if order.trade_state == "NOTPAY":
                now = self.clock()
                order.trade_state = "SUCCESS"
                order.transaction_id = (
                    "42000"
                    + datetime.fromtimestamp(now, CST).strftime("%Y%m%d")
                    + f"{self.next_seq():015d}"
                )
                order.success_time = rfc3339(now)
        return order

    def complete_refund(
        self, out_refund_no: str, status: str = "SUCCESS", mch_id: str | None = None
    ) -> FakeRefund:
        """The refund reaches its end: SUCCESS, ABNORMAL (e.g. card closed) or CLOSED."""
        refund = self.find_refund(out_refund_no, mch_id)
        with self.lock:
            refund.status = status
            if status == "SUCCESS":
                refund.success_time = rfc3339(self.clock())
                order = self.orders.get((refund.mch_id, refund.out_trade_no))
                if order is not None:
                    order.trade_state = "REFUND"
        return refund

    # -- daily statements (「下载交易账单」) ----------------------------------------------

    def statement_alter_amount(self, out_trade_no: str, amount_fen: int, mch_id: str) -> None:
        """The statement shows this order with another amount than it was paid."""
        with self.lock:
            self.bill_tweaks.append(BillTweak("alter", mch_id, out_trade_no, "", amount_fen))

    def statement_add_line(
        self, mch_id: str, bill_date: str, out_trade_no: str, amount_fen: int
    ) -> None:
        """The statement of ``bill_date`` has a paid order the merchant never placed."""
        with self.lock:
            self.bill_tweaks.append(BillTweak("add", mch_id, out_trade_no, bill_date, amount_fen))

    def statement_drop_line(self, out_trade_no: str, mch_id: str) -> None:
        """The statement leaves out this order's payment line."""
        with self.lock:
            self.bill_tweaks.append(BillTweak("drop", mch_id, out_trade_no))

    def trade_bill_rows(self, mch_id: str, bill_date: str) -> list[list[str]]:
        """The rows (column values of ``TRADE_BILL_ALL_COLUMNS``) of a China-local day:
        one per order paid that day, one per refund that succeeded that day."""
        with self.lock:
            tweaks = [t for t in self.bill_tweaks if t.mch_id == mch_id and t.bill == "trade"]
            altered = {t.out_trade_no: t.amount_fen for t in tweaks if t.kind == "alter"}
            dropped = {t.out_trade_no for t in tweaks if t.kind == "drop"}
            rows: list[tuple[datetime, list[str]]] = []
            for order in self.orders.values():
                paid = _parse_time(order.success_time)
                if order.mch_id != mch_id or paid is None:
                    continue
                if paid.date().isoformat() != bill_date or order.out_trade_no in dropped:
                    continue
                fen = altered.get(order.out_trade_no, order.total_fen)
                rows.append((paid, _trade_row(paid, order, fen)))
            for tweak in tweaks:
                if tweak.kind == "add" and tweak.bill_date == bill_date:
                    at = datetime.fromisoformat(bill_date + "T12:00:00").replace(tzinfo=CST)
                    ghost = FakeOrder(
                        mch_id=mch_id,
                        app_id=self.merchants[mch_id].app_id if mch_id in self.merchants else "",
                        out_trade_no=tweak.out_trade_no,
                        total_fen=tweak.amount_fen,
                        openid="o-unknown",
                        description="充值",
                        notify_url="",
                        prepay_id="",
                        trade_state="SUCCESS",
                        transaction_id=f"42000{bill_date.replace('-', '')}{0:015d}",
                    )
                    rows.append((at, _trade_row(at, ghost, tweak.amount_fen)))
            for refund in self.refunds.values():
                done = _parse_time(refund.success_time)
                if refund.mch_id != mch_id or refund.status != "SUCCESS" or done is None:
                    continue
                if done.date().isoformat() != bill_date:
                    continue
                refunded = self.orders.get((mch_id, refund.out_trade_no))
                if refunded is None:
                    continue
                rows.append((done, _refund_row(done, refunded, refund)))
        rows.sort(key=lambda r: r[0])
        return [r for _, r in rows]

    def trade_bill(self, mch_id: str, bill_date: str) -> bytes:
        """The trade bill file (bill_type ALL) in WeChat's backtick CSV, or b"" when the
        day has nothing (WeChat then answers NO_STATEMENT_EXIST)."""
        rows = self.trade_bill_rows(mch_id, bill_date)
        if not rows:
            return b""
        cols = TRADE_BILL_ALL_COLUMNS
        paid = sum(_fen(r[cols.index("应结订单金额")]) for r in rows)
        refunded = sum(_fen(r[cols.index("退款金额")]) for r in rows)
        lines = [",".join(cols)]
        lines += [",".join("`" + v for v in row) for row in rows]
        lines.append(
            "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
        )
        lines.append(
            ",".join(
                "`" + v
                for v in (
                    str(len(rows)),
                    _yuan(paid),
                    _yuan(refunded),
                    "0.00",
                    "0.00",
                    _yuan(paid),
                    _yuan(refunded),
                )
            )
        )
        return ("\r\n".join(lines) + "\r\n").encode()

    # -- daily fund-flow statements (「申请资金账单」, account_type BASIC) -----------------

    def fund_flow_alter_amount(self, voucher_no: str, amount_fen: int, mch_id: str) -> None:
        """The fund-flow bill shows this order's income (or refund's expense) with another
        amount."""
        with self.lock:
            self.bill_tweaks.append(
                BillTweak("alter", mch_id, voucher_no, "", amount_fen, bill="fundflow")
            )

    def fund_flow_add_line(
        self, mch_id: str, bill_date: str, voucher_no: str, amount_fen: int, *, expense: bool
    ) -> None:
        """The fund-flow bill of ``bill_date`` has a movement the merchant never made."""
        with self.lock:
            self.bill_tweaks.append(
                BillTweak("add", mch_id, voucher_no, bill_date, amount_fen, "fundflow", expense)
            )

    def fund_flow_drop_line(self, voucher_no: str, mch_id: str) -> None:
        """The fund-flow bill leaves out this order's income (or refund's expense)."""
        with self.lock:
            self.bill_tweaks.append(BillTweak("drop", mch_id, voucher_no, bill="fundflow"))

    def fund_flow_rows(self, mch_id: str, bill_date: str) -> list[list[str]]:
        """The rows (values of ``FUND_FLOW_COLUMNS``) of a China-local day of the basic
        account: an income per order paid, an expense per refund that succeeded, with the
        account's balance after each (the balance runs over all the merchant's days)."""
        with self.lock:
            tweaks = [t for t in self.bill_tweaks if t.mch_id == mch_id and t.bill == "fundflow"]
            moves: list[tuple[datetime, bool, int, str, str]] = []
            for order in self.orders.values():
                paid = _parse_time(order.success_time)
                if order.mch_id == mch_id and paid is not None:
                    wechat_no = order.transaction_id or ""
                    moves.append((paid, False, order.total_fen, wechat_no, order.out_trade_no))
            for refund in self.refunds.values():
                done = _parse_time(refund.success_time)
                if refund.mch_id == mch_id and refund.status == "SUCCESS" and done is not None:
                    moves.append((done, True, refund.refund_fen, refund.refund_id,
                                  refund.out_refund_no))  # fmt: skip
        altered = {t.out_trade_no: t.amount_fen for t in tweaks if t.kind == "alter"}
        dropped = {t.out_trade_no for t in tweaks if t.kind == "drop"}
        noon = datetime.fromisoformat(bill_date + "T12:00:00").replace(tzinfo=CST)
        for t in tweaks:
            if t.kind == "add" and t.bill_date == bill_date:
                moves.append((noon, t.expense, t.amount_fen, "", t.out_trade_no))
        moves.sort(key=lambda m: m[0])
        rows: list[list[str]] = []
        balance = 0
        for n, (at, expense, fen, wechat_no, voucher_no) in enumerate(moves, start=1):
            balance += -fen if expense else fen
            if at.date().isoformat() != bill_date or voucher_no in dropped:
                continue
            shown = altered.get(voucher_no, fen)
            values = {
                "记账时间": at.strftime("%Y-%m-%d %H:%M:%S"),
                "微信支付业务单号": wechat_no,
                "资金流水单号": f"{at:%Y%m%d}{n:020d}",
                "业务名称": "退款" if expense else "交易",
                "业务类型": "退款" if expense else "交易",
                "收支类型": EXPENSE if expense else INCOME,
                "收支金额（元）": _yuan(shown),
                "账户结余（元）": _yuan(balance),
                "资金变更提交申请人": mch_id if expense else "system",
                "备注": f"退款总金额{_yuan(shown)}元;含手续费0.00元" if expense else "",
                "业务凭证号": voucher_no,
            }
            rows.append([values[c] for c in FUND_FLOW_COLUMNS])
        return rows

    def fund_flow_bill(self, mch_id: str, bill_date: str) -> bytes:
        """The fund-flow bill file in WeChat's backtick CSV, or b"" when the day moved no
        money (WeChat then answers NO_STATEMENT_EXIST)."""
        rows = self.fund_flow_rows(mch_id, bill_date)
        if not rows:
            return b""
        kind = FUND_FLOW_COLUMNS.index("收支类型")
        amount = FUND_FLOW_COLUMNS.index("收支金额（元）")
        income = [_fen(r[amount]) for r in rows if r[kind] == INCOME]
        expense = [_fen(r[amount]) for r in rows if r[kind] == EXPENSE]
        lines = [",".join(FUND_FLOW_COLUMNS)]
        lines += [",".join("`" + v for v in row) for row in rows]
        lines.append(",".join(FUND_FLOW_SUMMARY_COLUMNS))
        summary = (len(rows), len(income), _yuan(sum(income)), len(expense), _yuan(sum(expense)))
        lines.append(",".join("`" + str(v) for v in summary))
        return ("\r\n".join(lines) + "\r\n").encode()

    # -- signing and notifies -----------------------------------------------------------

    def signing_serial_and_key(self) -> tuple[str, str]:
        p = self.platform
        if self.signing == "public_key":
            return p.public_key_id, p.public_key_private_pem
        return p.cert_serial, p.cert_private_key_pem

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        nonce: str | None = None,
        serial: str | None = None,
        private_key_pem: str | None = None,
    ) -> dict[str, str]:
        """WeChat's signature headers for ``body``: SHA256withRSA over ts\\nnonce\\nbody\\n.

        ``serial`` and ``private_key_pem`` override the platform's (for forgeries).
        """
        own_serial, own_key = self.signing_serial_and_key()
        return signature_headers(
            body,
            timestamp=str(int(self.clock()) if timestamp is None else timestamp),
            nonce=nonce or new_nonce(32),
            serial=serial or own_serial,
            private_key_pem=private_key_pem or own_key,
        )

    def notify_body(
        self,
        apiv3_key: str,
        event_type: str,
        summary: str,
        original_type: str,
        resource: Mapping[str, Any],
        *,
        associated_data: str | None = None,
        create_time: float | None = None,
    ) -> bytes:
        """A notify body: the envelope with ``resource`` encrypted under ``apiv3_key``."""
        return notify_envelope(
            apiv3_key,
            event_type,
            summary,
            original_type,
            resource,
            associated_data=original_type if associated_data is None else associated_data,
            create_time=self.clock() if create_time is None else create_time,
        )

    def make_pay_notify(
        self,
        out_trade_no: str,
        *,
        mch_id: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """A signed, encrypted ``TRANSACTION.SUCCESS`` notify; pays the order if unpaid."""
        order = self.pay(out_trade_no, mch_id)
        merchant = self.merchants[order.mch_id]
        body = self.notify_body(
            merchant.apiv3_key, "TRANSACTION.SUCCESS", "支付成功", "transaction", order.resource()
        )
        return self.sign(body, timestamp=timestamp), body

    def make_refund_notify(
        self,
        out_refund_no: str,
        *,
        status: str = "SUCCESS",
        mch_id: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """A signed, encrypted ``REFUND.<status>`` notify; completes the refund first."""
        refund = self.complete_refund(out_refund_no, status, mch_id)
        merchant = self.merchants[refund.mch_id]
        summary = {"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}[status]
        body = self.notify_body(
            merchant.apiv3_key, f"REFUND.{status}", summary, "refund", refund.notify_resource()
        )
        return self.sign(body, timestamp=timestamp), body

    def deliver(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        times: int = 1,
        timeout: float = 5.0,
    ) -> list[requests.Response]:
        """POST a notify to ``url`` like WeChat, ``times`` times (the same bytes each time)."""
        answers = []
        with requests.Session() as session:
            for _ in range(times):
                resp = session.post(url, data=body, headers=dict(headers), timeout=timeout)
                resp.close()
                answers.append(resp)
        return answers

    def deliver_pay_notify(
        self, out_trade_no: str, *, times: int = 1, mch_id: str | None = None
    ) -> list[requests.Response]:
        """Pay the order and POST its notify to the notify_url the merchant gave."""
        headers, body = self.make_pay_notify(out_trade_no, mch_id=mch_id)
        url = self.find_order(out_trade_no, mch_id).notify_url
        return self.deliver(url, headers, body, times=times)

    def deliver_refund_notify(
        self,
        out_refund_no: str,
        *,
        status: str = "SUCCESS",
        times: int = 1,
        mch_id: str | None = None,
    ) -> list[requests.Response]:
        """End the refund and POST its notify to the refund's notify_url."""
        headers, body = self.make_refund_notify(out_refund_no, status=status, mch_id=mch_id)
        url = self.find_refund(out_refund_no, mch_id).notify_url
        if not url:
            raise ValueError(f"refund {out_refund_no} was made without a notify_url")
        return self.deliver(url, headers, body, times=times)

    # -- internals used by the routes ---------------------------------------------------

    def _prepay_id(self) -> str:
        stamp = datetime.fromtimestamp(self.clock(), CST).strftime("%d%H%M%S")
        return f"wx{stamp}{self.next_seq():010d}{new_nonce(8)}"


def _fen(yuan: str) -> int:
    whole, _, cents = yuan.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 100 + int((cents + "00")[:2]))


def _trade_row(at: datetime, order: FakeOrder, fen: int) -> list[str]:
    values = {
        "交易时间": at.strftime("%Y-%m-%d %H:%M:%S"),
        "公众账号ID": order.app_id,
        "商户号": order.mch_id,
        "微信订单号": order.transaction_id or "",
        "商户订单号": order.out_trade_no,
        "用户标识": order.openid,
        "交易类型": "JSAPI",
        "交易状态": "SUCCESS",
        "付款银行": "OTHERS",
        "货币种类": "CNY",
        "应结订单金额": _yuan(fen),
        "代金券金额": "0.00",
        "退款金额": "0.00",
        "充值券退款金额": "0.00",
        "商品名称": order.description,
        "商户数据包": order.attach,
        "手续费": "0.00",
        "费率": "0.60%",
        "订单金额": _yuan(fen),
        "申请退款金额": "0.00",
    }
    return [values.get(c, "") for c in TRADE_BILL_ALL_COLUMNS]


def _refund_row(at: datetime, order: FakeOrder, refund: FakeRefund) -> list[str]:
    values = {
        "交易时间": at.strftime("%Y-%m-%d %H:%M:%S"),
        "公众账号ID": order.app_id,
        "商户号": order.mch_id,
        "微信订单号": order.transaction_id or "",
        "商户订单号": order.out_trade_no,
        "用户标识": order.openid,
        "交易类型": "JSAPI",
        "交易状态": "REFUND",
        "付款银行": "OTHERS",
        "货币种类": "CNY",
        "应结订单金额": "0.00",
        "代金券金额": "0.00",
        "微信退款单号": refund.refund_id,
        "商户退款单号": refund.out_refund_no,
        "退款金额": _yuan(refund.refund_fen),
        "充值券退款金额": "0.00",
        "退款类型": "ORIGINAL",
        "退款状态": "SUCCESS",
        "商品名称": order.description,
        "商户数据包": order.attach,
        "手续费": "0.00",
        "费率": "0.60%",
        "订单金额": _yuan(order.total_fen),
        "申请退款金额": _yuan(refund.refund_fen),
    }
    return [values.get(c, "") for c in TRADE_BILL_ALL_COLUMNS]
