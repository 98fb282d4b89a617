"""Interconnection partners (T/CEC 102): who they are, the secrets each direction uses,
and the tokens we issued them."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, Fen, UTCDateTime, utcnow
from app.promotions.models import PayRate


class Partner(Base):
    """A partner platform. *Inbound* keys check and answer what it sends us; *outbound*
    keys are what we encrypt and sign our calls to it with (the same by default). Every
    secret is write-only through every API."""

    __tablename__ = "hlht_partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[str] = mapped_column(String(9), unique=True)  # 组织机构代码
    name: Mapped[str] = mapped_column(String(100))
    base_url: Mapped[str] = mapped_column(String(300), default="")
    # "cpo": it owns piles we call; "emsp": it calls ours for its drivers; or both
    roles: Mapped[str] = mapped_column(String(32), default="emsp,cpo")
    operator_secret: Mapped[str] = mapped_column(String(64))  # what it presents to us
    our_operator_secret: Mapped[str] = mapped_column(String(64))  # what we present to it
    in_data_secret: Mapped[str] = mapped_column(String(16))
    in_data_iv: Mapped[str] = mapped_column(String(16))
    in_sig_secret: Mapped[str] = mapped_column(String(64))
    out_data_secret: Mapped[str] = mapped_column(String(16))
    out_data_iv: Mapped[str] = mapped_column(String(16))
    out_sig_secret: Mapped[str] = mapped_column(String(64))
    dialect: Mapped[str] = mapped_column(String(16), default="cec2016")  # | xiaoju
    share_all_stations: Mapped[bool] = mapped_column(default=False)
    shared_station_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # the AccessToken it issued us (query_token against it), while it lasts
    out_token: Mapped[str] = mapped_column(String(200), default="")
    out_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # we are its customer: whether our drivers' member discount (their pricing group's
    # operator-wide rate) applies to its prices — the operator's choice, off by default
    grant_member_discount: Mapped[bool] = mapped_column(default=False)

    @property
    def role_set(self) -> set[str]:
        return {r.strip() for r in self.roles.split(",") if r.strip()}


class PartnerToken(Base):
    """An AccessToken we issued (query_token), kept as its SHA-256: at most 7 days."""

    __tablename__ = "hlht_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("hlht_partners.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Told(enum.StrEnum):
    """How far a partner has been told of its order's life (``RoamingOrder.notified_state``)."""

    NOTHING = ""
    START = "start_told"  # notification_start_charge_result: it runs
    FAILURE = "failure_told"  # notification_start_charge_result: it never started
    STOP = "stop_told"  # notification_stop_charge_result


