"""The composition of the HTTP process, in plain sight.

- ``gunicorn -k gevent wsgi:app``: production HTTP workers (gunicorn's gevent worker
  patches the process itself); the app is composed on first access of ``wsgi.app``.
- ``python wsgi.py``: the embedded single process ``make run`` starts (HTTP, pile link,
  scheduler); it patches gevent before anything else is imported.
- ``flask`` (``FLASK_APP=wsgi:compose``): every command of the platform.

Importing this module does nothing else: tests compose their own applications.
"""

if __name__ == "__main__":  # the embedded process: patch before anything else is imported
    from gevent import monkey

    monkey.patch_all()

import gc
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from flask import Flask

import admin_spa.api
import admin_spa.spa
import miniprogram_api
import miniprogram_api.h5_pages
from app import create_app
from app.config import RefusedToStart
from app.demo import DEMO_PARTNER_ID
from app.hlht import inbound as hlht_inbound
from app.hlht.cli import register_cli as register_hlht_cli
from app.hlht.sandbox import PartnerSandbox, connector_ids
from app.openapi import HTTP_API
from app.server import serve
from app.startup import refuse_unsafe_start
from app.state import state_of
from pile_link.cli import register_cli as register_pile_link_cli
from pile_link.runtime import install_routed_port

if TYPE_CHECKING:
    from pile_link.simulator.in_process import InProcessPiles


def own_origin(app: Flask) -> str:
    """Where this process's own HTTP server answers (the sandboxes call it back)."""
    host = app.config["HTTP_HOST"]
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://{host}:{app.config['HTTP_PORT']}"


def attach_wechat_sandbox(app: Flask) -> list[int]:
    """Demo mode with ``WECHAT_SANDBOX`` only (``make run``): the WeChat sandbox at
    /sandbox/wechat/ on this server, every WeChat call of the process pointed at it, the
    demo sub-operators' accounts registered in it. Returns the operators whose platform
    key is to be downloaded from it once the server listens; nothing outside demo mode."""
    if not (app.config["DEMO_MODE"] and app.config["WECHAT_SANDBOX"]):
        return []
    from app.demo import demo_wechat_accounts
    from app.wechat.sandbox.server import MOUNT_PREFIX, mount
    from app.wechat.sandbox.state import FakeWeChat

    fake = FakeWeChat()
    mount(app, fake)
    origin = own_origin(app)
    sandbox = origin + MOUNT_PREFIX
    app.config.update(
        WECHAT_API_BASE=sandbox,
        WECHAT_PAY_BASE=sandbox,
        WECHAT_OPEN_BASE=MOUNT_PREFIX,  # the browser's way there: wherever it reached us
        WECHAT_SANDBOX_CASHIER_URL=MOUNT_PREFIX + "/pay",
        PAY_NOTIFY_BASE_URL=origin,
    )
    if "example" in app.config["DEEP_LINK_BASE_URL"]:
        app.config["DEEP_LINK_BASE_URL"] = origin + "/h5"
    with app.app_context():
        return demo_wechat_accounts(fake)


def attach_hlht_sandbox(app: Flask) -> PartnerSandbox | None:
    """Demo mode with ``HLHT_SANDBOX`` only (``make run``): the demo partner platform
    (演示互联平台) at /sandbox/hlht/ on this server and the demo partner's base URL pointed
    at it, so that its stations sync and its ``hlht://`` codes charge. Its worker (the
    pushes to our /evcs/v1/) is started by the caller once the server listens."""
    if not (app.config["DEMO_MODE"] and app.config["HLHT_SANDBOX"]):
        return None
    from app.demo import demo_partner_sandbox
    from app.hlht.sandbox import MOUNT_PREFIX, mount

    origin = own_origin(app)
    with app.app_context():
        sandbox = demo_partner_sandbox(origin, origin + MOUNT_PREFIX)
    if sandbox is not None:
        mount(app, sandbox)
    return sandbox


def sync_demo_partner(app: Flask) -> None:
    """The demo partner's stations, status and policies, synced once the server listens
    (the hourly ``hlht-sync`` job keeps them after)."""
    from app.hlht import customer, partners
    from app.hlht.client import PartnerUnreachable

    with app.app_context():
        partner = partners.by_operator_id(DEMO_PARTNER_ID)
        if partner is None:
            return
        try:
            report = customer.sync_partner(partner)
        except PartnerUnreachable as err:
            print(f"互联沙箱同步失败: {err}", flush=True)
            return
        print(
            f"互联沙箱  已同步 {report.stations} 个站点、{report.connectors} 个充电接口", flush=True
        )


def download_platform_keys(app: Flask, operator_ids: list[int]) -> None:
    """The platform key of each operator's merchant, from WeChat (here: the sandbox)."""
    from app.payments import merchants

    with app.app_context():
        for operator_id in operator_ids:
            answer = merchants.refresh_platform_certificates(operator_id)
            if not answer.ok:
                print(f"平台证书下载失败 operator={operator_id}: {answer.message}", flush=True)


