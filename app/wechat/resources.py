"""WeChat Pay v3 payment and refund records, read from query answers and notify resources.

A pay notify's decrypted resource has the same shape as a query-by-out-trade-no answer;
a refund notify's resource is close to a refund query answer (``refund_status`` there,
``status`` here). Both are read into the same small values; ``raw`` keeps everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# trade_state (查询订单 API): SUCCESS, REFUND, NOTPAY, CLOSED, REVOKED, USERPAYING, PAYERROR
TRADE_PAID_STATES = frozenset({"SUCCESS", "REFUND"})
# refund status: SUCCESS, CLOSED, PROCESSING, ABNORMAL
REFUND_FINAL_STATES = frozenset({"SUCCESS", "CLOSED", "ABNORMAL"})


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class Transaction:
    """A JSAPI payment as WeChat sees it; amounts in fen."""

    mch_id: str
    app_id: str
    out_trade_no: str
    transaction_id: str | None
    trade_state: str
    total_fen: int | None
    payer_total_fen: int | None
    payer_openid: str | None
    success_time: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def paid(self) -> bool:
        return self.trade_state in TRADE_PAID_STATES

    @classmethod
    def from_resource(cls, data: Mapping[str, Any]) -> Transaction:
        amount = _dict(data.get("amount"))
        return cls(
            mch_id=str(data.get("mchid", "")),
            app_id=str(data.get("appid", "")),
            out_trade_no=str(data.get("out_trade_no", "")),
            transaction_id=_str(data.get("transaction_id")),
            trade_state=str(data.get("trade_state", "")),
            total_fen=_int(amount.get("total")),
            payer_total_fen=_int(amount.get("payer_total")),
            payer_openid=_str(_dict(data.get("payer")).get("openid")),
            success_time=_str(data.get("success_time")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Refund:
    """A refund as WeChat sees it; amounts in fen."""

    out_refund_no: str
    refund_id: str | None
    out_trade_no: str | None
    transaction_id: str | None
    status: str
    refund_fen: int | None
    total_fen: int | None
    success_time: str | None
    user_received_account: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def final(self) -> bool:
        return self.status in REFUND_FINAL_STATES

    @classmethod
    def from_resource(cls, data: Mapping[str, Any]) -> Refund:
        amount = _dict(data.get("amount"))
        return cls(
            out_refund_no=str(data.get("out_refund_no", "")),
            refund_id=_str(data.get("refund_id")),
            out_trade_no=_str(data.get("out_trade_no")),
            transaction_id=_str(data.get("transaction_id")),
            status=str(data.get("status") or data.get("refund_status") or ""),
            refund_fen=_int(amount.get("refund")),
            total_fen=_int(amount.get("total")),
            success_time=_str(data.get("success_time")),
            user_received_account=_str(data.get("user_received_account")),
            raw=dict(data),
        )
