"""The sandbox's pages for people: WeChat's web-authorization screen (pick or create a demo
driver), the WeChat Pay cashier ("确认支付" / "取消") and the merchant's refunds, where one
ends a refund as WeChat would (退款成功 / 退款异常 / 退款关闭). Plain HTML, phone-sized."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from flask import Response

from app.money import fen_to_yuan_str
from app.wechat.sandbox.state import FakeOrder, FakeRefund

_STYLE = """
body{margin:0;font:16px/1.5 -apple-system,"PingFang SC","Microsoft YaHei",sans-serif;
background:#ededed;color:#111}
header{background:#2aae67;color:#fff;padding:14px 16px;font-size:17px}
main{padding:16px}
.card{background:#fff;border-radius:8px;padding:16px;margin-bottom:12px}
.amount{font-size:34px;font-weight:600;text-align:center;margin:8px 0}
.muted{color:#888;font-size:14px}
button{display:block;width:100%;padding:12px;margin:8px 0;border:0;border-radius:6px;
font-size:17px;background:#07c160;color:#fff}
button.secondary{background:#f2f2f2;color:#111}
input{width:100%;box-sizing:border-box;padding:10px;font-size:16px;border:1px solid #ddd;
border-radius:6px}
"""


def _page(title: str, body: str, status: int = 200) -> Response:
    html = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><header>微信（沙箱）· {escape(title)}</header><main>{body}</main></body></html>"
    )
    return Response(html, status=status, content_type="text/html; charset=utf-8")


def _hidden(values: Mapping[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in values.items()
    )


def authorize_page(args: Mapping[str, str], users: Mapping[str, str]) -> Response:
    """snsapi_base needs no consent in WeChat; the sandbox asks who you are instead."""
    keep = _hidden(
        {k: str(args.get(k, "")) for k in ("appid", "redirect_uri", "response_type", "scope")}
        | {"state": str(args.get("state", ""))}
    )
    choices = "".join(
        f'<button name="user" value="{escape(key)}" data-user="{escape(key)}">'
        f"{escape(nickname or key)}</button>"
        for key, nickname in users.items()
    )
    body = (
        '<div class="card"><p>公众号请求获取你的身份（snsapi_base 静默授权）。'
        "请选择以哪位演示车主登录：</p>"
        f'<form method="post">{keep}{choices or "<p class=muted>还没有演示车主</p>"}</form></div>'
        '<div class="card"><form method="post">'
        f"{keep}<p>或新建一位演示车主：</p>"
        '<input name="nickname" placeholder="昵称，例如 新车主" maxlength="32" required>'
        '<button type="submit" class="secondary">新建并登录</button></form></div>'
    )
    return _page("网页授权", body)


def pay_page(order: FakeOrder, back: str) -> Response:
    keep = _hidden({"prepay_id": order.prepay_id, "redirect": back})
    paid = order.trade_state != "NOTPAY"
    body = (
        f'<div class="card"><p class="muted">{escape(order.description)}</p>'
        f'<div class="amount">¥{fen_to_yuan_str(order.total_fen)}</div>'
        f'<p class="muted">商户号 {escape(order.mch_id)} · 订单 {escape(order.out_trade_no)}</p>'
        + ("<p>该订单已支付</p>" if paid else "")
        + f'</div><form method="post">{keep}'
        '<button name="action" value="pay">确认支付</button>'
        '<button name="action" value="cancel" class="secondary">取消</button></form>'
    )
    return _page("微信支付", body)


def result_page(message: str, status: int = 200) -> Response:
    return _page("提示", f'<div class="card"><p>{escape(message)}</p></div>', status)


# how WeChat ends a refund that is PROCESSING (the refund notify's REFUND.<status>)
REFUND_ENDINGS = {"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}


def refunds_page(refunds: list[FakeRefund], message: str = "") -> Response:
    """「商户平台 · 退款」: the refunds WeChat holds, newest first; a PROCESSING one can be
    ended, which sends the signed, encrypted refund notify to the refund's notify_url."""
    cards = []
    for r in refunds:
        head = (
            f'<div class="amount">¥{fen_to_yuan_str(r.refund_fen)}</div>'
            f'<p class="muted">退款单 {escape(r.out_refund_no)} · 商户号 {escape(r.mch_id)} · '
            f"原订单 {escape(r.out_trade_no)}</p>"
            f'<p data-refund-status="{escape(r.status)}">状态：{escape(r.status)}</p>'
        )
        actions = ""
        if r.status == "PROCESSING":
            keep = _hidden({"out_refund_no": r.out_refund_no, "mch_id": r.mch_id})
            actions = f'<form method="post">{keep}' + "".join(
                f'<button name="status" value="{s}"'
                f'{"" if s == "SUCCESS" else " class=secondary"}>{escape(label)}</button>'
                for s, label in REFUND_ENDINGS.items()
            ) + "</form>"  # fmt: skip
        cards.append(
            f'<div class="card" data-refund="{escape(r.out_refund_no)}">{head}{actions}</div>'
        )
    note = f'<div class="card"><p>{escape(message)}</p></div>' if message else ""
    empty = '<div class="card"><p class="muted">还没有退款</p></div>'
    return _page("商户平台 · 退款", note + ("".join(cards) or empty))
