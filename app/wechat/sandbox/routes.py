"""The fake's HTTP side: a Flask app answering the mini-program and WeChat Pay v3 endpoints
from a :class:`~app.wechat.sandbox.state.FakeWeChat`, checking requests as WeChat does.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from cryptography import x509
from flask import Flask, Response, redirect, request

from app.wechat.sandbox.pages import (
    REFUND_ENDINGS,
    authorize_page,
    pay_page,
    refunds_page,
    result_page,
)
from app.wechat.sandbox.signing import (
    CST,
    SIGNATURE_TYPE,
    encrypt_resource,
    new_nonce,
    rfc3339,
    rsa_verify,
)
from app.wechat.sandbox.state import DemoMerchant, FakeOrder, FakeRefund, FakeWeChat

_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')
_OUT_NO = re.compile(r"^[0-9A-Za-z_\-|*@]{6,64}$")


class _PayFailure(Exception):
    def __init__(self, status: int, code: str, message: str, *, signed: bool = True) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.signed = signed


class _ApiFailure(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errcode)
        self.errcode = errcode
        self.errmsg = errmsg


def _signed_response(fake: FakeWeChat, status: int, payload: Mapping[str, Any] | None) -> Response:
    body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
    headers = fake.sign(body)
    with fake.lock:
        if fake._corrupt_signatures:
            fake._corrupt_signatures -= 1
            sig = base64.b64decode(headers["Wechatpay-Signature"])
            headers["Wechatpay-Signature"] = base64.b64encode(
                bytes([sig[0] ^ 1]) + sig[1:]
            ).decode()
    headers["Request-ID"] = f"fake-{uuid.uuid4()}"
    if payload is None:
        headers.pop("Content-Type")
    return Response(body, status=status, headers=headers)


def _pay_failure_response(fake: FakeWeChat, exc: _PayFailure) -> Response:
    payload = {"code": exc.code, "message": exc.message}
    if exc.signed:
        return _signed_response(fake, exc.status, payload)
    body = json.dumps(payload, ensure_ascii=False).encode()
    return Response(body, status=exc.status, content_type="application/json")


def _authenticate(fake: FakeWeChat, *, absolute: bool = False) -> DemoMerchant:
    """Check the merchant's Authorization as WeChat Pay does (「签名生成」 in reverse).

    ``absolute``: the merchant signed the full path of a URL the fake handed out (the bill
    ``download_url``), which includes the mount prefix when the demo serves the fake."""
    auth = request.headers.get("Authorization", "")
    scheme, _, rest = auth.partition(" ")
    if scheme != SIGNATURE_TYPE:
        raise _PayFailure(401, "SIGN_ERROR", "Authorization 格式不正确", signed=False)
    params = dict(_AUTH_PARAM.findall(rest))
    needed = ("mchid", "nonce_str", "signature", "timestamp", "serial_no")
    if any(not params.get(k) for k in needed):
        raise _PayFailure(401, "SIGN_ERROR", "Authorization 缺少参数", signed=False)
    with fake.lock:
        merchant = fake.merchants.get(params["mchid"])
    if merchant is None:
        raise _PayFailure(401, "SIGN_ERROR", "商户证书不存在或未配置", signed=False)
    if params["serial_no"].upper() != merchant.cert_serial:
        raise _PayFailure(401, "SIGN_ERROR", "商户证书序列号有误", signed=False)
    try:
        ts = int(params["timestamp"])
    except ValueError:
        raise _PayFailure(401, "SIGN_ERROR", "时间戳格式错误", signed=False) from None
    if abs(fake.clock() - ts) > 300:
        raise _PayFailure(401, "SIGN_ERROR", "请求时间戳已过期", signed=False)
    target = (request.script_root if absolute else "") + _signed_url()
    message = (
        f"{request.method}\n{target}\n{ts}\n{params['nonce_str']}\n".encode()
        + request.get_data()
        + b"\n"
    )
    if not rsa_verify(merchant.public_key_pem, message, params["signature"]):
        raise _PayFailure(401, "SIGN_ERROR", "签名错误", signed=False)
    return merchant


def _require_token(fake: FakeWeChat) -> str:
    token = request.args.get("access_token", "")
    if not token:
        raise _ApiFailure(41001, "access_token missing")
    with fake.lock:
        entry = fake.tokens.get(token)
    if entry is None:
        raise _ApiFailure(40001, "invalid credential, access_token is invalid or not latest")
    app_id, expires = entry
    if fake.clock() >= expires:
        raise _ApiFailure(42001, "access_token expired")
    return app_id


def _check_app(fake: FakeWeChat, app_id: str, secret: str) -> None:
    with fake.lock:
        known = fake.apps.get(app_id)
    if known is None:
        raise _ApiFailure(40013, "invalid appid")
    if not secrets.compare_digest(known, secret):
        raise _ApiFailure(40125, "invalid appsecret")


def _signed_url() -> str:
    """The request target as the merchant sent (and signed) it, without a mount prefix."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    root = request.script_root
    if raw:
        return raw[len(root) :] if root and raw.startswith(root) else raw
    query = request.environ.get("QUERY_STRING", "")
    return quote(request.path) + ("?" + query if query else "")


