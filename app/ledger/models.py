"""Wallets and the wallet ledger: a balance changes only through an entry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, Fen, UTCDateTime, utcnow


class Wallet(Base):
    __tablename__ = "wallets"
    __table_args__ = (CheckConstraint("balance_fen >= 0", name="balance_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id"), unique=True)
    balance_fen: Mapped[int] = mapped_column(Fen, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WalletEntry(Base):
    """The ledger: the only way a balance changes (DESIGN.md, data rules)."""

    __tablename__ = "wallet_entries"
    __table_args__ = (Index("ix_wallet_entries_wallet_at", "wallet_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("wallets.id"))
    amount_fen: Mapped[int] = mapped_column(Fen)  # signed: credit > 0, debit < 0
    balance_after_fen: Mapped[int] = mapped_column(Fen)
    # topup | charge | refund | manual_credit | manual_debit | correction | ...
    reason: Mapped[str] = mapped_column(String(32))
    ref_type: Mapped[str] = mapped_column(String(32), default="")  # order | payment | refund
    ref_id: Mapped[str] = mapped_column(String(64), default="")
    # applied at most once per key (payment notify id, order settlement, ...)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    actor_type: Mapped[str] = mapped_column(String(16), default="system")  # system|admin|driver
    actor_id: Mapped[int | None] = mapped_column()
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
