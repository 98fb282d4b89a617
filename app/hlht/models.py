"""Interconnection partners (T/CEC 102): who they are, the secrets each direction uses,
and the tokens we issued them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


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
