"""Who is who: operators (the platform and its sub-operators), their admins and roles, the
audit log, and the drivers who are members of an operator with their cards."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, BigId, UTCDateTime, utcnow

OPERATOR_KINDS = ("platform", "sub")


# One WeChat app and one merchant belong to one operator (issue 15 item 3: a sub-operator
# that set another's app id turned off that one's driver logins); "" is "not set".
_SET_APP_ID = text("wechat_app_id <> ''")
_SET_MCH_ID = text("wechat_mch_id <> ''")
_SET_OA_APP_ID = text("wechat_oa_app_id <> ''")


class Operator(Base):
    __tablename__ = "operators"
    __table_args__ = (
        Index("uq_operators_wechat_app_id", "wechat_app_id", unique=True,
              postgresql_where=_SET_APP_ID, sqlite_where=_SET_APP_ID),
        Index("uq_operators_wechat_mch_id", "wechat_mch_id", unique=True,
              postgresql_where=_SET_MCH_ID, sqlite_where=_SET_MCH_ID),
        Index("uq_operators_wechat_oa_app_id", "wechat_oa_app_id", unique=True,
              postgresql_where=_SET_OA_APP_ID, sqlite_where=_SET_OA_APP_ID),
    )  # fmt: skip

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
    # the official account whose menus open the H5 pages (web authorization, JSAPI pay:
    # the merchant must have this app id bound too)
    wechat_oa_app_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    wechat_oa_app_secret: Mapped[str] = mapped_column(String(128), default="", server_default="")
    # subscribe-message template id per notice kind ({"charge_started": "..."}); a kind not
    # here uses the SUBSCRIBE_TEMPLATE_<KIND> setting (app.notices.templates). Not secret.
    subscribe_templates: Mapped[dict[str, str] | None] = mapped_column(JSON)
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


admin_user_roles = Table(
    "admin_user_roles",
    Base.metadata,
    Column("admin_user_id", ForeignKey("admin_users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
)


class Role(Base):
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("operator_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AdminUser(Base):
    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(50), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    is_active: Mapped[bool] = mapped_column(default=True)
    # bumped on password change / deactivation: invalidates issued tokens
    token_version: Mapped[int] = mapped_column(default=1)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    operator: Mapped[Operator] = relationship(lazy="joined")
    roles: Mapped[list[Role]] = relationship(secondary=admin_user_roles, lazy="selectin")

    @property
    def permissions(self) -> set[str]:
        return {code for role in self.roles for code in role.permissions}


class AuditLog(Base):
    __tablename__ = "audit_logs"
    __table_args__ = (Index("ix_audit_logs_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_type: Mapped[str] = mapped_column(String(16), default="admin")  # admin | system | driver
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id"))
    actor_name: Mapped[str] = mapped_column(String(50), default="")
    # the operator whose data changed: sub-operators read only their own log
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(200), default="")


class Driver(Base):
    __tablename__ = "drivers"
    __table_args__ = (
        UniqueConstraint("operator_id", "openid"),
        UniqueConstraint("operator_id", "oa_openid", name="uq_drivers_operator_oa_openid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    openid: Mapped[str | None] = mapped_column(String(64))
    unionid: Mapped[str | None] = mapped_column(String(64), index=True)
    # the same person's openid under the operator's official account (H5 pages)
    oa_openid: Mapped[str | None] = mapped_column(String(64))
    nickname: Mapped[str] = mapped_column(String(64), default="")
    avatar_url: Mapped[str] = mapped_column(String(500), default="")
    phone: Mapped[str] = mapped_column(String(20), default="", index=True)
    pricing_group: Mapped[str] = mapped_column(String(32), default="none")
    # every token carries the version it was issued under: logging out or being disabled
    # bumps it, which ends every session at once (app/drivers/sessions.py)
    token_version: Mapped[int] = mapped_column(default=1, server_default="1")
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DriverCard(Base):
    """An RFID card number or a pile-screen password a driver starts charging with."""

    __tablename__ = "driver_cards"
    __table_args__ = (UniqueConstraint("operator_id", "id_tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id"), index=True)
    id_tag: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16), default="card")  # card | password
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
