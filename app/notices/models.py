"""The notification outbox and the record of every delivery attempt: messages for drivers,
written in the same transaction as what they tell of."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, UTCDateTime, utcnow

# never one for a pile that merely went offline (case #18 2019-01-09)
NOTIFICATION_KINDS = (
    "charge_started",
    "charge_finished",
    "occupancy_reminder",
    "coupon_expiring",
    "refund_result",
)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # to be delivered (again, after a retryable failure)
    SENT = "sent"
    FAILED = "failed"  # given up: not retryable, no template, or too many attempts


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), index=True)
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("drivers.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("charge_orders.id"), index=True)
    # one message per event: "charge_finished:123", "coupon_expiring:7:2019-11-12", ...
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # why it was not sent (yet): "TEMPLATE_NOT_CONFIGURED: 未配置「充电开始」订阅消息模板，不发送"
    last_error: Mapped[str] = mapped_column(String(300), default="", server_default="")


class NotificationAttempt(Base):
    """One try at delivering an outbox message as a WeChat subscribe message."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column(default=False)
    template_id: Mapped[str] = mapped_column(String(64), default="")
    errcode: Mapped[int | None] = mapped_column()
    error: Mapped[str] = mapped_column(String(300), default="")
    msgid: Mapped[str] = mapped_column(String(32), default="")
