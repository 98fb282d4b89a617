"""Driver certification (case #4 2019-10-09): a driver uploads ID card, driving licence
and one vehicle photo; an admin approves (the driver joins the taxi or ride-hailing
pricing group), rejects with a reason, or later revokes (back to no group). Taxi and
ride-hailing are exclusive; one pending application at a time.

Uploads are images only, recognised from their content (never the name or the declared
type), each under ``UPLOAD_MAX_BYTES``, and stored behind a :class:`FileStorage` adapter:
a folder under the instance path by default."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.config import instance_path, setting
from app.db import utcnow
from app.drivers.models import (
    CERTIFICATION_FILE_ROLES,
    CERTIFICATION_KINDS,
    CertificationApplication,
    CertificationFile,
    CertificationState,
)
from app.errors import (
    CERTIFICATION_ALREADY_APPROVED,
    CERTIFICATION_EXCLUSIVE,
    CERTIFICATION_FILES_MISSING,
    CERTIFICATION_KIND_INVALID,
    CERTIFICATION_NOT_FOUND,
    CERTIFICATION_PENDING,
    CERTIFICATION_STATE_INVALID,
    FILE_MISSING,
    FILE_NOT_FOUND,
    NOT_FOUND,
    REASON_REQUIRED,
    UPLOAD_NOT_IMAGE,
    UPLOAD_TOO_LARGE,
)
from app.extensions import db
from app.paging import Page, paginate
from app.state import Slot, part
from app.tenancy import audit
from app.tenancy.models import Driver
from app.tenancy.scope import Actor, get_scoped, scoped
from app.uow import transactional, unit_of_work

READ = "certification.read"

REVIEW = "certification.review"

KIND_NAMES = {"taxi": "出租车", "ride_hailing": "网约车"}

ROLE_NAMES = {"id_card": "身份证", "driving_licence": "驾驶证", "vehicle_photo": "车辆照片"}


log = logging.getLogger(__name__)


class FileStorage(Protocol):
    def save(self, key: str, data: bytes) -> None: ...

    def load(self, key: str) -> bytes: ...


class LocalFileStorage:
    """Files in a local folder; keys are relative paths we generate (never user input)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"storage key escapes the root: {key!r}")
        return path

    def save(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)

    def load(self, key: str) -> bytes:
        return self._path(key).read_bytes()


FILE_STORAGE: Slot[FileStorage] = Slot("certification file storage")


def local_storage() -> LocalFileStorage:
    """The embedded default: ``UPLOAD_DIR``, or ``uploads/`` under the instance folder."""
    return LocalFileStorage(setting("UPLOAD_DIR") or os.path.join(instance_path(), "uploads"))


def storage() -> FileStorage:
    return part(FILE_STORAGE)