def _json_body() -> dict[str, Any]:
    try:
        data = json.loads(request.get_data() or b"null")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise _PayFailure(400, "PARAM_ERROR", "请求体不是合法的 JSON 对象")
    return data


def _api_body() -> Any:
    # WeChat reads the body as JSON whatever the Content-Type (wechatpy sends none)
    try:
        return json.loads(request.get_data() or b"null")
    except ValueError:
        return None


def _sub(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _api_json(payload: Mapping[str, Any]) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return Response(body, status=200, content_type="application/json; charset=utf-8")


def create_fake_wechat(state: FakeWeChat | None = None) -> Flask:
    """The fake WeChat as a Flask app (both API families on one host)."""
    fake = state or FakeWeChat()
    app = Flask("fake_wechat")
    app.extensions["fake_wechat"] = fake

    @app.errorhandler(_ApiFailure)
    def _api_failure(exc: _ApiFailure) -> Response:
        # WeChat's mini-program APIs answer errors with HTTP 200 and an errcode
        return _api_json({"errcode": exc.errcode, "errmsg": exc.errmsg})

    @app.errorhandler(_PayFailure)
    def _pay_failure(exc: _PayFailure) -> Response:
        return _pay_failure_response(fake, exc)

    # -- mini-program / official account -----------------------------------------------
    # wx.login codes "code-<openid>" log in as <openid>; getPhoneNumber codes
    # "phone-<digits>" give that number (or fake.phone_codes); anything else is 40029

    @app.get("/cgi-bin/token")
    def token() -> Response:
        args = request.args
        if args.get("grant_type") != "client_credential":
            raise _ApiFailure(40002, "invalid grant_type")
        app_id = args.get("appid", "")
        _check_app(fake, app_id, args.get("secret", ""))
        access_token = f"fake-at-{fake.next_seq()}-{new_nonce(24)}"
        with fake.lock:
            fake.tokens[access_token] = (app_id, fake.clock() + 7200)
            fake.token_requests.append(app_id)
        return _api_json({"access_token": access_token, "expires_in": 7200})

    @app.get("/sns/jscode2session")
    def jscode2session() -> Response:
        args = request.args
        app_id = args.get("appid", "")
        _check_app(fake, app_id, args.get("secret", ""))
        if args.get("grant_type") != "authorization_code":
            raise _ApiFailure(40002, "invalid grant_type")
        code = args.get("js_code", "")
        openid = code[len("code-") :] if code.startswith("code-") else ""
        if not openid:
            raise _ApiFailure(40029, "invalid code")
        with fake.lock:
            if fake.single_use_codes and (app_id, code) in fake.used_codes:
                raise _ApiFailure(40163, "code been used")
            fake.used_codes.add((app_id, code))
        digest = hashlib.sha256(f"{app_id}:{openid}".encode()).digest()
        return _api_json(
            {
                "openid": openid,
                "unionid": "union-" + openid,
                "session_key": base64.b64encode(digest[:16]).decode(),
            }
        )

    # -- official account: web authorization (网页授权) and the JS-SDK ticket -----------

    @app.get("/connect/oauth2/authorize")
    def authorize() -> Response:
        """WeChat's consent screen, played by a person: pick a demo driver or make one."""
        args = request.args
        with fake.lock:
            known = args.get("appid", "") in fake.apps
            users = dict(fake.users)
        problem = _authorize_problem(args, known)
        if problem:
            return result_page(problem, status=400)
        return authorize_page(args, users)

    @app.post("/connect/oauth2/authorize")
    def authorize_choose() -> Response:
        form = request.form
        with fake.lock:
            known = form.get("appid", "") in fake.apps
        problem = _authorize_problem(form, known)
        if problem:
            return result_page(problem, status=400)
        key = form.get("user", "")
        nickname = form.get("nickname", "").strip()[:32]
        if not key and nickname:
            key = "demo-" + new_nonce(10).lower()
            fake.add_user(key, nickname)
        with fake.lock:
            if key not in fake.users:
                return result_page("请选择或新建一位演示车主", status=400)
        code = fake.oauth_code(form["appid"], key)
        target = form["redirect_uri"]
        sep = "&" if "?" in target else "?"
        state = quote(form.get("state", ""), safe="")
        return redirect(f"{target}{sep}code={code}&state={state}", 302)  # type: ignore[return-value]

    @app.get("/sns/oauth2/access_token")
    def oauth2_access_token() -> Response:
        args = request.args
        app_id = args.get("appid", "")
        _check_app(fake, app_id, args.get("secret", ""))
        if args.get("grant_type") != "authorization_code":
            raise _ApiFailure(40002, "invalid grant_type")
        key = fake.redeem_oauth_code(app_id, args.get("code", ""))
        if key is None:
            raise _ApiFailure(40029, "invalid code")
        return _api_json(
            {
                "access_token": f"fake-web-at-{new_nonce(24)}",
                "expires_in": 7200,
                "refresh_token": f"fake-web-rt-{new_nonce(24)}",
                "openid": fake.oa_openid(app_id, key),
                "scope": "snsapi_base",
                "unionid": fake.unionid(key),
            }
        )

    @app.get("/cgi-bin/ticket/getticket")
    def getticket() -> Response:
        app_id = _require_token(fake)
        if request.args.get("type") != "jsapi":
            raise _ApiFailure(40097, "invalid args")
        return _api_json(
            {"errcode": 0, "errmsg": "ok", "ticket": f"fake-ticket-{app_id}", "expires_in": 7200}
        )

    # -- the WeChat Pay cashier (what WeixinJSBridge getBrandWCPayRequest shows) --------

    @app.get("/pay")
    def cashier() -> Response:
        order = fake.find_prepay(request.args.get("prepay_id", ""))
        back = _local_path(request.args.get("redirect", ""))
        if order is None:
            return result_page("支付单不存在或已过期", status=404)
        return pay_page(order, back)

    @app.post("/pay")
    def cashier_answer() -> Response:
        order = fake.find_prepay(request.form.get("prepay_id", ""))
        back = _local_path(request.form.get("redirect", ""))
        if order is None:
            return result_page("支付单不存在或已过期", status=404)
        if request.form.get("action") != "pay":
            outcome = "cancel"
        elif order.trade_state in ("NOTPAY", "SUCCESS"):
            # the signed, encrypted notify goes to the merchant's notify_url, as WeChat's
            answers = fake.deliver_pay_notify(order.out_trade_no, mch_id=order.mch_id)
            outcome = "ok" if answers and answers[0].status_code < 300 else "notify_failed"
        else:
            return result_page("订单已关闭，无法支付", status=409)
        if not back:
            return result_page("支付成功" if outcome == "ok" else "已取消支付")
        sep = "&" if "?" in back else "?"
        return redirect(f"{back}{sep}pay={outcome}", 303)  # type: ignore[return-value]

    # -- the merchant platform's refunds: a person ends a refund as WeChat would ----------

    @app.get("/merchant/refunds")
    def merchant_refunds() -> Response:
        with fake.lock:
            refunds = sorted(fake.refunds.values(), key=lambda r: r.create_time, reverse=True)
        return refunds_page(refunds, request.args.get("message", "")[:200])

    @app.post("/merchant/refunds")
    def merchant_refund_end() -> Response:
        out_refund_no, mch_id = request.form.get("out_refund_no", ""), request.form.get("mch_id")
        status = request.form.get("status", "")
        with fake.lock:
            refund = fake.refunds.get((mch_id or "", out_refund_no))
        if refund is None:
            return result_page("退款单不存在", status=404)
        if status not in REFUND_ENDINGS or refund.status != "PROCESSING":
            return result_page("该退款已结束或状态不正确", status=409)
        if not refund.notify_url:
            return result_page("该退款没有通知地址（notify_url）", status=409)
        # the signed, encrypted REFUND.<status> notify goes to the refund's notify_url
        answers = fake.deliver_refund_notify(out_refund_no, status=status, mch_id=mch_id)
        delivered = bool(answers) and answers[0].status_code < 300
        message = f"{out_refund_no}：{REFUND_ENDINGS[status]}，" + (
            "已通知商户" if delivered else "通知商户失败"
        )
        return redirect(f"./refunds?message={quote(message)}", 303)  # type: ignore[return-value]

    @app.post("/wxa/business/getuserphonenumber")
    def getuserphonenumber() -> Response:
        app_id = _require_token(fake)
        data = _api_body()
        if not isinstance(data, dict):
            raise _ApiFailure(47001, "data format error")
        code = str(data.get("code", ""))
        with fake.lock:
            phone = fake.phone_codes.get(code)
        if phone is None and code.startswith("phone-") and code[6:].isdigit():
            phone = code[6:]
        if not phone:
            raise _ApiFailure(40029, "invalid code")
        return _api_json(
            {
                "errcode": 0,
                "errmsg": "ok",
                "phone_info": {
                    "phoneNumber": phone,
                    "purePhoneNumber": phone,
                    "countryCode": "86",
                    "watermark": {"timestamp": int(fake.clock()), "appid": app_id},
                },
            }
        )

    @app.post("/cgi-bin/message/subscribe/send")
    def subscribe_send() -> Response:
        app_id = _require_token(fake)
        data = _api_body()
        if not isinstance(data, dict):
            raise _ApiFailure(47001, "data format error")
        touser, template_id = data.get("touser"), data.get("template_id")
        if not touser or not template_id:
            raise _ApiFailure(47003, "argument invalid! touser or template_id")
        fields = data.get("data")
        if not isinstance(fields, dict) or not fields:
            raise _ApiFailure(47003, "argument invalid! data")
        for key, value in fields.items():
            if not isinstance(value, dict) or not isinstance(value.get("value"), str):
                raise _ApiFailure(47003, f"argument invalid! data.{key}.value invalid")
        with fake.lock:
            if touser in fake.refused_subscribers:
                raise _ApiFailure(43101, "user refuse to accept the msg")
            msgid = fake.next_seq()
            fake.subscribe_messages.append(
                {
                    "app_id": app_id,
                    "touser": touser,
                    "template_id": template_id,
                    "page": data.get("page"),
                    "data": fields,
                    "msgid": msgid,
                }
            )
        return _api_json({"errcode": 0, "errmsg": "ok", "msgid": msgid})

    @app.post("/cgi-bin/menu/create")
    def menu_create() -> Response:
        app_id = _require_token(fake)
        data = _api_body()
        if not isinstance(data, dict) or not isinstance(data.get("button"), list):
            raise _ApiFailure(47001, "data format error")
        buttons = data["button"]
        if not 1 <= len(buttons) <= 3:
            raise _ApiFailure(40016, "invalid button size")
        for button in buttons:
            subs = button.get("sub_button") if isinstance(button, dict) else None
            if isinstance(subs, list) and "type" not in button:
                if not 1 <= len(subs) <= 5:
                    raise _ApiFailure(40023, "invalid sub button size")
                for sub in subs:
                    _check_menu_button(sub)
                if not button.get("name"):
                    raise _ApiFailure(40018, "invalid button name size")
            else:
                _check_menu_button(button)
        with fake.lock:
            fake.menus[app_id] = data
        return _api_json({"errcode": 0, "errmsg": "ok"})

    # -- WeChat Pay API v3 --------------------------------------------------------------

    @app.post("/v3/pay/transactions/jsapi")
    def jsapi() -> Response:
        merchant = _authenticate(fake)
        data = _json_body()
        amount = _sub(data, "amount")
        payer = _sub(data, "payer")
        out_trade_no = str(data.get("out_trade_no", ""))
        notify_url = str(data.get("notify_url", ""))
        for name in ("appid", "mchid", "description", "out_trade_no", "notify_url"):
            if not isinstance(data.get(name), str) or not data[name]:
                raise _PayFailure(400, "PARAM_ERROR", f"缺少参数 {name}")
        if data["mchid"] != merchant.mch_id:
            raise _PayFailure(400, "PARAM_ERROR", "mchid与请求方商户号不一致")
        if not fake.accepts_app(merchant, data["appid"]):
            raise _PayFailure(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        if not _OUT_NO.match(out_trade_no) or len(out_trade_no) > 32:
            raise _PayFailure(400, "PARAM_ERROR", "out_trade_no 格式错误")
        if not notify_url.startswith(("https://", "http://")):
            raise _PayFailure(400, "PARAM_ERROR", "notify_url 格式错误")
        if not _positive_int(amount.get("total")) or amount.get("currency", "CNY") != "CNY":
            raise _PayFailure(400, "PARAM_ERROR", "amount.total 必须为正整数")
        openid = payer.get("openid")
        if not isinstance(openid, str) or not openid:
            raise _PayFailure(400, "PARAM_ERROR", "缺少参数 payer.openid")
        with fake.lock:
            fake.pay_requests.append(data)
            existing = fake.orders.get((merchant.mch_id, out_trade_no))
            if existing is not None:
                if existing.trade_state in ("SUCCESS", "REFUND"):
                    raise _PayFailure(400, "ORDERPAID", "该订单已支付")
                if existing.trade_state == "CLOSED":
                    raise _PayFailure(400, "ORDER_CLOSED", "订单已关闭")
                same = (existing.total_fen, existing.openid, existing.description) == (
                    amount["total"],
                    openid,
                    data["description"],
                )
                if not same:
                    raise _PayFailure(400, "OUT_TRADE_NO_USED", "商户订单号重复")
                return _signed_response(fake, 200, {"prepay_id": existing.prepay_id})
            order = FakeOrder(
                mch_id=merchant.mch_id,
                app_id=data["appid"],
                out_trade_no=out_trade_no,
                total_fen=amount["total"],
                openid=openid,
                description=data["description"],
                notify_url=notify_url,
                prepay_id=fake._prepay_id(),
                attach=str(data.get("attach", "")),
            )
            fake.orders[(merchant.mch_id, out_trade_no)] = order
        return _signed_response(fake, 200, {"prepay_id": order.prepay_id})

    @app.get("/v3/pay/transactions/out-trade-no/<out_trade_no>")
    def query_order(out_trade_no: str) -> Response:
        merchant = _authenticate(fake)
        if request.args.get("mchid") != merchant.mch_id:
            raise _PayFailure(400, "PARAM_ERROR", "mchid与请求方商户号不一致")
        with fake.lock:
            order = fake.orders.get((merchant.mch_id, out_trade_no))
            if order is None:
                raise _PayFailure(404, "ORDER_NOT_EXIST", "订单不存在")
            return _signed_response(fake, 200, order.resource())

    @app.post("/v3/pay/transactions/out-trade-no/<out_trade_no>/close")
    def close_order(out_trade_no: str) -> Response:
        merchant = _authenticate(fake)
        data = _json_body()
        if data.get("mchid") != merchant.mch_id:
            raise _PayFailure(400, "PARAM_ERROR", "mchid与请求方商户号不一致")
        with fake.lock:
            order = fake.orders.get((merchant.mch_id, out_trade_no))
            if order is None:
                raise _PayFailure(404, "ORDER_NOT_EXIST", "订单不存在")
            if order.trade_state in ("SUCCESS", "REFUND"):
                raise _PayFailure(400, "ORDERPAID", "该订单已支付")
            order.trade_state = "CLOSED"
        return _signed_response(fake, 204, None)

    @app.post("/v3/refund/domestic/refunds")
    def create_refund() -> Response:
        merchant = _authenticate(fake)
        data = _json_body()
        amount = _sub(data, "amount")
        out_refund_no = str(data.get("out_refund_no", ""))
        if not _OUT_NO.match(out_refund_no):
            raise _PayFailure(400, "PARAM_ERROR", "out_refund_no 格式错误")
        if not _positive_int(amount.get("refund")) or not _positive_int(amount.get("total")):
            raise _PayFailure(400, "PARAM_ERROR", "amount.refund/total 必须为正整数")
        with fake.lock:
            fake.refund_requests.append({"mch_id": merchant.mch_id, **data})
            order = _order_for_refund(fake, merchant.mch_id, data)
            if order is None or order.transaction_id is None:
                raise _PayFailure(404, "RESOURCE_NOT_EXISTS", "订单不存在")
            if fake._refund_failures:
                status, code, message = fake._refund_failures.pop(0)
                raise _PayFailure(status, code, message)
            existing = fake.refunds.get((merchant.mch_id, out_refund_no))
            if existing is not None:
                if existing.refund_fen != amount["refund"]:
                    raise _PayFailure(400, "PARAM_ERROR", "同一退款单号的退款金额不一致")
                return _signed_response(fake, 200, existing.resource())
            if amount["total"] != order.total_fen:
                raise _PayFailure(400, "PARAM_ERROR", "订单金额或退款金额与之前请求不一致")
            previous = [
                r
                for r in fake.refunds.values()
                if r.mch_id == merchant.mch_id
                and r.out_trade_no == order.out_trade_no
                and r.status != "CLOSED"
            ]
            if len(previous) >= 50:
                raise _PayFailure(403, "INVALID_REQUEST", "部分退款次数超过50次")
            if sum(r.refund_fen for r in previous) + amount["refund"] > order.total_fen:
                raise _PayFailure(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
            now = fake.clock()
            refund = FakeRefund(
                mch_id=merchant.mch_id,
                out_refund_no=out_refund_no,
                refund_id=f"50300{fake.next_seq():024d}",
                out_trade_no=order.out_trade_no,
                transaction_id=order.transaction_id,
                refund_fen=amount["refund"],
                total_fen=amount["total"],
                reason=str(data.get("reason", "")),
                notify_url=str(data.get("notify_url", "")),
                create_time=rfc3339(now),
                status=fake.refund_initial_status,
                success_time=rfc3339(now) if fake.refund_initial_status == "SUCCESS" else None,
            )
            fake.refunds[(merchant.mch_id, out_refund_no)] = refund
            return _signed_response(fake, 200, refund.resource())

    @app.get("/v3/refund/domestic/refunds/<out_refund_no>")
    def query_refund(out_refund_no: str) -> Response:
        merchant = _authenticate(fake)
        with fake.lock:
            refund = fake.refunds.get((merchant.mch_id, out_refund_no))
            if refund is None:
                raise _PayFailure(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
            return _signed_response(fake, 200, refund.resource())

    def _bill_day() -> date:
        bill_date = request.args.get("bill_date", "")
        try:
            return date.fromisoformat(bill_date)
        except ValueError:
            raise _PayFailure(400, "PARAM_ERROR", "bill_date 格式错误") from None

    def _bill_answer(merchant: DemoMerchant, day: date, make: Callable[[], bytes]) -> Response:
        """The apply answer of a bill: a download link (hash of the plain file), or
        NO_STATEMENT_EXIST for today, the future, or a day with nothing on it."""
        today = datetime.fromtimestamp(fake.clock(), CST).date()
        data = make() if day < today else b""
        if not data:
            raise _PayFailure(400, "NO_STATEMENT_EXIST", "账单文件不存在")
        token = new_nonce(32)
        with fake.lock:
            fake.bill_files[token] = (merchant.mch_id, data)
        gzip_wanted = request.args.get("tar_type", "") == "GZIP"
        url = f"{request.host_url.rstrip('/')}{request.script_root}/v3/billdownload/file"
        url += f"?token={token}" + ("&tartype=gzip" if gzip_wanted else "")
        return _signed_response(
            fake,
            200,
            {
                "hash_type": "SHA1",
                "hash_value": hashlib.sha1(data).hexdigest(),
                "download_url": url,
            },
        )

    @app.get("/v3/bill/tradebill")
    def tradebill() -> Response:
        merchant = _authenticate(fake)
        day = _bill_day()
        if request.args.get("bill_type", "ALL") not in ("ALL", "SUCCESS", "REFUND"):
            raise _PayFailure(400, "PARAM_ERROR", "bill_type 参数错误")
        return _bill_answer(merchant, day, lambda: fake.trade_bill(merchant.mch_id, str(day)))

    @app.get("/v3/bill/fundflowbill")
    def fundflowbill() -> Response:
        """「申请资金账单」: the basic account's movements of the day (the operation and fees
        accounts of the fake never move: no bill)."""
        merchant = _authenticate(fake)
        day = _bill_day()
        account = request.args.get("account_type", "BASIC")
        if account not in ("BASIC", "OPERATION", "FEES"):
            raise _PayFailure(400, "PARAM_ERROR", "account_type 参数错误")
        if request.args.get("tar_type", "GZIP") != "GZIP":
            raise _PayFailure(400, "PARAM_ERROR", "tar_type 参数错误")

        def make() -> bytes:
            return fake.fund_flow_bill(merchant.mch_id, str(day)) if account == "BASIC" else b""

        return _bill_answer(merchant, day, make)

    @app.get("/v3/billdownload/file")
    def billdownload() -> Response:
        merchant = _authenticate(fake, absolute=True)
        with fake.lock:
            found = fake.bill_files.get(request.args.get("token", ""))
        if found is None or found[0] != merchant.mch_id:
            raise _PayFailure(400, "INVALID_REQUEST", "下载链接无效或已过期")
        data = found[1]
        if request.args.get("tartype") == "gzip":
            data = gzip.compress(data)
        # the file itself is not signed: the SHA1 from the apply answer is the proof
        return Response(data, status=200, content_type="application/octet-stream")

    @app.get("/v3/certificates")
    def certificates() -> Response:
        merchant = _authenticate(fake)
        p = fake.platform
        cert = x509.load_pem_x509_certificate(p.cert_pem.encode())
        item = {
            "serial_no": p.cert_serial,
            "effective_time": cert.not_valid_before_utc.astimezone(CST).isoformat(),
            "expire_time": cert.not_valid_after_utc.astimezone(CST).isoformat(),
            "encrypt_certificate": encrypt_resource(
                merchant.apiv3_key, p.cert_pem.encode(), "certificate"
            ),
        }
        return _signed_response(fake, 200, {"data": [item]})

    return app


def _authorize_problem(args: Mapping[str, str], known_app: bool) -> str:
    if not known_app:
        return "appid 无效（该公众号未在沙箱中注册）"
    if args.get("response_type") != "code":
        return "response_type 应为 code"
    if args.get("scope") not in ("snsapi_base", "snsapi_userinfo"):
        return "scope 参数错误"
    if not str(args.get("redirect_uri", "")).startswith(("http://", "https://")):
        return "redirect_uri 参数错误"
    return ""


def _local_path(target: str) -> str:
    """A path on this host to go back to (never another site)."""
    return target if target.startswith("/") and not target.startswith("//") else ""


def _order_for_refund(fake: FakeWeChat, mch_id: str, data: Mapping[str, Any]) -> FakeOrder | None:
    if data.get("transaction_id"):
        for order in fake.orders.values():
            if order.mch_id == mch_id and order.transaction_id == data["transaction_id"]:
                return order
        return None
    return fake.orders.get((mch_id, str(data.get("out_trade_no", ""))))


def _check_menu_button(button: Any) -> None:
    if not isinstance(button, dict) or not button.get("name"):
        raise _ApiFailure(40018, "invalid button name size")
    kind = button.get("type")
    required = {
        "click": ("key",),
        "view": ("url",),
        "miniprogram": ("appid", "pagepath", "url"),
        "scancode_push": ("key",),
        "scancode_waitmsg": ("key",),
        "media_id": ("media_id",),
        "article_id": ("article_id",),
    }.get(str(kind))
    if required is None:
        raise _ApiFailure(40017, "invalid button type")
    missing = [name for name in required if not button.get(name)]
    if missing:
        raise _ApiFailure(47001, f"data format error: {kind} button needs {', '.join(missing)}")
