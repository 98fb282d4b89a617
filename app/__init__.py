"""The application factory.

``create_app`` binds the extensions, builds the application's state (:func:`_build_state`)
and its OpenAPI document, and registers the domain's own CLI. The HTTP surfaces and the
pile link are composed by the entry points that need them (``wsgi.py``, ``python -m
pile_link``): nothing in ``app/`` imports a face.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify
from sqlalchemy import text

from app import http_security

# every context's tables, registered with the one metadata (Alembic and the mappers need all)
from app.billing import models as _billing_models  # noqa: F401
from app.billing.bills import TARIFF_SNAPSHOTS
from app.catalogue import models as _catalogue_models  # noqa: F401
from app.charging import models as _charging_models  # noqa: F401
from app.charging.commands import COMMAND_PORT, NoPileLink
from app.cli import register_cli
from app.config import load_config
from app.db_gevent import install_gevent_wait
from app.db_pool import ping_idle_connections
from app.drivers import models as _drivers_models  # noqa: F401
from app.drivers.certification import FILE_STORAGE, local_storage
from app.drivers.live import LIVE_BILLS, live_bill_cache_for
from app.drivers.sessions import DRIVER_SESSIONS, session_cache
from app.drivers.station_index import STATION_INDEX, StationIndex, shared_availability_for
from app.errors import DB_UNAVAILABLE, error_body
from app.extensions import db, limiter, migrate
from app.hlht import models as _hlht_models  # noqa: F401
from app.jobs import models as _jobs_models  # noqa: F401
from app.ledger import models as _ledger_models  # noqa: F401
from app.logging import configure_logging
from app.metrics import init_metrics
from app.notices import models as _notices_models  # noqa: F401
from app.openapi import HTTP_API, EvopApi
from app.payments import models as _payments_models  # noqa: F401
from app.promotions import models as _promotions_models  # noqa: F401
from app.state import AppState, state_of
from app.state import install as install_state
from app.tenancy import models as _tenancy_models  # noqa: F401
from app.tenancy.wechat_accounts import TOKEN_STORE
from app.uow import discard
from app.wechat.miniprogram import MemoryTokenStore, TokenStore
from app.wechat.tokens import RedisTokenStore


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(load_config(app.instance_path, config))
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    configure_logging(app.config["LOG_LEVEL"], app.config["LOG_JSON"])

    http_security.install(app)  # before any route: the int converter, headers, /metrics
    db.init_app(app)
    _sqlite_pragmas(app)
    _ping_idle_connections(app)
    install_gevent_wait()  # a gevent-patched process (pile link, gunicorn's gevent worker)
    migrate.init_app(app, db, directory=_migrations_dir(), render_as_batch=True)
    limiter.init_app(app)
    install_state(app, _build_state(app))
    init_metrics(app)
    _health(app)

    api = EvopApi(app, spec_kwargs={"info": {"description": "驾驶员端与运营端 API"}})
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "登录返回的 access_token"}
    )
    state_of(app)[HTTP_API] = api
    _swagger_ui(app)
    register_cli(app)
    return app


def _token_store(redis_url: str) -> TokenStore:
    """WeChat access tokens shared through Redis by every process when it is set (WeChat
    invalidates the previous token on each fetch), else kept in this process."""
    if not redis_url:
        return MemoryTokenStore()
    return RedisTokenStore.from_url(redis_url)


def _build_state(app: Flask) -> AppState:
    """Everything the application holds besides its settings, in one place."""
    cfg = app.config
    state = AppState()
    state[COMMAND_PORT] = NoPileLink()  # entry points that reach piles put their own port
    state[TARIFF_SNAPSHOTS] = {}
    state[LIVE_BILLS] = live_bill_cache_for(cfg["REDIS_URL"], float(cfg["LIVE_BILL_CACHE_SECONDS"]))
    state[STATION_INDEX] = StationIndex(
        shared=shared_availability_for(cfg["REDIS_URL"], cfg["SQLALCHEMY_DATABASE_URI"])
    )
    state[TOKEN_STORE] = _token_store(cfg["REDIS_URL"])
    state[DRIVER_SESSIONS] = session_cache(
        cfg["REDIS_URL"], int(cfg["DRIVER_SESSION_CACHE_SECONDS"])
    )
    with app.app_context():
        state[FILE_STORAGE] = local_storage()
    return state


def _sqlite_pragmas(app: Flask) -> None:
    """SQLite enforces foreign keys only when asked, on every connection (issue 15 #11):
    without it a deleted pile left orphan rows behind. The embedded database file serves
    the API, the pile link and the scheduler at once: WAL lets readers and one writer
    overlap, and writers wait instead of failing."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        return
    from sqlalchemy import event

    on_file = url.startswith("sqlite:///") and url != "sqlite:///:memory:"
    with app.app_context():

        @event.listens_for(db.engine, "connect")
        def _on_connect(dbapi_conn: Any, record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if on_file:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()


def _ping_idle_connections(app: Flask) -> None:
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return  # a file beside the process: nothing to lose between uses
    with app.app_context():
        ping_idle_connections(db.engine, float(app.config["DB_PING_IDLE_SECONDS"]))


def _migrations_dir() -> str:
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")


def _health(app: Flask) -> None:
    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz() -> Response | tuple[Response, int]:
        try:
            db.session.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error means "not ready"
            discard()
            body = error_body(
                DB_UNAVAILABLE.code, DB_UNAVAILABLE.message, {"error": type(exc).__name__}
            )
            return jsonify(body), 503
        return jsonify({"status": "ready", "database": db.engine.dialect.name})


def _swagger_ui(app: Flask) -> None:
    # the Swagger UI assets ship inside flask-swagger-ui: no CDN is ever needed
    from flask_swagger_ui import get_swaggerui_blueprint

    bp = get_swaggerui_blueprint(
        "/api/docs", "/api/openapi.json", config={"app_name": "充电运营平台 API"}
    )
    app.register_blueprint(bp, url_prefix="/api/docs")