def sniff_image(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the magic bytes: JPEG, PNG or WebP; else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def max_upload_bytes() -> int:
    return int(setting("UPLOAD_MAX_BYTES"))


@dataclass(frozen=True, slots=True)
class Upload:
    role: str
    data: bytes


def _checked(uploads: list[Upload]) -> list[tuple[Upload, str, str]]:
    limit = max_upload_bytes()
    by_role = {u.role: u for u in uploads}
    missing = [r for r in CERTIFICATION_FILE_ROLES if r not in by_role]
    if missing:
        raise CERTIFICATION_FILES_MISSING(details={r: ["必须上传"] for r in missing})
    out = []
    for role in CERTIFICATION_FILE_ROLES:
        upload = by_role[role]
        if len(upload.data) > limit:
            raise UPLOAD_TOO_LARGE(
                f"{ROLE_NAMES[role]}图片过大，不能超过 {limit // 1024} KB",
                details={"field": role, "max_bytes": limit},
            )
        sniffed = sniff_image(upload.data)
        if sniffed is None:
            raise UPLOAD_NOT_IMAGE(
                f"{ROLE_NAMES[role]}必须是 JPEG、PNG 或 WebP 图片",
                details={role: ["只接受 JPEG、PNG 或 WebP 图片"]},
            )
        out.append((upload, *sniffed))
    return out


def _pending(driver_id: int) -> CertificationApplication | None:
    return db.session.scalar(
        select(CertificationApplication).where(
            CertificationApplication.driver_id == driver_id,
            CertificationApplication.state == CertificationState.PENDING,
        )
    )


def submit(driver: Driver, kind: str, uploads: list[Upload]) -> CertificationApplication:
    """A driver applies for the taxi or ride-hailing group. Commits."""
    if kind not in CERTIFICATION_KINDS:
        raise CERTIFICATION_KIND_INVALID(details={"kind": ["应为 taxi 或 ride_hailing"]})
    if _pending(driver.id) is not None:
        raise CERTIFICATION_PENDING()
    if driver.pricing_group == kind:
        raise CERTIFICATION_ALREADY_APPROVED(f"您已是{KIND_NAMES[kind]}认证司机")
    if driver.pricing_group in CERTIFICATION_KINDS:
        raise CERTIFICATION_EXCLUSIVE(
            "出租车与网约车认证只能二选一，请先联系客服撤销现有认证",
            details={"current": driver.pricing_group},
        )
    checked = _checked(uploads)
    app_row = CertificationApplication(
        operator_id=driver.operator_id,
        driver_id=driver.id,
        kind=kind,
        state=CertificationState.PENDING,
    )
    for upload, content_type, ext in checked:
        key = f"certifications/{driver.id}/{secrets.token_hex(16)}.{ext}"
        storage().save(key, upload.data)
        app_row.files.append(
            CertificationFile(
                role=upload.role, storage_key=key, content_type=content_type,
                size_bytes=len(upload.data), sha256=hashlib.sha256(upload.data).hexdigest(),
            )
        )  # fmt: skip
    try:
        with unit_of_work():
            db.session.add(app_row)
    except IntegrityError:  # a concurrent submission won the partial unique index
        raise CERTIFICATION_PENDING() from None
    return app_row


def current_for(driver: Driver) -> CertificationApplication | None:
    """The driver's latest application, whatever its state."""
    return db.session.scalar(
        select(CertificationApplication)
        .where(CertificationApplication.driver_id == driver.id)
        .order_by(CertificationApplication.id.desc())
        .limit(1)
    )


def own_application(driver: Driver, application_id: int) -> CertificationApplication:
    row = db.session.get(CertificationApplication, application_id)
    if row is None or row.driver_id != driver.id:
        raise CERTIFICATION_NOT_FOUND()
    return row


def list_applications(
    actor: Actor,
    *,
    page: int = 1,
    page_size: int = 20,
    state: str | None = None,
    kind: str | None = None,
    driver_id: int | None = None,
    operator_id: int | None = None,
) -> Page:
    actor.require(READ)
    stmt = scoped(select(CertificationApplication), CertificationApplication.operator_id, actor)
    if state:
        stmt = stmt.where(CertificationApplication.state == state)
    if kind:
        stmt = stmt.where(CertificationApplication.kind == kind)
    if driver_id:
        stmt = stmt.where(CertificationApplication.driver_id == driver_id)
    if operator_id:
        stmt = stmt.where(CertificationApplication.operator_id == operator_id)
    return paginate(stmt.order_by(CertificationApplication.id.desc()), page, page_size)


def get_application(actor: Actor, application_id: int) -> CertificationApplication:
    actor.require(READ)
    return get_scoped(CertificationApplication, application_id, actor, what="认证申请")


def file_content(actor: Actor, application_id: int, file_id: int) -> tuple[bytes, str]:
    row = get_application(actor, application_id)
    for f in row.files:
        if f.id == file_id:
            try:
                return storage().load(f.storage_key), f.content_type
            except FileNotFoundError:  # the row outlived its file (a restore, a lost disk)
                log.error(
                    "certification file missing from storage",
                    extra={"application_id": application_id, "file_id": file_id},
                )
                raise FILE_MISSING(details={"file_id": file_id, "role": f.role}) from None
    raise FILE_NOT_FOUND()


def _review_target(actor: Actor, application_id: int) -> tuple[CertificationApplication, Driver]:
    actor.require(REVIEW)
    row = get_scoped(CertificationApplication, application_id, actor, what="认证申请")
    driver = db.session.get(Driver, row.driver_id)
    if driver is None:  # pragma: no cover - foreign key
        raise NOT_FOUND("会员不存在")
    return row, driver


def _state_view(row: CertificationApplication, driver: Driver) -> dict[str, Any]:
    return {"state": row.state, "kind": row.kind, "pricing_group": driver.pricing_group}


def _require_state(row: CertificationApplication, *states: str) -> None:
    if row.state not in states:
        raise CERTIFICATION_STATE_INVALID(details={"state": row.state})


@transactional
def approve(actor: Actor, application_id: int) -> CertificationApplication:
    """Approve: the driver joins the group of the application's kind. Audited. Commits."""
    row, driver = _review_target(actor, application_id)
    _require_state(row, CertificationState.PENDING)
    if driver.pricing_group in CERTIFICATION_KINDS and driver.pricing_group != row.kind:
        raise CERTIFICATION_EXCLUSIVE(details={"current": driver.pricing_group})
    before = _state_view(row, driver)
    row.state, row.reviewed_at, row.reviewed_by_id = (
        CertificationState.APPROVED,
        utcnow(),
        actor.admin_id,
    )
    driver.pricing_group = row.kind
    audit.record(
        actor, "certification.approve", "certification", row.id, operator_id=row.operator_id,
        before=before, after=_state_view(row, driver),
    )  # fmt: skip
    return row


@transactional
def reject(actor: Actor, application_id: int, reason: str) -> CertificationApplication:
    row, driver = _review_target(actor, application_id)
    _require_state(row, CertificationState.PENDING)
    reason = _reason(reason)
    before = _state_view(row, driver)
    row.state, row.reviewed_at, row.reviewed_by_id = (
        CertificationState.REJECTED,
        utcnow(),
        actor.admin_id,
    )
    row.reject_reason = reason
    audit.record(
        actor, "certification.reject", "certification", row.id, operator_id=row.operator_id,
        before=before, after=_state_view(row, driver), reason=reason,
    )  # fmt: skip
    return row


@transactional
def revoke(actor: Actor, application_id: int, reason: str) -> CertificationApplication:
    """Revoke an approval: the driver's pricing group goes back to none. Audited."""
    row, driver = _review_target(actor, application_id)
    _require_state(row, CertificationState.APPROVED)
    reason = _reason(reason)
    before = _state_view(row, driver)
    row.state, row.revoked_at, row.revoked_by_id = (
        CertificationState.REVOKED,
        utcnow(),
        actor.admin_id,
    )
    row.revoke_reason = reason
    if driver.pricing_group == row.kind:
        driver.pricing_group = "none"
    audit.record(
        actor, "certification.revoke", "certification", row.id, operator_id=row.operator_id,
        before=before, after=_state_view(row, driver), reason=reason,
    )  # fmt: skip
    return row


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise REASON_REQUIRED(details={"reason": ["必须填写"]})
    return text[:200]
