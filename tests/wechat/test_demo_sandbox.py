"""The WeChat sandbox in demo mode (issue 13 #1): mounted at /sandbox/wechat/ on the
platform's own server, the demo sub-operators' accounts registered in it, the platform key
downloaded from it; an H5 driver logs in through its authorize page and tops up through
its cashier. Never mounted outside demo mode; production refuses it."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from app.config import check_settings
from app.demo import DEMO_WECHAT, seed_demo
from app.extensions import db
from app.payments import merchants
from app.tenancy.models import Operator
from tests.support.servers import free_port
from tests.support.settings import BASE_CONFIG
from wsgi import attach_wechat_sandbox, compose, download_platform_keys

MP = "/api/mp/v1"
YC_MP, YC_OA, YC_MCH = DEMO_WECHAT["广东云创"]


def _app(tmp_path: Path, **config: object) -> Flask:
    app = compose(
        {
            **BASE_CONFIG,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
            "HTTP_PORT": free_port(),
            "DEMO_MODE": True,
            "WECHAT_SANDBOX": True,
            **config,
        }
    )
    with app.app_context():
        db.create_all()
        seed_demo()
        db.session.remove()
    return app


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Flask, str, list[int]]]:
    app = _app(tmp_path)
    ids = attach_wechat_sandbox(app)
    server = make_server("127.0.0.1", app.config["HTTP_PORT"], app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.port}", ids
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()


def test_demo_mode_serves_the_sandbox_and_a_driver_logs_in_and_tops_up(
    served: tuple[Flask, str, list[int]],
) -> None:
    app, base, ids = served
    assert (
        app.config["WECHAT_API_BASE"] == app.config["WECHAT_PAY_BASE"] == base + "/sandbox/wechat"
    )
    assert app.config["DEEP_LINK_BASE_URL"] == base + "/h5"
    with app.app_context():
        yc = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
        assert yc is not None and yc.id in ids and len(ids) == 2
        assert (yc.wechat_app_id, yc.wechat_oa_app_id, yc.wechat_mch_id) == (YC_MP, YC_OA, YC_MCH)
        assert not merchants.readiness(yc).ready  # no platform key until it is downloaded
    download_platform_keys(app, ids)  # over HTTP, from the sandbox this server serves
    with app.app_context():
        yc = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
        assert yc is not None and merchants.readiness(yc).ready
        db.session.remove()

    http = requests.Session()
    config = http.get(
        f"{base}{MP}/h5/config",
        params={"redirect_uri": f"{base}/h5/login", "state": "/h5/wallet"},
    ).json()
    assert config["oa_app_id"] == YC_OA and config["cashier_url"] == "/sandbox/wechat/pay"
    page = http.get(base + config["authorize_url"])
    assert page.status_code == 200 and "演示车主" in page.text
    form = parse_qs(urlsplit(config["authorize_url"]).query)
    chosen = http.post(
        f"{base}/sandbox/wechat/connect/oauth2/authorize",
        data={**{k: v[0] for k, v in form.items()}, "user": "demo-openid-0001"},
        allow_redirects=False,
    )
    assert chosen.status_code == 302
    code = parse_qs(urlsplit(chosen.headers["Location"]).query)["code"][0]
    login = http.post(f"{base}{MP}/auth/oa-login", json={"code": code, "app_id": YC_OA})
    assert login.status_code == 200, login.text
    body = login.json()
    # the seeded mini-program driver: the same unionid
    assert body["created"] is False and body["driver"]["balance_fen"] == 10_000
    http.headers["Authorization"] = f"Bearer {body['access_token']}"

    topup = http.post(
        f"{base}{MP}/topups", json={"amount_fen": 5000, "channel": "official_account"}
    )
    assert topup.status_code == 201, topup.text
    started = topup.json()
    assert started["payment"]["appId"] == YC_OA
    prepay_id = started["payment"]["package"].removeprefix("prepay_id=")
    cashier = http.get(f"{base}/sandbox/wechat/pay", params={"prepay_id": prepay_id})
    assert "¥50.00" in cashier.text and "确认支付" in cashier.text
    paid = http.post(
        f"{base}/sandbox/wechat/pay",
        data={"prepay_id": prepay_id, "redirect": "/h5/wallet", "action": "pay"},
        allow_redirects=False,
    )
    assert paid.status_code == 303 and paid.headers["Location"] == "/h5/wallet?pay=ok"
    state = http.get(f"{base}{MP}/topups/{started['out_trade_no']}").json()["state"]
    assert state == "paid"
    assert http.get(f"{base}{MP}/wallet").json()["balance_fen"] == 15_000


def test_oa_login_refuses_a_bad_code_and_an_unknown_account(
    served: tuple[Flask, str, list[int]],
) -> None:
    _, base, _ = served
    bad = requests.post(f"{base}{MP}/auth/oa-login", json={"code": "nope", "app_id": YC_OA})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "WECHAT_CODE_INVALID"
    unknown = requests.post(f"{base}{MP}/auth/oa-login", json={"code": "x", "app_id": "wxnope"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "OFFICIAL_ACCOUNT_UNKNOWN"
    assert unknown.json()["error"]["message"] == "公众号未在平台配置"


def test_sandbox_never_mounts_outside_demo_mode(tmp_path: Path) -> None:
    app = _app(tmp_path, DEMO_MODE=False)
    assert attach_wechat_sandbox(app) == []
    client = app.test_client()
    assert client.get("/sandbox/wechat/pay").status_code == 404
    assert app.config["WECHAT_API_BASE"] == "https://api.weixin.qq.com"
    with app.app_context():
        yc = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
        assert yc is not None and yc.wechat_app_id == "" and yc.wechat_mch_id == ""
        db.engine.dispose()


def test_production_refuses_the_sandbox_and_demo_piles() -> None:
    problems = check_settings({"WECHAT_SANDBOX": True, "DEMO_PILES": True})
    assert any(p.startswith("EVOP_WECHAT_SANDBOX") for p in problems)
    assert any(p.startswith("EVOP_DEMO_PILES") for p in problems)
    assert not any("SANDBOX" in p for p in check_settings({}))


def test_h5_scan_gets_a_jssdk_signature_over_the_sandboxs_jsapi_ticket(
    served: tuple[Flask, str, list[int]],
) -> None:
    """Inside WeChat the H5 scan page calls wx.config with GET /jssdk-config?url=: signed
    with the official account's jsapi_ticket, which the sandbox serves (issue 13 #2)."""
    _, base, _ = served
    http = requests.Session()
    page_url = f"{base}/h5/scan?from=menu"
    assert http.get(f"{base}{MP}/jssdk-config", params={"url": page_url}).status_code == 401
    config = http.get(
        f"{base}{MP}/h5/config", params={"redirect_uri": f"{base}/h5/login", "state": "/h5/scan"}
    ).json()
    form = parse_qs(urlsplit(config["authorize_url"]).query)
    chosen = http.post(
        f"{base}/sandbox/wechat/connect/oauth2/authorize",
        data={**{k: v[0] for k, v in form.items()}, "user": "demo-openid-0001"},
        allow_redirects=False,
    )
    code = parse_qs(urlsplit(chosen.headers["Location"]).query)["code"][0]
    login = http.post(f"{base}{MP}/auth/oa-login", json={"code": code, "app_id": YC_OA}).json()
    http.headers["Authorization"] = f"Bearer {login['access_token']}"

    signed = http.get(f"{base}{MP}/jssdk-config", params={"url": page_url + "#top"})
    assert signed.status_code == 200, signed.text
    out = signed.json()
    assert set(out) == {"appId", "timestamp", "nonceStr", "signature"}
    assert out["appId"] == YC_OA and out["nonceStr"]
    # 「JS-SDK使用权限签名算法」, written out here: the ticket the sandbox gave, the URL without #
    raw = (
        f"jsapi_ticket=fake-ticket-{YC_OA}&noncestr={out['nonceStr']}"
        f"&timestamp={out['timestamp']}&url={page_url}"
    )
    assert out["signature"] == hashlib.sha1(raw.encode()).hexdigest()
    again = http.get(f"{base}{MP}/jssdk-config", params={"url": page_url}).json()
    assert again["nonceStr"] != out["nonceStr"]  # a fresh nonce each time

    missing = http.get(f"{base}{MP}/jssdk-config")
    assert missing.status_code == 422
