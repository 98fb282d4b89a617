"""The scheduler: jobs declared as data with stable ids, one holder per job (leases), every
job runnable and idempotent on an ordinary database."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from app.db import utcnow
from app.extensions import db
from app.jobs import scheduler as sched
from app.jobs.models import JobLease
from tests.support.money import World, recent

STABLE_IDS = {
    "occupancy-fees", "lost-bills", "coupon-expiry", "coupon-reminders", "offline-detection",
    "starting-timeout", "balance-guard", "arrears", "charge-started-notices", "topup-reconcile",
    "refund-reconcile", "deliver-notifications", "platform-certificates", "hlht-pushes",
    "hlht-check-orders", "hlht-sync", "hlht-estimate", "statement-reconcile",
}  # fmt: skip


def test_jobs_are_data_with_stable_unique_ids() -> None:
    ids = [job.id for job in sched.JOBS]
    assert len(ids) == len(set(ids)) and set(ids) == STABLE_IDS
    assert all(job.interval > 0 and callable(job.func) for job in sched.JOBS)
    assert all(job.lease_ttl >= timedelta(seconds=job.interval) for job in sched.JOBS)


def test_a_lease_has_one_holder_until_it_expires(app: Flask) -> None:
    leases = sched.DbLeases()
    ttl = timedelta(minutes=5)
    assert leases.acquire("lost-bills", "host-a", ttl)
    assert not leases.acquire("lost-bills", "host-b", ttl)
    assert leases.acquire("lost-bills", "host-a", ttl)  # renewal
    db.session.execute(
        update(JobLease)
        .where(JobLease.job_id == "lost-bills")
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert leases.acquire("lost-bills", "host-b", ttl)  # host-a died: host-b takes over
    assert not leases.acquire("lost-bills", "host-a", ttl)
    leases.release("lost-bills", "host-b")
    assert leases.acquire("lost-bills", "host-a", ttl)


def test_run_job_runs_only_for_the_holder_and_records_failures(app: Flask) -> None:
    calls: list[str] = []

    def ok() -> list[str]:
        calls.append("ok")
        return calls

    def boom() -> None:
        raise RuntimeError("kaputt")

    leases = sched.DbLeases()
    job = sched.Job("test-job", ok, interval=60)
    assert sched.run_job(app, job, "me", leases)
    assert not sched.run_job(app, job, "other", leases)
    assert calls == ["ok"]
    failing = sched.Job("test-failing", boom, interval=60)
    assert sched.run_job(app, failing, "me", leases)  # errors never reach APScheduler
    row = db.session.scalar(select(JobLease).where(JobLease.job_id == "test-failing"))
    assert row is not None and "kaputt" in row.last_error and row.last_ok_at is None
    ok_row = db.session.get(JobLease, "test-job")
    assert ok_row is not None and ok_row.last_ok_at is not None


def test_every_job_runs_and_reruns_cleanly(app: Flask, world: World) -> None:
    t0 = recent(3)
    world.connect(t0)
    ref = world.start(t0, samples=[(10, 800)])
    world.stop(ref, t0 + timedelta(minutes=20), 1760)
    for _ in range(2):
        result = sched.run_all_once(app)
        assert result == {job.id: True for job in sched.JOBS}
    db.session.expire_all()
    assert db.session.scalar(select(JobLease.last_error).where(JobLease.last_error != "")) is None


def test_flask_scheduler_once_command(app: Flask, world: Any) -> None:
    result = app.test_cli_runner().invoke(args=["scheduler", "--once"])
    assert result.exit_code == 0, result.output
    assert "lost-bills: ran" in result.output


def test_start_scheduler_respects_the_setting(app: Flask, monkeypatch: Any) -> None:
    monkeypatch.setitem(app.config, "SCHEDULER_ENABLED", False)
    scheduler = sched.start_scheduler(app)
    assert not scheduler.running
    assert {j.id for j in scheduler.get_jobs()} == STABLE_IDS
    started = sched.start_scheduler(app, force=True)
    try:
        assert started.running
    finally:
        sched.stop_scheduler(app, started)
    assert not started.running


def test_a_job_run_that_did_nothing_logs_at_debug(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    # issue 14: every minute's INFO lines buried the start-up banner
    from app.billing.occupancy_charges import AccrualResult

    leases = sched.DbLeases()
    results: dict[str, object] = {
        "test-nothing-list": [], "test-nothing-count": 0, "test-nothing-none": None,
        "test-nothing-accrual": AccrualResult(open_sessions=3, closed=0, reminders=0),
        "test-did-list": ["O1"], "test-did-count": 2,
        "test-did-accrual": AccrualResult(open_sessions=3, closed=1, reminders=0),
    }  # fmt: skip
    caplog.set_level(logging.DEBUG, logger="app.jobs.scheduler")
    for job_id, result in results.items():
        assert sched.run_job(app, sched.Job(job_id, lambda r=result: r, interval=60), "me", leases)
    levels = {
        r.job: r.levelno
        for r in caplog.records
        if r.getMessage() == "job done"  # type: ignore[attr-defined]
    }
    assert {k for k, v in levels.items() if v == logging.DEBUG} == {
        k for k in results if k.startswith("test-nothing")
    }
    assert {k for k, v in levels.items() if v == logging.INFO} == {
        k for k in results if k.startswith("test-did")
    }
