"""The money and session jobs: thin wrappers; the rules live in the services. Each runs
inside an application context, commits its own work and is safe to re-run after a crash."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from app.billing import (
    arrears,
    balance_guard,
    lost_bills,
    occupancy_charges,
)
from app.charging import notices, watchdogs
from app.db import utcnow
from app.promotions import coupons


def accrue_occupancy() -> object:
    return occupancy_charges.accrue_occupancy()


def settle_lost_bills() -> object:
    return lost_bills.settle_lost_bills()


def expire_coupons() -> object:
    return coupons.expire_coupons()


def remind_expiring_coupons() -> object:
    days = int(current_app.config.get("COUPON_EXPIRY_REMINDER_DAYS", 3))
    return coupons.remind_expiring(days=days)


def detect_offline_piles() -> object:
    return watchdogs.detect_offline_piles()


def fail_stuck_starts() -> object:
    return watchdogs.fail_stuck_starts()


def guard_balances() -> object:
    return balance_guard.guard_balances()


def collect_arrears() -> object:
    return arrears.collect_all_arrears()


def notify_charge_started() -> object:
    return notices.emit_charge_started(utcnow() - timedelta(hours=1))
