"""The scheduler: jobs declared as data with stable ids, run by APScheduler 3.x, one
process per job at a time.

Several processes may start the scheduler (``make run``, ``flask scheduler`` on two
hosts): before each run a process takes the job's lease — a row in ``job_leases`` with an
expiry (SQLite and PostgreSQL alike), or a Redis key when ``REDIS_URL`` is set. The holder
renews it on every run; when the holder dies the lease expires and another process takes
the job over. Every job is idempotent, so a run cut short by a crash is simply redone.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from flask import Flask
from sqlalchemy import case, or_, update
from sqlalchemy.exc import IntegrityError

from app.billing import arrears, balance_guard, lost_bills, occupancy_charges
from app.charging import notices, watchdogs
from app.db import utcnow
from app.extensions import db
from app.hlht import customer as hlht_customer
from app.hlht import outbox as hlht_outbox
from app.jobs.models import JobLease
from app.notices import delivery
from app.payments import merchants, refunds, statements, topups
from app.promotions import coupons
from app.uow import discard, transactional, unit_of_work

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    id: str  # stable: it names the lease and the APScheduler job
    func: Callable[[], object]  # a service, called with no arguments (its defaults)
    interval: int  # seconds
    description: str = ""

    @property
    def lease_ttl(self) -> timedelta:
        # long enough to survive one slow run, short enough to fail over quickly
        return timedelta(seconds=max(3 * self.interval, 60))


JOBS: list[Job] = [
    Job("occupancy-fees", occupancy_charges.accrue_occupancy, interval=60,
        description="占位费：结束已离开的占位并扣费，发送占位提醒"),
    Job("lost-bills", lost_bills.settle_lost_bills, interval=60,
        description="丢单：超时未收到交易记录的订单按最后电表读数预估结算"),
    Job("coupon-expiry", coupons.expire_coupons, interval=300, description="优惠券过期"),
    Job("coupon-reminders", coupons.remind_expiring, interval=3600,
        description="优惠券即将过期提醒"),
    Job("offline-detection", watchdogs.detect_offline_piles, interval=60,
        description="心跳超时的充电桩标记为离线"),
    Job("starting-timeout", watchdogs.fail_stuck_starts, interval=30,
        description="启动超时的订单标记为失败"),
    Job("balance-guard", balance_guard.guard_balances, interval=30,
        description="充电费用达到余额时停止充电"),
    Job("arrears", arrears.collect_all_arrears, interval=300, description="补扣欠款"),
    Job("charge-started-notices", notices.emit_charge_started, interval=30,
        description="开始充电通知"),
    Job("topup-reconcile", topups.reconcile_pending, interval=60,
        description="充值对账：久未收到支付通知的订单向微信查询并入账或关闭"),
    Job("refund-reconcile", refunds.reconcile_processing, interval=120,
        description="退款对账：处理中的退款重发或向微信查询结果"),
    Job("deliver-notifications", delivery.deliver_pending, interval=30,
        description="发送订阅消息（失败重试，记录每次尝试）"),
    Job("platform-certificates", merchants.renew_platform_certificates, interval=6 * 3600,
        description="微信支付平台证书：缺失或 30 天内到期的重新下载"),
    Job("hlht-pushes", hlht_outbox.run, interval=10,
        description="互联互通：向合作平台推送启动结果、充电状态、停止结果、订单和设备状态"
                    "（失败约每分钟重试，记录每次尝试）"),
    Job("hlht-check-orders", hlht_outbox.check_orders_daily, interval=3600,
        description="互联互通：每日向合作平台推送前一天的订单对账（check_charge_orders）"),
    Job("hlht-sync", hlht_customer.sync_all, interval=3600,
        description="互联互通：拉取合作平台的充电站、设备状态和业务策略（本平台司机可用）"),
    Job("hlht-estimate", hlht_customer.estimate_lost_orders, interval=300,
        description="互联互通：合作方久未推送订单信息的本平台司机订单按策略和最后状态预估结算"),
    Job("statement-reconcile", statements.reconcile_yesterday, interval=1800,
        description="微信支付对账：北京时间 10:00 后下载昨日交易账单，逐笔核对充值和退款"
                    "（账单未生成或失败的稍后重试）"),
]  # fmt: skip


# --------------------------------------------------------------------------- leases


class Leases(Protocol):
    def acquire(self, job_id: str, holder: str, ttl: timedelta) -> bool: ...

    def release(self, job_id: str, holder: str) -> None: ...

    def record(self, job_id: str, holder: str, *, ok: bool, error: str = "") -> None: ...


class DbLeases:
    """Leases in the ``job_leases`` table. Taking one is a single conditional UPDATE (the
    row lock makes it atomic on PostgreSQL; SQLite serialises writers), or an INSERT that
    the primary key lets only one process win. Call inside an application context."""

    def acquire(self, job_id: str, holder: str, ttl: timedelta) -> bool:
        now = utcnow()
        try:
            with unit_of_work():
                result = db.session.execute(
                    update(JobLease)
                    .where(
                        JobLease.job_id == job_id,
                        or_(JobLease.holder == holder, JobLease.expires_at < now),
                    )
                    .values(
                        acquired_at=case(
                            (JobLease.holder == holder, JobLease.acquired_at), else_=now
                        ),
                        holder=holder,
                        expires_at=now + ttl,
                        last_run_at=now,
                    )
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    return True
                if db.session.get(JobLease, job_id) is not None:
                    return False  # somebody else holds it
                db.session.add(
                    JobLease(job_id=job_id, holder=holder, expires_at=now + ttl, acquired_at=now,
                             last_run_at=now)
                )  # fmt: skip
                return True
        except IntegrityError:
            return False  # another process inserted it first

    @transactional
    def release(self, job_id: str, holder: str) -> None:
        db.session.execute(
            update(JobLease)
            .where(JobLease.job_id == job_id, JobLease.holder == holder)
            .values(expires_at=utcnow())
            .execution_options(synchronize_session=False)
        )

    @transactional
    def record(self, job_id: str, holder: str, *, ok: bool, error: str = "") -> None:
        values: dict[str, Any] = {"last_error": error[:500]}
        if ok:
            values["last_ok_at"] = utcnow()
        db.session.execute(
            update(JobLease)
            .where(JobLease.job_id == job_id, JobLease.holder == holder)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class RedisLeases:
    """Leases as Redis keys (``SET NX PX``; renew and release only by the holder)."""

    def __init__(self, url: str, prefix: str = "evop:job-lease:") -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.prefix = prefix

    def acquire(self, job_id: str, holder: str, ttl: timedelta) -> bool:
        key, ms = self.prefix + job_id, int(ttl.total_seconds() * 1000)
        if self.client.set(key, holder, nx=True, px=ms):
            return True
        return bool(self.client.eval(_RENEW, 1, key, holder, ms))

    def release(self, job_id: str, holder: str) -> None:
        self.client.eval(_RELEASE, 1, self.prefix + job_id, holder)

    def record(self, job_id: str, holder: str, *, ok: bool, error: str = "") -> None:
        return None


def leases_for(app: Flask) -> Leases:
    url = app.config.get("REDIS_URL") or ""
    return RedisLeases(url) if url else DbLeases()


def new_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------------------- running


def run_job(app: Flask, job: Job, holder: str, leases: Leases) -> bool:
    """Run ``job`` once if this process holds (or can take) its lease. False when another
    process holds it. Errors are logged, never raised into the scheduler."""
    with app.app_context():
        try:
            if not leases.acquire(job.id, holder, job.lease_ttl):
                return False
        except Exception:
            discard()
            log.exception("job lease failed", extra={"job": job.id})
            return False
        started = time.monotonic()
        try:
            result = job.func()  # each job's service declares its units of work
            _left_behind(job)
        except Exception as exc:
            discard()
            log.exception("job failed", extra={"job": job.id})
            _record(leases, job, holder, ok=False, error=f"{type(exc).__name__}: {exc}")
            return True
        finally:
            elapsed = time.monotonic() - started
        # a run that did nothing is DEBUG: every minute of INFO buried the start-up banner
        log.log(
            logging.INFO if did_something(result) else logging.DEBUG,
            "job done",
            extra={"job": job.id, "seconds": round(elapsed, 3), "result": _summary(result)},
        )
        _record(leases, job, holder, ok=True)
        return True


def _left_behind(job: Job) -> None:
    """A job's writes belong in its units of work: anything still pending is a bug, said
    loudly and discarded (never committed by accident with the next job)."""
    session = db.session()
    pending = bool(session.new or session.dirty or session.deleted)
    discard()
    if pending:
        log.error("job left changes outside its units of work: discarded", extra={"job": job.id})


def _record(leases: Leases, job: Job, holder: str, *, ok: bool, error: str = "") -> None:
    try:
        leases.record(job.id, holder, ok=ok, error=error)
    except Exception:
        discard()
        log.exception("job bookkeeping failed", extra={"job": job.id})


def did_something(result: object) -> bool:
    """Whether a job's result says it changed anything: a non-empty list, a count above
    zero, a result object whose ``did_something`` says so (or with any count above zero)."""
    flag = getattr(result, "did_something", None)
    if isinstance(flag, bool):
        return flag
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return any(
            isinstance(v, int | list | tuple | dict) and bool(v)
            for v in dataclasses.asdict(result).values()
        )
    if isinstance(result, bool):
        return result
    return bool(result)


def _summary(result: object) -> object:
    if isinstance(result, list | tuple | set):
        return len(result)
    if isinstance(result, int | str | float) or result is None:
        return result
    return str(result)[:200]


def _scheduler_class() -> type[BaseScheduler]:
    try:
        from gevent import monkey

        if monkey.is_module_patched("threading"):
            from apscheduler.schedulers.gevent import GeventScheduler

            return GeventScheduler
    except ImportError:  # pragma: no cover - gevent is a dependency
        pass
    return BackgroundScheduler


def build_scheduler(
    app: Flask, *, jobs: list[Job] | None = None, leases: Leases | None = None
) -> BaseScheduler:
    """A scheduler with every job added, not started."""
    holder = new_holder()
    store = leases if leases is not None else leases_for(app)
    scheduler = _scheduler_class()(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
    )
    first = datetime.now(UTC) + timedelta(seconds=5)
    for job in JOBS if jobs is None else jobs:
        scheduler.add_job(
            run_job, "interval", seconds=job.interval, id=job.id, name=job.description or job.id,
            args=(app, job, holder, store), next_run_time=first, replace_existing=True,
        )  # fmt: skip
    scheduler.evop_holder = holder  # type: ignore[attr-defined]
    scheduler.evop_leases = store  # type: ignore[attr-defined]
    return scheduler


def start_scheduler(app: Flask, *, force: bool = False) -> BaseScheduler:
    """Build and start the scheduler (unless ``SCHEDULER_ENABLED`` is off and not
    ``force``); the lead's ``make run`` calls this. Returns the scheduler."""
    scheduler = build_scheduler(app)
    app.extensions["evop_scheduler"] = scheduler
    if force or app.config.get("SCHEDULER_ENABLED", True):
        scheduler.start()
        log.info(
            "scheduler started",
            extra={"holder": scheduler.evop_holder, "jobs": [j.id for j in JOBS]},  # type: ignore[attr-defined]
        )
    else:
        log.info("scheduler disabled (SCHEDULER_ENABLED is off)")
    return scheduler


def stop_scheduler(app: Flask, scheduler: BaseScheduler) -> None:
    """Stop running jobs and hand the leases over at once."""
    if scheduler.running:
        scheduler.shutdown(wait=True)
    holder = getattr(scheduler, "evop_holder", None)
    leases = getattr(scheduler, "evop_leases", None)
    if holder is None or leases is None:
        return
    with app.app_context():
        for job in JOBS:
            try:
                leases.release(job.id, holder)
            except Exception:
                discard()
                log.exception("lease release failed", extra={"job": job.id})


def run_all_once(app: Flask, *, jobs: list[Job] | None = None) -> dict[str, bool]:
    """Run every job once in this process (with leases): ``flask scheduler --once``."""
    holder, leases = new_holder(), leases_for(app)
    out = {job.id: run_job(app, job, holder, leases) for job in (JOBS if jobs is None else jobs)}
    with app.app_context():
        for job in JOBS if jobs is None else jobs:
            leases.release(job.id, holder)
    return out