def start_simulated_piles(
    app: Flask, ocpp: tuple[str, int], ykc: tuple[str, int]
) -> "InProcessPiles":
    """Demo mode with ``DEMO_PILES`` only (``make run``): the demo seed's simulated piles
    (``app.demo.SIMULATED_PILES``, never the demo piles real ones connect as) run in this
    process, connected to its own OCPP and YKC ports."""
    from app.config import DEMO_PILE_CODES
    from app.demo import SIMULATED_PILES
    from pile_link.simulator.fleet import PileSpec
    from pile_link.simulator.in_process import InProcessPiles

    specs = [PileSpec(p.code, p.protocol) for p in SIMULATED_PILES if p.code not in DEMO_PILE_CODES]
    piles = InProcessPiles(specs, ocpp=ocpp, ykc=ykc)
    piles.start()
    return piles


def simulated_piles_banner(app: Flask) -> list[str]:
    """One line per simulated pile: its code, protocol, and its guns' QR contents (what a
    driver scans, or types on the H5 scan page)."""
    from sqlalchemy import select

    from app.catalogue.models import Pile
    from app.demo import SIMULATED_PILES, SIMULATED_STATION
    from app.extensions import db

    lines = []
    with app.app_context():
        for sim in SIMULATED_PILES:
            pile = db.session.scalar(select(Pile).where(Pile.code == sim.code))
            name = "OCPP 1.6J" if sim.protocol == "ocpp16" else "YKC v1.6"
            if pile is None:
                lines.append(f"模拟充电桩 {sim.code}（{name}）未登记：先运行 flask seed-demo")
                continue
            qrs = "  ".join(c.qr_payload for c in sorted(pile.connectors, key=lambda c: c.number))
            lines.append(f"模拟充电桩 {sim.code}（{name}，{SIMULATED_STATION}）扫码  {qrs}")
        db.session.remove()
    return lines


def compose(config: Mapping[str, Any] | None = None) -> Flask:
    """The domain's application with the operators' API and console, the drivers' API, and
    the CLI commands of the pile link; commands reach piles through Redis when it is set
    (a process that holds piles itself puts its own port in place: ``PileLinkRuntime``)."""
    app = create_app(config)
    api = state_of(app)[HTTP_API]
    admin_spa.api.register(app, api)
    admin_spa.spa.register(app, api)
    miniprogram_api.h5_pages.register(app, api)
    miniprogram_api.register(app, api)
    hlht_inbound.register(app)
    register_hlht_cli(app)
    register_pile_link_cli(app)
    install_routed_port(app)
    return app


_production: Flask | None = None


def __getattr__(name: str) -> Flask:
    """``wsgi.app`` for gunicorn, composed from the ``EVOP_*`` environment on first use."""
    global _production
    if name != "app":
        raise AttributeError(name)
    if _production is None:
        app = compose()
        refuse_unsafe_start(app)  # production: unsafe settings or demo logins → no app
        _production = app
        # what compose built lives as long as the process: out of the collector's sight, a
        # full collection pauses a worker ~10 ms instead of 100-170 ms (drivers' API p99)
        gc.freeze()
    return _production


def main() -> None:
    app = compose()
    try:
        refuse_unsafe_start(app)
    except RefusedToStart as refusal:
        print(refusal, file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    sandbox_merchants = attach_wechat_sandbox(app)
    partner_sandbox = attach_hlht_sandbox(app)
    gc.freeze()
    stops: list[Callable[[], None]] = []
    ready: list[Callable[[], None]] = []
    lines: list[str] = []  # printed last, under whatever start-up logs (issue 14)
    if app.config["DEMO_MODE"] and app.config["WECHAT_SANDBOX"]:
        lines.append(f"微信沙箱  {app.config['WECHAT_API_BASE']}/  （演示模式）")
        ready.append(lambda: download_platform_keys(app, sandbox_merchants))
    if partner_sandbox is not None:
        lines.append(
            f"互联沙箱  {partner_sandbox.platform_base}/sandbox/hlht/  （演示模式）扫码  "
            f"hlht://{connector_ids()[0]}.{DEMO_PARTNER_ID}/demo"
        )
        partner_sandbox.start_worker()
        stops.append(partner_sandbox.stop_worker)
        ready.append(lambda: sync_demo_partner(app))
    if app.config["PILE_LINK_ENABLED"]:
        from pile_link.runtime import PileLinkRuntime

        runtime = PileLinkRuntime(app)  # this process holds the piles: its own port
        endpoints = runtime.start()
        lines.append(f"OCPP 1.6J ws://{endpoints.ocpp[0]}:{endpoints.ocpp[1]}/ocpp/<pile_code>")
        if endpoints.ykc:
            lines.append(f"YKC v1.6  tcp://{endpoints.ykc[0]}:{endpoints.ykc[1]}")
        stops.append(lambda: runtime.stop(timeout=10))
        if app.config["DEMO_MODE"] and app.config["DEMO_PILES"]:
            piles = start_simulated_piles(app, endpoints.ocpp, endpoints.ykc)
            stops.insert(0, lambda: piles.stop(timeout=5))  # before the link they use
            lines.extend(simulated_piles_banner(app))
    if app.config["SCHEDULER_ENABLED"]:
        from app.jobs.scheduler import start_scheduler

        scheduler = start_scheduler(app)
        lines.append("调度任务  " + ", ".join(job.id for job in scheduler.get_jobs()))
        stops.append(lambda: scheduler.shutdown(wait=False))
    serve(app, stops, ready, lines)


if __name__ == "__main__":
    main()