class RoamingOrder(Base):
    """A charge order a partner's platform started on our pile (we are the pile owner),
    known to the partner by its StartChargeSeq (27 characters, its OperatorID first).
    ``notified_*`` say how far the partner has been told (the outbox enqueues the rest)."""

    __tablename__ = "hlht_orders"
    __table_args__ = (
        UniqueConstraint("partner_id", "start_charge_seq", name="uq_hlht_orders_partner_seq"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("hlht_partners.id"), index=True)
    start_charge_seq: Mapped[str] = mapped_column(String(27))
    order_id: Mapped[int] = mapped_column(ForeignKey("charge_orders.id"), unique=True)
    connector_code: Mapped[str] = mapped_column(String(64))  # the ConnectorID it asked
    qr_code: Mapped[str] = mapped_column(String(200), default="")
    notified_state: Mapped[str] = mapped_column(String(16), default=Told.NOTHING)
    # the bill's adjustment count of the last notification_charge_order_info (-1: none)
    notified_adjustment: Mapped[int] = mapped_column(default=-1)
    last_status_push_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirm_result: Mapped[int | None] = mapped_column()  # its ConfirmResult (0 ok, 1 dispute)
    disputed: Mapped[bool] = mapped_column(default=False)
    dispute_reason: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PushState(enum.StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    DELIVERED = "delivered"  # Ret=0 and SuccStat=0 (or Status=0)
    DISCARDED = "discarded"  # notification_stationStatus answered Status=1: no retry
    FAILED = "failed"  # every attempt failed: the operator sees it


class Push(Base):
    """One notification to a partner (the outbox): its interface and Data, kept with
    every attempt and answer (the push log the operator sees)."""

    __tablename__ = "hlht_pushes"
    __table_args__ = (Index("ix_hlht_pushes_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("hlht_partners.id"), index=True)
    interface: Mapped[str] = mapped_column(String(64))
    # what makes two pushes the same (one order's start result, one bill version...)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("charge_orders.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default=PushState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_ret: Mapped[int | None] = mapped_column()
    last_msg: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PushAttempt(Base):
    """One try of a push: the Ret and Msg, the decoded answer Data, or the error."""

    __tablename__ = "hlht_push_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    push_id: Mapped[int] = mapped_column(ForeignKey("hlht_pushes.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ret: Mapped[int | None] = mapped_column()
    msg: Mapped[str] = mapped_column(String(200), default="")
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(String(300), default="")


class ConnectorStatusSeen(Base):
    """The ConnectorStatus a partner was last told (or, first, found) per connector:
    notification_stationStatus goes out when ours differs."""

    __tablename__ = "hlht_connector_status"

    partner_id: Mapped[int] = mapped_column(ForeignKey("hlht_partners.id"), primary_key=True)
    connector_id: Mapped[int] = mapped_column(ForeignKey("connectors.id"), primary_key=True)
    status: Mapped[int] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# ----------------------------------------------------------------- we are the customer


class PartnerStation(Base):
    """A partner's station as its query_stations_info gave it (we are its customer):
    shown to our drivers marked as the partner's."""

    __tablename__ = "hlht_partner_stations"
    __table_args__ = (
        UniqueConstraint("partner_id", "station_code", name="uq_hlht_partner_stations_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("hlht_partners.id"), index=True)
    station_code: Mapped[str] = mapped_column(String(64))  # its StationID
    name: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    longitude: Mapped[str] = mapped_column(String(20), default="0")
    latitude: Mapped[str] = mapped_column(String(20), default="0")
    station_status: Mapped[int] = mapped_column(default=50)  # 50 正常使用
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PartnerConnector(Base):
    """A connector of a partner's station: its ConnectorStatus and its business policy
    (periods with electricity and service price per kWh, yuan as decimal strings)."""

    __tablename__ = "hlht_partner_connectors"
    __table_args__ = (
        UniqueConstraint("partner_id", "connector_code", name="uq_hlht_partner_connectors_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("hlht_partners.id"), index=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("hlht_partner_stations.id"), index=True)
    connector_code: Mapped[str] = mapped_column(String(64))  # its ConnectorID
    equipment_code: Mapped[str] = mapped_column(String(64), default="")
    power_w: Mapped[int] = mapped_column(default=0)
    current_type: Mapped[str] = mapped_column(String(2), default="DC")  # EquipmentType 2: AC
    status: Mapped[int] = mapped_column(default=0)  # 102.2 ConnectorStatus
    # [{"start_minute": 0, "elec": "0.8000", "service": "0.4000"}, ...]
    policy: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    policy_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CustomerState(enum.StrEnum):
    STARTING = "starting"
    CHARGING = "charging"
    STOPPING = "stopping"
    FINISHED = "finished"  # stopped, its order info not come yet
    SETTLED = "settled"  # charged to the wallet (estimated, or the partner's order)
    FAILED = "failed"  # never started


CUSTOMER_RUNNING = (CustomerState.STARTING, CustomerState.CHARGING, CustomerState.STOPPING)


class CustomerOrder(Base):
    """Our driver's charge on a partner's pile (we are the customer platform), known to
    the partner by our StartChargeSeq. Money integer fen, energy integer Wh."""

    __tablename__ = "hlht_customer_orders"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    start_charge_seq: Mapped[str] = mapped_column(String(27), unique=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("hlht_partners.id"), index=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id"), index=True)
    connector_code: Mapped[str] = mapped_column(String(64))
    qr_code: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(16), default=CustomerState.STARTING, index=True)
    fail_reason: Mapped[str] = mapped_column(String(200), default="")
    energy_wh: Mapped[int] = mapped_column(Fen, default=0)
    # what the partner's status said (None: it said nothing or 0 — case #18 2020)
    partner_running_fen: Mapped[int | None] = mapped_column(Fen)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the partner's notification_charge_order_info
    partner_total_fen: Mapped[int | None] = mapped_column(Fen)
    partner_elec_fen: Mapped[int | None] = mapped_column(Fen)
    partner_service_fen: Mapped[int | None] = mapped_column(Fen)
    partner_energy_wh: Mapped[int | None] = mapped_column(Fen)
    order_info_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # what the wallet was charged so far, and whether it was our estimate
    charged_fen: Mapped[int] = mapped_column(Fen, default=0)
    estimated: Mapped[bool] = mapped_column(default=False)
    # our estimate of the partner's amount (before our member discount) when its order
    # info did not come in time; kept after its bill reconciles it (bill vs estimate)
    estimate_fen: Mapped[int | None] = mapped_column(Fen)
    # the member pay-rate of the service fee frozen at the start (None: partner's price)
    service_discount_rate: Mapped[Decimal | None] = mapped_column(PayRate)
    member_discount_fen: Mapped[int] = mapped_column(Fen, default=0)
    # the partner's check_charge_orders disagreed with what we hold (DisputeReason)
    disputed: Mapped[bool] = mapped_column(default=False)
    dispute_reason: Mapped[str] = mapped_column(String(64), default="")
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
