"""Settings: defaults in a class, overrides from ``EVOP_*`` environment variables.

The embedded default (SQLite under ``instance/``, no Redis) needs no settings at all;
``flask check-settings`` lists what production still lacks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import current_app

ENV_PREFIX = "EVOP_"
DEV_SECRET_KEY = "dev-only-insecure-secret-key"


class Config:
    ENV = "development"  # "production" turns on the production checks
    SECRET_KEY = DEV_SECRET_KEY
    DATABASE_URL = ""  # empty: SQLite file in the instance folder
    REDIS_URL = ""  # empty: single process, no cross-process routing
    LOG_LEVEL = "INFO"
    LOG_JSON = True
    ADMIN_TOKEN_TTL = 12 * 3600  # seconds
    QR_BASE_URL = "https://charge.example.cn/q/"
    DEMO_MODE = False
    # demo mode only (make run): the WeChat sandbox at /sandbox/wechat/ on the same server,
    # which the demo operators' WeChat calls go to; simulated piles in the process
    WECHAT_SANDBOX = False
    DEMO_PILES = False
    # demo mode only: the demo partner platform (T/CEC 102) at /sandbox/hlht/ on the server
    HLHT_SANDBOX = False
    ADMIN_SPA_DIST = ""  # empty: admin_spa/web/dist beside the package
    HTTP_HOST = "127.0.0.1"
    HTTP_PORT = 5000
    # the embedded HTTP server closes slow and idle clients (app/server.py)
    HTTP_HEADER_TIMEOUT_SECONDS = 10
    HTTP_IDLE_TIMEOUT_SECONDS = 60
    HTTP_IO_TIMEOUT_SECONDS = 30
    HTTP_MAX_CONNECTIONS = 1000
    DEFAULT_TIMEZONE = "Asia/Shanghai"
    # the pile link (OCPP 1.6J over WebSocket, YKC over TCP)
    PILE_LINK_ENABLED = True  # inside the one process of `make run`
    OCPP_HOST = "0.0.0.0"
    OCPP_PORT = 9000
    OCPP_HEARTBEAT_SECONDS = 300
    OCPP_READ_TIMEOUT_SECONDS = 420
    YKC_HOST = "0.0.0.0"
    YKC_PORT = 8767
    YKC_READ_TIMEOUT_SECONDS = 35
    # meter values are committed in groups: a batch waits this long for more (0: none)
    METER_BATCH_DELAY_MS = 5
    METER_BATCH_SIZE = 500
    METER_BATCHES_IN_FLIGHT = 2  # batches committing at once (pile_link/group_commit.py)
    # domain calls a pile-link process runs at once; below the database pool
    PILE_LINK_DB_CONCURRENCY = 20
    # PostgreSQL connections one process holds at most, kept once opened (a request beyond
    # them waits for one): with 10 kept and 20 more opened on demand, a worker under the
    # drivers' polling opened and closed a connection per excess request, 51 in 5 s
    DB_POOL_SIZE = 30
    # this pile-link process's name, stable across restarts (empty: host name and OCPP
    # port): a restart closes the online periods it left open, and only those
    PILE_LINK_NODE = ""
    # Redis connections of one process; more callers wait up to the timeout for one
    REDIS_MAX_CONNECTIONS = 200
    REDIS_POOL_TIMEOUT_SECONDS = 20
    SQL_ECHO = False
    # a pooled connection idle this long is pinged before use (0: before every use)
    DB_PING_IDLE_SECONDS = 10
    PASSWORD_HASH_METHOD = "scrypt"  # tests use a cheap one
    # money (issue 4)
    MIN_START_BALANCE_FEN = 100  # a driver needs this much in the wallet to start
    LOST_BILL_TIMEOUT_SECONDS = 1800  # awaiting the final record this long → estimated bill
    STARTING_TIMEOUT_SECONDS = 120  # an order still "starting" after this → failed
    HEARTBEAT_TIMEOUT_SECONDS = 900  # no sign of life for this long → pile offline
    COUPON_EXPIRY_REMINDER_DAYS = 3  # remind drivers of coupons expiring this soon
    OCCUPANCY_REMINDER_LEAD_MINUTES = 10  # remind this long before free minutes run out
    OCCUPANCY_MAX_HOURS = 24  # occupancy never runs longer: closed and flagged for review
    # a stop record's energy above rated power × duration × this (percent) + 500 Wh holds
    # the order for review, undebited (issue 15); 0: not judged (simulated piles that run
    # faster than time, as in the browser tests)
    ENERGY_PLAUSIBILITY_MARGIN_PERCENT = 125
    # a pile time further than this from the server's (ahead, or behind while connected)
    # is not used for money: the server's time is, and the order goes to review (issue 14)
    PILE_CLOCK_TOLERANCE_SECONDS = 300
    AMOUNT_MISMATCH_TOLERANCE_FEN = 0  # pile's own amounts vs ours: any difference is flagged
    SCHEDULER_ENABLED = True  # run the jobs in this process (make run, flask scheduler)
    # drivers' API (issue 5): WeChat base URL (the fake in tests), tokens, uploads, links
    WECHAT_API_BASE = "https://api.weixin.qq.com"
    # where a browser goes for official-account web authorization (网页授权)
    WECHAT_OPEN_BASE = "https://open.weixin.qq.com"
    # the sandbox's cashier page (set when the sandbox is mounted; empty in production)
    WECHAT_SANDBOX_CASHIER_URL = ""
    DRIVER_TOKEN_TTL = 7 * 24 * 3600  # seconds
    # with REDIS_URL: a driver's session state (token version, disabled) is cached this
    # long, shared by the workers and rewritten at once by every logout, disable and enable
    # (so a token stops at once however long this is): a token's lifetime, so a driver's
    # polls read it from the database once; 0: read the database on every request
    DRIVER_SESSION_CACHE_SECONDS = DRIVER_TOKEN_TTL
    # a running order's bill estimate is reused while its meter, state, coupon choice and the
    # driver's available coupons are unchanged, for at most this long (a coupon's validity
    # window opening or closing by the clock shows after it); 0: off
    LIVE_BILL_CACHE_SECONDS = 300
    # the nearby-stations search answers from an in-memory index this many seconds old at
    # most (connector availability, station data); 0: read the database on every search
    NEARBY_CACHE_SECONDS = 5
    # the drivers' benchmark only (issue 12): mounts GET /api/mp/v1/bench/ceiling, the same
    # surface (middleware, token check) answering a constant body of this many bytes (the
    # size of a live order); never in production (check_settings refuses it)
    BENCH_CEILING = False
    BENCH_CEILING_BYTES = 900
    LOGIN_RATE_LIMIT = 10  # logins per client address per window
    # the console's login: failed attempts per account lock it for the lockout; failed
    # attempts per address are refused for as long (a password-guessing script)
    ADMIN_LOGIN_MAX_FAILURES = 5
    ADMIN_LOGIN_MAX_FAILURES_PER_ADDRESS = 30
    ADMIN_LOCKOUT_SECONDS = 900
    START_RATE_LIMIT = 6  # charge starts per driver per window
    RATE_LIMIT_WINDOW_SECONDS = 60
    # a driver's resets of their own pile password (issue 13) per window of this many seconds
    PASSWORD_RESET_RATE_LIMIT = 5
    PASSWORD_RESET_WINDOW_SECONDS = 3600
    UPLOAD_DIR = ""  # empty: uploads/ under the instance folder
    UPLOAD_MAX_BYTES = 5 * 1024 * 1024  # per certification image
    DEEP_LINK_BASE_URL = "https://charge.example.cn/h5"
    MINIPROGRAM_APPID = ""  # the mini-program official-account menus open
    WECHAT_OA_APP_ID = ""  # the official account whose menu `flask wechat-menu` publishes
    WECHAT_OA_APP_SECRET = ""
    # WeChat Pay (issue 5): gateway (the fake in tests), where WeChat sends notifies
    WECHAT_PAY_BASE = "https://api.mch.weixin.qq.com"
    PAY_NOTIFY_BASE_URL = "https://charge.example.cn"  # public origin of /api/mp/v1/pay/...
    TOPUP_MIN_FEN = 100
    TOPUP_MAX_FEN = 500_000
    TOPUP_EXPIRE_MINUTES = 30  # an unpaid top-up closes after this long
    TOPUP_RECONCILE_AFTER_MINUTES = 5  # no notify after this long: ask WeChat
    REFUND_RECONCILE_AFTER_MINUTES = 5  # a refund still processing: ask WeChat again
    # subscribe-message templates per outbox kind, used where the operator set none of its
    # own (console 运营商 → 订阅消息模板); empty in both: that kind is not sent
    SUBSCRIBE_TEMPLATE_CHARGE_STARTED = ""
    SUBSCRIBE_TEMPLATE_CHARGE_FINISHED = ""
    SUBSCRIBE_TEMPLATE_OCCUPANCY_REMINDER = ""
    SUBSCRIBE_TEMPLATE_COUPON_EXPIRING = ""
    SUBSCRIBE_TEMPLATE_REFUND_RESULT = ""
    NOTIFY_MAX_ATTEMPTS = 5
    NOTIFY_BACKOFF_SECONDS = 60  # doubled after each failed attempt, at most an hour

    # Flask / flask-smorest settings derived in load_config
    API_TITLE = "EV charging operator platform"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    JSON_AS_ASCII = False
    # /metrics answers the loopback and private networks, or this bearer token when set
    METRICS_TOKEN = ""
    # interconnection (T/CEC 102): our own 9-character OperatorID (组织机构代码)
    HLHT_OPERATOR_ID = "MA5EVOP01"
    # pushes to partners (T/CEC 102.3): notification_equip_charge_status while charging,
    # every this many seconds; a push is retried about a minute apart, more than 3 times
    HLHT_CHARGE_STATUS_SECONDS = 50
    HLHT_PUSH_RETRY_SECONDS = 60
    HLHT_PUSH_MAX_ATTEMPTS = 5
    HLHT_HTTP_TIMEOUT_SECONDS = 10
    # we are the customer: a stopped roaming order without its order info this long is estimated
    HLHT_ORDER_INFO_TIMEOUT_SECONDS = 1800
    # pile credentials (issue 15 #1): "auto" is on in production, off elsewhere. On, an
    # OCPP pile connects only with its password and a YKC pile only from its station's
    # allowed networks; in demo mode the demo seed's piles stay exempt (DEMO_PILE_CODES)
    PILE_CREDENTIALS_REQUIRED = "auto"
    # request bodies: JSON is small (a 100 MiB POST to a login route grew the process by
    # ~205 MB, case #20); the certification upload raises its own limit per request
    MAX_CONTENT_LENGTH = 256 * 1024


def _coerce(current: Any, raw: str) -> Any:
    if isinstance(current, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(raw)
    return raw


# the piles the demo seed registers: free for real or third-party piles to connect as
# without credentials, in demo mode only (README)
DEMO_PILE_CODES = frozenset({"DEMO-OCPP-01", "55031412782305"})


def _credentials_required(values: Mapping[str, Any]) -> bool:
    raw = values["PILE_CREDENTIALS_REQUIRED"]
    if isinstance(raw, bool):
        return raw
    if str(raw).strip().lower() == "auto":
        return str(values["ENV"]).lower() == "production"
    return str(raw).strip().lower() in {"1", "true", "yes", "on"}


def env_setting(name: str) -> Any:
    """One setting as a process without an application reads it (the pile simulator):
    its default, or its ``EVOP_*`` environment variable, as :func:`load_config` reads it."""
    default = getattr(Config, name)
    raw = os.environ.get(ENV_PREFIX + name)
    return default if raw is None else _coerce(default, raw)


def load_config(instance_path: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then ``EVOP_*`` environment variables, then explicit overrides."""
    values = {k: getattr(Config, k) for k in dir(Config) if k.isupper()}
    for key, default in list(values.items()):
        raw = os.environ.get(ENV_PREFIX + key)
        if raw is not None:
            values[key] = _coerce(default, raw)
    if overrides:
        values.update(overrides)
    if not values["DATABASE_URL"]:
        values["DATABASE_URL"] = "sqlite:///" + str(Path(instance_path) / "evop.sqlite3")
    values["PILE_CREDENTIALS_REQUIRED"] = _credentials_required(values)
    values["SQLALCHEMY_DATABASE_URI"] = normalise_db_url(values["DATABASE_URL"])
    values["SQLALCHEMY_ECHO"] = values["SQL_ECHO"]
    values.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS",
        engine_options(values["SQLALCHEMY_DATABASE_URI"], int(values["DB_POOL_SIZE"])),
    )
    # Flask-Limiter's storage, named explicitly (never its warning-raising default)
    values.setdefault("RATELIMIT_STORAGE_URI", rate_limit_storage_uri(values["REDIS_URL"]))
    return values


