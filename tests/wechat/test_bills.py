import gzip
import hashlib

import pytest

from app import errors
from app.wechat import bills

HEADER = ",".join(bills.TRADE_BILL_ALL_COLUMNS)


def _row(values: dict[str, str]) -> str:
    return ",".join("`" + values.get(c, "") for c in bills.TRADE_BILL_ALL_COLUMNS)


GOLDEN = (
    "\ufeff"
    + HEADER
    + "\n"
    + _row({"交易时间": "2026-12-03 10:00:01", "微信订单号": "42000001", "商户订单号": "T1",
            "交易状态": "SUCCESS", "应结订单金额": "0.10", "手续费": "0.00",
            "商品名称": "充电充值"})
    + "\n"
    + _row({"微信订单号": "42000002", "商户订单号": "T2", "交易状态": "REFUND",
            "应结订单金额": "0.00", "商户退款单号": "R2", "退款金额": "19.99",
            "退款状态": "SUCCESS", "手续费": "-0.12"})
    + "\n"
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n"
    "`2,`0.10,`19.99,`0.00,`-0.12,`0.10,`19.99\n"
).encode()  # fmt: skip


def test_golden_trade_bill_backticks_fen_summary_chinese():
    lines, summary = bills.parse_trade_bill(GOLDEN)
    assert [x.out_trade_no for x in lines] == ["T1", "T2"]
    assert lines[0].amount_fen == 10 and lines[0].trade_state == "SUCCESS"
    assert lines[1].refund_fen == 1999 and lines[1].out_refund_no == "R2"
    assert lines[1].fee_fen == -12
    assert summary["总交易单数"] == "2" and summary["退款总金额"] == "19.99"


@pytest.mark.parametrize(
    ("text", "fen"), [("0.01", 1), ("19.99", 1999), ("`100.00", 10000), ("1,234.50", 123450),
                      ("-0.12", -12), ("0.1", 10), ("0.29", 29), ("1.13", 113)],
)  # fmt: skip
def test_yuan_to_fen_exact(text, fen):
    assert bills.yuan_to_fen(text) == fen


@pytest.mark.parametrize("text", ["0.001", "abc", "NaN", ""])
def test_yuan_to_fen_refuses_bad_amount(text):
    with pytest.raises(errors.DomainError) as exc:
        bills.yuan_to_fen(text)
    assert exc.value.code == "STATEMENT_FORMAT_INVALID"


def test_short_row_refused_with_line_number():
    data = (HEADER + "\n`a,`b\n").encode()
    with pytest.raises(errors.DomainError) as exc:
        bills.parse_trade_bill(data)
    assert exc.value.details["line"] == 2


def test_hash_mismatch_refused_and_match_accepted():
    bills.verify_sha1(GOLDEN, hashlib.sha1(GOLDEN).hexdigest().upper())
    with pytest.raises(errors.DomainError) as exc:
        bills.verify_sha1(GOLDEN + b"x", hashlib.sha1(GOLDEN).hexdigest())
    assert exc.value.code == "STATEMENT_HASH_MISMATCH"


def test_gzip_and_plain():
    assert bills.decompress(gzip.compress(GOLDEN), "GZIP") == GOLDEN
    assert bills.decompress(GOLDEN, None) == GOLDEN


def test_empty_day_has_no_rows():
    data = (HEADER + "\n总交易单数,应结订单总金额\n`0,`0.00\n").encode()
    lines, summary = bills.parse_trade_bill(data)
    assert lines == [] and summary["总交易单数"] == "0"
