"""WeChat Pay v3 daily bills: hash check and CSV parsing (no Flask, no HTTP).

The bill files (``GET /v3/bill/tradebill`` / ``fundflowbill`` then ``download_url``) are
CSV where every field is prefixed with a backtick: one header line, the rows, then a
summary header line and one summary line. Amounts are yuan with two decimals; they are
turned into integer fen with :class:`~decimal.Decimal`, never float.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import app.errors as errors

TRADE_BILL_ALL_COLUMNS = (
    "交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号",
    "用户标识", "交易类型", "交易状态", "付款银行", "货币种类", "应结订单金额", "代金券金额",
    "微信退款单号", "商户退款单号", "退款金额", "充值券退款金额", "退款类型", "退款状态",
    "商品名称", "商户数据包", "手续费", "费率", "订单金额", "申请退款金额", "费率备注",
)  # fmt: skip

# 「申请资金账单」(account_type BASIC): one line per movement of the merchant's money
FUND_FLOW_COLUMNS = (
    "记账时间", "微信支付业务单号", "资金流水单号", "业务名称", "业务类型", "收支类型",
    "收支金额（元）", "账户结余（元）", "资金变更提交申请人", "备注", "业务凭证号",
)  # fmt: skip
FUND_FLOW_SUMMARY_COLUMNS = ("资金流水总笔数", "收入笔数", "收入金额", "支出笔数", "支出金额")
INCOME = "收入"
EXPENSE = "支出"


def verify_sha1(data: bytes, expected: str) -> None:
    """Refuse a downloaded bill whose SHA1 is not the one WeChat announced."""
    actual = hashlib.sha1(data).hexdigest()  # WeChat announces SHA1
    if actual.lower() != expected.strip().lower():
        raise errors.STATEMENT_HASH_MISMATCH(details={"expected": expected, "actual": actual})


def decompress(data: bytes, tar_type: str | None) -> bytes:
    return gzip.decompress(data) if (tar_type or "").upper() == "GZIP" else data


def yuan_to_fen(text: str, *, line: int = 0) -> int:
    """'12.34' -> 1234 exactly; refuses more than two decimals or garbage."""
    raw = text.strip().lstrip("`").replace(",", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise errors.STATEMENT_FORMAT_INVALID(details={"line": line, "amount": text}) from None
    fen = value * 100
    if not value.is_finite() or fen != fen.to_integral_value():
        raise errors.STATEMENT_FORMAT_INVALID(details={"line": line, "amount": text})
    return int(fen)


@dataclass
class Bill:
    header: list[str]
    rows: list[dict[str, str]]
    summary_header: list[str] = field(default_factory=list)
    summary: dict[str, str] = field(default_factory=dict)


def _clean(field_text: str) -> str:
    text = field_text.strip()
    return text[1:] if text.startswith("`") else text


def parse_bill(data: bytes) -> Bill:
    """Parse a bill file (UTF-8, optional BOM) into header, rows and summary."""
    text = data.decode("utf-8-sig")
    lines = [row for row in csv.reader(io.StringIO(text)) if any(c.strip() for c in row)]
    if not lines:
        raise errors.STATEMENT_FORMAT_INVALID(details={"line": 1})
    header = [_clean(c) for c in lines[0]]
    body = lines[1:]
    summary_header: list[str] = []
    summary: dict[str, str] = {}
    # summary header: the first later line that does not start with a backtick value
    for i, row in enumerate(body):
        if row and not row[0].strip().startswith("`"):
            summary_header = [_clean(c) for c in row]
            rest = body[i + 1 :]
            if len(rest) != 1 or len(rest[0]) != len(summary_header):
                raise errors.STATEMENT_FORMAT_INVALID(details={"line": i + 3})
            summary = dict(zip(summary_header, (_clean(c) for c in rest[0]), strict=True))
            body = body[:i]
            break
    rows = []
    for n, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise errors.STATEMENT_FORMAT_INVALID(details={"line": n, "fields": len(row)})
        rows.append(dict(zip(header, (_clean(c) for c in row), strict=True)))
    return Bill(header=header, rows=rows, summary_header=summary_header, summary=summary)


@dataclass(frozen=True)
class TradeLine:
    out_trade_no: str
    transaction_id: str
    trade_state: str  # SUCCESS / REFUND / REVOKED / NOTPAY / CLOSED ...
    amount_fen: int  # 应结订单金额
    out_refund_no: str
    refund_fen: int
    refund_state: str
    fee_fen: int


def parse_trade_bill(data: bytes) -> tuple[list[TradeLine], dict[str, str]]:
    """Trade bill (bill_type=ALL) -> typed lines plus the raw summary."""
    bill = parse_bill(data)
    missing = [c for c in ("商户订单号", "交易状态", "应结订单金额") if c not in bill.header]
    if missing:
        raise errors.STATEMENT_FORMAT_INVALID(details={"line": 1, "missing": missing})
    out = []
    for n, row in enumerate(bill.rows, start=2):
        out.append(
            TradeLine(
                out_trade_no=row.get("商户订单号", ""),
                transaction_id=row.get("微信订单号", ""),
                trade_state=row.get("交易状态", ""),
                amount_fen=yuan_to_fen(row.get("应结订单金额") or "0", line=n),
                out_refund_no=row.get("商户退款单号", "") or "",
                refund_fen=yuan_to_fen(row.get("退款金额") or "0", line=n),
                refund_state=row.get("退款状态", ""),
                fee_fen=yuan_to_fen(row.get("手续费") or "0", line=n),
            )
        )
    return out, bill.summary


@dataclass(frozen=True)
class FundLine:
    """One movement of the merchant's basic account: income (a payment settled) or expense
    (a refund paid back). ``voucher_no`` (业务凭证号) is the merchant's own number: the
    order's out_trade_no for income, the refund's out_refund_no for an expense."""

    booked_at: str  # 记账时间, China local "YYYY-MM-DD HH:MM:SS"
    wechat_no: str  # 微信支付业务单号: transaction_id / refund_id
    flow_no: str  # 资金流水单号
    business_name: str
    business_type: str  # 交易 / 退款 ...
    direction: str  # 收入 / 支出
    fen: int  # 收支金额, always positive; direction gives the sign
    balance_fen: int  # 账户结余 after this movement
    voucher_no: str

    @property
    def signed_fen(self) -> int:
        return -self.fen if self.direction == EXPENSE else self.fen


def parse_fund_flow_bill(data: bytes) -> tuple[list[FundLine], dict[str, str]]:
    """Fund-flow bill -> typed lines plus the raw summary; a line neither income nor
    expense, or a summary whose counts and sums disagree with the lines, is refused."""
    bill = parse_bill(data)
    needed = ("记账时间", "收支类型", "收支金额（元）", "业务凭证号")
    missing = [c for c in needed if c not in bill.header]
    if missing:
        raise errors.STATEMENT_FORMAT_INVALID(details={"line": 1, "missing": missing})
    out = []
    for n, row in enumerate(bill.rows, start=2):
        direction = row.get("收支类型", "")
        if direction not in (INCOME, EXPENSE):
            raise errors.STATEMENT_FORMAT_INVALID(details={"line": n, "收支类型": direction})
        out.append(
            FundLine(
                booked_at=row.get("记账时间", ""),
                wechat_no=row.get("微信支付业务单号", ""),
                flow_no=row.get("资金流水单号", ""),
                business_name=row.get("业务名称", ""),
                business_type=row.get("业务类型", ""),
                direction=direction,
                fen=yuan_to_fen(row.get("收支金额（元）") or "0", line=n),
                balance_fen=yuan_to_fen(row.get("账户结余（元）") or "0", line=n),
                voucher_no=row.get("业务凭证号", ""),
            )
        )
    _check_fund_summary(out, bill.summary, len(bill.rows) + 2)
    return out, bill.summary


def _check_fund_summary(lines: list[FundLine], summary: dict[str, str], line: int) -> None:
    if not summary:
        return
    income = [ln.fen for ln in lines if ln.direction == INCOME]
    expense = [ln.fen for ln in lines if ln.direction == EXPENSE]
    expected = {
        "资金流水总笔数": len(lines),
        "收入笔数": len(income),
        "收入金额": sum(income),
        "支出笔数": len(expense),
        "支出金额": sum(expense),
    }
    for name, value in expected.items():
        if name not in summary:
            continue
        text = summary[name]
        got = yuan_to_fen(text, line=line) if name.endswith("金额") else _count(text, line)
        if got != value:
            raise errors.STATEMENT_FORMAT_INVALID(
                details={"line": line, "summary": name, "stated": text, "lines": value}
            )


def _count(text: str, line: int) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise errors.STATEMENT_FORMAT_INVALID(details={"line": line, "count": text}) from None
