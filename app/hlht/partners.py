"""Partners: registration, their keys per direction, the tokens we issue them
(query_token, Part 4 附录 A) and the stations each may see (case #12)."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.catalogue.models import Station
from app.db import utcnow
from app.errors import (
    HLHT_PARTNER_INVALID,
    HLHT_PARTNER_NOT_FOUND,
    HLHT_PARTNER_TAKEN,
    HLHT_PLATFORM_ONLY,
)
from app.extensions import db
from app.hlht.envelope import Keys
from app.hlht.models import Partner, PartnerToken
from app.paging import Page, paginate
from app.tenancy import audit
from app.tenancy.scope import Actor
from app.uow import transactional

TOKEN_TTL = timedelta(days=7)  # 「凭证有效期」: never longer than 7 days
ROLES = frozenset({"emsp", "cpo"})
DIALECTS = frozenset({"cec2016", "xiaoju"})
_OPERATOR_ID = re.compile(r"^[0-9A-Z]{9}$")


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transactional
def add_partner(data: dict[str, Any]) -> Partner:
    """Register a partner; the ``out_*`` keys default to the inbound ones."""
    operator_id = str(data.get("operator_id", "")).strip().upper()
    roles = {r.strip() for r in str(data.get("roles", "emsp,cpo")).split(",") if r.strip()}
    dialect = data.get("dialect") or "cec2016"
    problems: dict[str, list[str]] = {}
    if not _OPERATOR_ID.match(operator_id):
        problems["operator_id"] = ["应为 9 位组织机构代码（数字或大写字母）"]
    if not roles or roles - ROLES:
        problems["roles"] = ["取值 emsp、cpo 或两者"]
    if dialect not in DIALECTS:
        problems["dialect"] = ["取值 cec2016 或 xiaoju"]
    keys: dict[str, str] = {}
    for name in ("data_secret", "data_iv", "sig_secret"):
        inbound = str(data.get(name) or "")
        keys[f"in_{name}"] = inbound
        keys[f"out_{name}"] = str(data.get(f"out_{name}") or inbound)
    for name, value in keys.items():
        if name.endswith(("data_secret", "data_iv")) and len(value.encode()) != 16:
            problems[name] = ["应为 16 个字符"]
        elif not value:
            problems[name] = ["必填"]
    for name in ("operator_secret", "our_operator_secret", "name"):
        if not str(data.get(name) or "").strip():
            problems[name] = ["必填"]
    if problems:
        raise HLHT_PARTNER_INVALID(details=problems)
    if db.session.scalar(select(Partner.id).where(Partner.operator_id == operator_id)):
        raise HLHT_PARTNER_TAKEN(details={"operator_id": operator_id})
    share = data.get("share_stations", "")
    partner = Partner(
        operator_id=operator_id,
        name=str(data["name"]).strip(),
        base_url=str(data.get("base_url") or "").rstrip("/"),
        roles=",".join(sorted(roles)),
        operator_secret=str(data["operator_secret"]),
        our_operator_secret=str(data["our_operator_secret"]),
        dialect=dialect,
        share_all_stations=share == "all",
        shared_station_ids=[int(x) for x in str(share).split(",") if x.strip().isdigit()],
        grant_member_discount=bool(data.get("grant_member_discount", False)),
        **keys,
    )
    db.session.add(partner)
    db.session.flush()
    return partner


def by_operator_id(operator_id: str) -> Partner | None:
    return db.session.scalar(select(Partner).where(Partner.operator_id == operator_id))


def inbound_keys(operator_id: str) -> Keys | None:
    partner = by_operator_id(operator_id)
    if partner is None:
        return None
    return Keys(partner.in_data_secret, partner.in_data_iv, partner.in_sig_secret)


def outbound_keys(partner: Partner) -> Keys:
    return Keys(partner.out_data_secret, partner.out_data_iv, partner.out_sig_secret)


@transactional
def issue_token(partner: Partner, now: datetime | None = None) -> tuple[str, int]:
    """A new AccessToken for ``partner`` and its lifetime in seconds (7 days at most)."""
    moment = now or utcnow()
    token = secrets.token_urlsafe(32)
    db.session.add(
        PartnerToken(token_hash=_sha(token), partner_id=partner.id, expires_at=moment + TOKEN_TTL)
    )
    return token, int(TOKEN_TTL.total_seconds())


def partner_for_token(token: str, now: datetime | None = None) -> Partner | None:
    """The partner a Bearer token was issued to, while it is valid."""
    if not token:
        return None
    row = db.session.get(PartnerToken, _sha(token))
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    return db.session.get(Partner, row.partner_id)


def shared_stations_query(partner: Partner) -> Any:
    """The active stations ``partner`` may see (case #12: shared explicitly or all)."""
    stmt = select(Station).where(Station.status == "active")
    if not partner.share_all_stations:
        stmt = stmt.where(Station.id.in_(partner.shared_station_ids or [-1]))
    return stmt


# --- the platform's console ---------------------------------------------------------------

SECRET_FIELDS = (
    "operator_secret", "our_operator_secret", "in_data_secret", "in_data_iv",
    "in_sig_secret", "out_data_secret", "out_data_iv", "out_sig_secret",
)  # fmt: skip
_PLAIN_FIELDS = (
    "name", "base_url", "roles", "dialect", "share_all_stations", "shared_station_ids",
    "grant_member_discount",
)  # fmt: skip


def _require(actor: Actor, permission: str) -> None:
    actor.require(permission)
    if not actor.is_platform:  # a roaming contract is the platform's, for every tenant
        raise HLHT_PLATFORM_ONLY()


def _view(partner: Partner) -> dict[str, Any]:
    """What the audit keeps: never a secret, only whether each is set."""
    return {name: getattr(partner, name) for name in ("operator_id", *_PLAIN_FIELDS)}


def list_partners(actor: Actor, *, page: int = 1, page_size: int = 20) -> Page:
    _require(actor, "hlht.read")
    return paginate(select(Partner).order_by(Partner.id), page, page_size)


def get_partner(actor: Actor, partner_id: int) -> Partner:
    _require(actor, "hlht.read")
    partner = db.session.get(Partner, partner_id)
    if partner is None:
        raise HLHT_PARTNER_NOT_FOUND(details={"id": partner_id})
    return partner


@transactional
def create_partner(actor: Actor, data: dict[str, Any]) -> Partner:
    _require(actor, "hlht.write")
    partner = add_partner(_as_cli(data))
    audit.record(
        actor, "hlht.partner_create", "hlht_partner", partner.id, operator_id=None,
        after=_view(partner),
    )  # fmt: skip
    return partner


@transactional
def update_partner(actor: Actor, partner_id: int, data: dict[str, Any]) -> Partner:
    """Edit a partner; a secret given replaces the old one, one left out stays."""
    _require(actor, "hlht.write")
    partner = get_partner(actor, partner_id)
    before = _view(partner)
    problems: dict[str, list[str]] = {}
    if data.get("roles") is not None:
        roles = {r.strip() for r in str(data["roles"]).split(",") if r.strip()}
        if not roles or roles - ROLES:
            problems["roles"] = ["取值 emsp、cpo 或两者"]
        else:
            partner.roles = ",".join(sorted(roles))
    if data.get("dialect") is not None:
        if data["dialect"] not in DIALECTS:
            problems["dialect"] = ["取值 cec2016 或 xiaoju"]
        else:
            partner.dialect = data["dialect"]
    for name in ("name", "base_url"):
        if data.get(name) is not None:
            value = str(data[name]).strip().rstrip("/") if name == "base_url" else str(data[name])
            if name == "name" and not value.strip():
                problems[name] = ["必填"]
            setattr(partner, name, value.strip())
    if data.get("share_all_stations") is not None:
        partner.share_all_stations = bool(data["share_all_stations"])
    if data.get("grant_member_discount") is not None:
        partner.grant_member_discount = bool(data["grant_member_discount"])
    if data.get("shared_station_ids") is not None:
        partner.shared_station_ids = sorted({int(i) for i in data["shared_station_ids"]})
    changed_secrets = []
    for name in SECRET_FIELDS:
        secret = data.get(name)
        if secret:
            value = str(secret)
            if name.endswith(("data_secret", "data_iv")) and len(str(value).encode()) != 16:
                problems[name] = ["应为 16 个字符"]
                continue
            setattr(partner, name, str(value))
            changed_secrets.append(name)
    if problems:
        raise HLHT_PARTNER_INVALID(details=problems)
    audit.record(
        actor, "hlht.partner_update", "hlht_partner", partner.id, operator_id=None,
        before=before, after=_view(partner) | {"secrets_changed": changed_secrets},
    )  # fmt: skip
    return partner


def _as_cli(data: dict[str, Any]) -> dict[str, Any]:
    """The console's names onto :func:`add_partner`'s (the command line's)."""
    out = dict(data)
    for name in ("data_secret", "data_iv", "sig_secret"):
        if f"in_{name}" in out:
            out[name] = out.pop(f"in_{name}")
    if out.get("share_all_stations"):
        out["share_stations"] = "all"
    elif out.get("shared_station_ids"):
        out["share_stations"] = ",".join(str(i) for i in out["shared_station_ids"])
    return out
