"""WeChat Pay: wallet top-ups, refunds of the balance (split per top-up), and the platform keys
that verify what WeChat Pay signs."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, BigId, Fen, UTCDateTime, utcnow
from app.money import fen_to_yuan_str


class TopUpState(enum.StrEnum):
    CREATED = "created"  # waiting for the driver to pay
    PAID = "paid"  # credited to the wallet
    CLOSED = "closed"  # never paid, closed after TOPUP_EXPIRE_MINUTES


class RefundState(enum.StrEnum):
    """pending_review → approved → processing → succeeded / failed; or rejected."""

    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    PROCESSING = "processing"  # sent to WeChat Pay, waiting for its answer
    SUCCEEDED = "succeeded"  # every part paid back
    FAILED = "failed"  # a part failed (its money went back to the wallet)
    REJECTED = "rejected"


REFUND_OPEN_STATES = (RefundState.PENDING_REVIEW, RefundState.APPROVED, RefundState.PROCESSING)


# a part: waiting for review, sent (or to be sent) to WeChat, and its end
class RefundPartState(enum.StrEnum):
    PENDING = "pending"  # waiting for the review
    PROCESSING = "processing"  # sent (or to be sent again) to WeChat Pay
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"


WECHAT_KEY_KINDS = ("certificate", "public_key")


class WeChatPayKey(Base):
    """A key WeChat Pay signs answers and notifies with, for one operator's merchant: a
    platform certificate (by serial) or the WeChat Pay public key (``PUB_KEY_ID_...``)."""

    __tablename__ = "wechat_pay_keys"
    __table_args__ = (UniqueConstraint("operator_id", "serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # certificate | public_key
    serial: Mapped[str] = mapped_column(String(64))
    pem: Mapped[str] = mapped_column(Text)
    # a platform certificate's end of validity (the refresh job renews it well before)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TopUpPayment(Base):
    """One JSAPI payment into a driver's wallet, taken by ``operator_id``'s merchant."""

    __tablename__ = "topup_payments"
    __table_args__ = (Index("ix_topup_payments_state_created", "state", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id"), index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    mch_id: Mapped[str] = mapped_column(String(32))
    app_id: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(Fen)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("topup_offers.id"))
    state: Mapped[str] = mapped_column(String(16), default=TopUpState.CREATED)
    prepay_id: Mapped[str] = mapped_column(String(64), default="")
    transaction_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refunded_fen: Mapped[int] = mapped_column(Fen, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RefundRequest(Base):
    """A driver's request to have (part of) the balance paid back to WeChat."""

    __tablename__ = "refund_requests"
    __table_args__ = (Index("ix_refund_requests_operator_state", "operator_id", "state"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id"), index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    amount_fen: Mapped[int] = mapped_column(Fen)
    reason: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(16), default=RefundState.PENDING_REVIEW)
    reject_reason: Mapped[str] = mapped_column(String(200), default="")
    fail_reason: Mapped[str] = mapped_column(String(500), default="")
    succeeded_fen: Mapped[int] = mapped_column(Fen, default=0)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parts: Mapped[list[RefundPart]] = relationship(
        back_populates="request", lazy="selectin", order_by="RefundPart.id"
    )


class RefundPart(Base):
    """The share of a refund request paid back through one top-up (one WeChat refund)."""

    __tablename__ = "refund_parts"
    __table_args__ = (Index("ix_refund_parts_state", "state"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("refund_requests.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("topup_payments.id"), index=True)
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    amount_fen: Mapped[int] = mapped_column(Fen)  # the wallet's share of the request
    # the value of the top-up's coupons already spent, kept back (case #4 2019-10-15):
    # WeChat refunds amount_fen - coupon_deduction_fen
    coupon_deduction_fen: Mapped[int] = mapped_column(Fen, default=0)
    state: Mapped[str] = mapped_column(String(16), default=RefundPartState.PENDING)
    wechat_refund_id: Mapped[str | None] = mapped_column(String(64))
    wechat_status: Mapped[str] = mapped_column(String(16), default="")
    fail_reason: Mapped[str] = mapped_column(String(500), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    request: Mapped[RefundRequest] = relationship(back_populates="parts")
    payment: Mapped[TopUpPayment] = relationship(lazy="joined")

    @property
    def refund_fen(self) -> int:
        """What goes back through WeChat Pay."""
        return max(self.amount_fen - self.coupon_deduction_fen, 0)

    @property
    def coupon_deduction_note(self) -> str:
        """Why less goes back than the wallet gives up, for the reviewer and the driver
        (case #4 2019-10-15); empty when nothing is kept back."""
        if self.coupon_deduction_fen <= 0:
            return ""
        return (
            f"该笔充值赠送的优惠券已使用 {fen_to_yuan_str(self.coupon_deduction_fen)} 元，"
            f"从退款 {fen_to_yuan_str(self.amount_fen)} 元中扣除，"
            f"原路退回 {fen_to_yuan_str(self.refund_fen)} 元"
        )


class StatementRunState(enum.StrEnum):
    OK = "ok"  # every line of WeChat's trade bill matches ours and the other way round
    MISMATCH = "mismatch"  # see its mismatches
    NOT_READY = "not_ready"  # WeChat has no bill for that day (yet): NO_STATEMENT_EXIST
    FAILED = "failed"  # WeChat unreachable, refused, or the file failed its hash / format


class MismatchKind(enum.StrEnum):
    MISSING_OURS = "missing_ours"  # on WeChat's bill, not in our records of the day
    MISSING_WECHAT = "missing_wechat"  # in our records of the day, not on WeChat's bill
    AMOUNT_DIFFERS = "amount_differs"
    STATE_DIFFERS = "state_differs"
    # the fund-flow bill (资金账单): its income lines against our paid payments, its
    # expense lines against our refunds paid back
    FUND_MISSING_OURS = "fund_no_ours"  # money moved at WeChat, no such record of ours
    FUND_MISSING_WECHAT = "fund_no_wechat"  # ours of the day, no movement on the bill
    FUND_AMOUNT_DIFFERS = "fund_amount"
    FUND_STATE_DIFFERS = "fund_state"  # ours exists, but not paid / paid back that day


class StatementRun(Base):
    """One reconciliation of an operator's WeChat Pay trade bill of a China-local day; a
    re-run replaces its result (same row, mismatches replaced)."""

    __tablename__ = "statement_runs"
    __table_args__ = (
        UniqueConstraint("operator_id", "bill_date", name="uq_statement_runs_operator_date"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    bill_date: Mapped[date] = mapped_column(Date)  # the bill's day, China time
    mch_id: Mapped[str] = mapped_column(String(32), default="")
    state: Mapped[str] = mapped_column(String(16))
    wechat_lines: Mapped[int] = mapped_column(default=0)
    our_lines: Mapped[int] = mapped_column(default=0)
    matched_lines: Mapped[int] = mapped_column(default=0)
    mismatch_count: Mapped[int] = mapped_column(default=0)
    # paid in minus refunded out, both sides (fen)
    our_total_fen: Mapped[int] = mapped_column(Fen, default=0)
    wechat_total_fen: Mapped[int] = mapped_column(Fen, default=0)
    error_code: Mapped[str] = mapped_column(String(64), default="")
    error_message: Mapped[str] = mapped_column(String(500), default="")
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id"))
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    mismatches: Mapped[list[StatementMismatch]] = relationship(
        back_populates="run",
        cascade="all, delete-orphan",
        order_by="StatementMismatch.id",
        lazy="selectin",
    )


class StatementMismatch(Base):
    """A line that does not match: missing on one side, or amount / state differ."""

    __tablename__ = "statement_mismatches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("statement_runs.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    out_trade_no: Mapped[str] = mapped_column(String(64), default="")
    out_refund_no: Mapped[str] = mapped_column(String(64), default="")
    our_fen: Mapped[int | None] = mapped_column(Fen)
    wechat_fen: Mapped[int | None] = mapped_column(Fen)
    note: Mapped[str] = mapped_column(String(200), default="")

    run: Mapped[StatementRun] = relationship(back_populates="mismatches")
