"""The money and session jobs: thin wrappers; the rules live in the services. Each runs
inside an application context, commits its own work and is safe to re-run after a crash."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from app.models.base import utcnow
from app.services import (
    abnormal_orders,
    coupons,
    lost_bills,
    notifications,
    occupancy,
    settlement,
)


def accrue_occupancy() -> object:
    return occupancy.accrue_occupancy()


def settle_lost_bills() -> object:
    return lost_bills.settle_lost_bills()


def expire_coupons() -> object:
    return coupons.expire_coupons()


def remind_expiring_coupons() -> object:
    days = int(current_app.config.get("COUPON_EXPIRY_REMINDER_DAYS", 3))
    return coupons.remind_expiring(days=days)


def detect_offline_piles() -> object:
    return abnormal_orders.detect_offline_piles()


def fail_stuck_starts() -> object:
    return abnormal_orders.fail_stuck_starts()


def guard_balances() -> object:
    return settlement.guard_balances()


def collect_arrears() -> object:
    return settlement.collect_all_arrears()


def notify_charge_started() -> object:
    return notifications.emit_charge_started(utcnow() - timedelta(hours=1))