def rate_limit_storage_uri(redis_url: str) -> str:
    """The rate limits' storage: this process's memory, or the Redis every worker shares."""
    if not redis_url:
        return "memory://"
    if redis_url.startswith("unix://"):  # redis-py's spelling of a socket; limits' is:
        return "redis+unix://" + redis_url[len("unix://") :]
    return redis_url


def normalise_db_url(url: str) -> str:
    # psycopg 3 is the driver: accept the usual postgres:// spellings
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def engine_options(url: str, pool_size: int) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"check_same_thread": False}}
    # liveness: app/db_pool.py pings connections that have sat idle, not every checkout;
    # no overflow: a connection opened for a burst is kept for the next one
    return {"pool_size": max(1, pool_size), "max_overflow": 0}


def check_settings(config: Mapping[str, Any]) -> list[str]:
    """What production still lacks, in words an operator can act on."""
    problems: list[str] = []
    if config.get("SECRET_KEY") in ("", DEV_SECRET_KEY) or len(config.get("SECRET_KEY", "")) < 32:
        problems.append("EVOP_SECRET_KEY: set a random secret of at least 32 characters")
    url = config.get("SQLALCHEMY_DATABASE_URI", "")
    if not url.startswith("postgresql"):
        problems.append("EVOP_DATABASE_URL: production runs on PostgreSQL (postgresql://...)")
    if not config.get("REDIS_URL"):
        problems.append("EVOP_REDIS_URL: needed to route pile commands across processes")
    if not config.get("PILE_CREDENTIALS_REQUIRED"):
        problems.append(
            "EVOP_PILE_CREDENTIALS_REQUIRED: must be on in production (any pile code "
            "connects without a password otherwise)"
        )
    if config.get("DEMO_MODE"):
        problems.append("EVOP_DEMO_MODE: must be off in production (demo logins are public)")
    if config.get("WECHAT_SANDBOX"):
        problems.append(
            "EVOP_WECHAT_SANDBOX: must be off in production (the WeChat sandbox pays without "
            "money and logs anyone in as any driver)"
        )
    if config.get("BENCH_CEILING"):
        problems.append("EVOP_BENCH_CEILING: must be off in production (a benchmark's route)")
    if config.get("DEMO_PILES"):
        problems.append("EVOP_DEMO_PILES: must be off in production (simulated piles)")
    if config.get("HLHT_SANDBOX"):
        problems.append(
            "EVOP_HLHT_SANDBOX: must be off in production (a simulated partner platform)"
        )
    if not 0 <= int(config.get("NEARBY_CACHE_SECONDS", 0)) <= 60:
        problems.append(
            "EVOP_NEARBY_CACHE_SECONDS: between 0 and 60 seconds (how stale free connectors "
            "in the nearby search may be)"
        )
    if "example" in config.get("QR_BASE_URL", ""):
        problems.append("EVOP_QR_BASE_URL: set the public URL printed in the piles' QR codes")
    return problems


class RefusedToStart(RuntimeError):
    """Production mode with settings or data that are not safe to serve with."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "生产模式拒绝启动 (EVOP_ENV=production refuses to start):\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
        self.problems = problems


def is_production(config: Mapping[str, Any]) -> bool:
    return str(config.get("ENV", "")).lower() == "production"


def setting(name: str) -> Any:
    """The current application's setting ``name``; every setting has its default in
    :class:`Config`, so services never repeat one."""
    return current_app.config[name]


def instance_path() -> str:
    """The current application's instance folder (the embedded database, uploads)."""
    path: str = current_app.instance_path
    return path
