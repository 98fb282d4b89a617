"""Operators: the platform operator and the sub-operators it hosts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow

OPERATOR_KINDS = ("platform", "sub")


class Operator(Base):
    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="sub")  # platform | sub
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    # branding shown to drivers (case #1)
    brand_color: Mapped[str] = mapped_column(String(9), default="#1677ff")
    logo_url: Mapped[str] = mapped_column(String(500), default="")
    # WeChat mini-program app and WeChat Pay merchant (case #22: refunds need them).
    # Secrets are write-only: no API ever returns them.
    wechat_app_id: Mapped[str] = mapped_column(String(64), default="")
    wechat_app_secret: Mapped[str] = mapped_column(String(128), default="")
    wechat_mch_id: Mapped[str] = mapped_column(String(32), default="")
    wechat_mch_cert_serial: Mapped[str] = mapped_column(String(64), default="")
    wechat_mch_private_key: Mapped[str] = mapped_column(Text, default="")
    wechat_apiv3_key: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_platform(self) -> bool:
        return self.kind == "platform"

    @property
    def wechat_pay_configured(self) -> bool:
        return bool(
            self.wechat_mch_id
            and self.wechat_mch_cert_serial
            and self.wechat_mch_private_key
            and self.wechat_apiv3_key
        )
