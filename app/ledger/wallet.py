"""The wallet: a balance that changes only through ledger entries, under a row lock.

Every later feature (top-ups, settlement, refunds, corrections) moves money through
:func:`post_entry`, inside its own transaction: the entry, the balance and whatever the
money is for are committed together or not at all (case #6)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select

from app.db import utcnow
from app.errors import AMOUNT_INVALID, REASON_REQUIRED, WALLET_INSUFFICIENT, WALLET_NOT_FOUND
from app.extensions import db
from app.ledger.models import Wallet, WalletEntry
from app.paging import Page, paginate
from app.tenancy import audit
from app.tenancy.models import Driver
from app.tenancy.scope import Actor, get_scoped
from app.uow import transactional


@dataclass(frozen=True, slots=True)
class Posting:
    entry: WalletEntry
    applied: bool  # False: the idempotency key had been applied before; nothing changed


def lock_wallet(driver_id: int) -> Wallet:
    """The driver's wallet, locked for the rest of the transaction (FOR UPDATE on
    PostgreSQL; SQLite serialises writers by itself)."""
    wallet = db.session.scalar(
        select(Wallet)
        .where(Wallet.driver_id == driver_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if wallet is None:
        raise WALLET_NOT_FOUND(details={"driver_id": driver_id})
    return wallet


def wallet_of(driver_id: int) -> Wallet:
    """The driver's wallet, unlocked (reads)."""
    wallet = db.session.scalar(select(Wallet).where(Wallet.driver_id == driver_id))
    if wallet is None:
        raise WALLET_NOT_FOUND(details={"driver_id": driver_id})
    return wallet


def balance_of(driver_id: int) -> int:
    """The balance as committed now (0 for a driver without a wallet)."""
    balance = db.session.scalar(select(Wallet.balance_fen).where(Wallet.driver_id == driver_id))
    return int(balance or 0)


def post_entry(
    driver_id: int,
    amount_fen: int,
    reason: str,
    *,
    ref_type: str = "",
    ref_id: str = "",
    idempotency_key: str | None = None,
    actor_type: str = "system",
    actor_id: int | None = None,
    note: str = "",
    allow_negative: bool = False,
) -> Posting:
    """Add ``amount_fen`` (signed) to the balance with its ledger entry; no commit.

    With an ``idempotency_key`` the posting happens at most once: a repeat returns the
    first entry with ``applied=False``.
    """
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen == 0:
        raise AMOUNT_INVALID()
    wallet = lock_wallet(driver_id)
    if idempotency_key is not None:
        # checked under the wallet lock, so two concurrent repeats cannot both pass
        existing = db.session.scalar(
            select(WalletEntry).where(WalletEntry.idempotency_key == idempotency_key)
        )
        if existing is not None:
            return Posting(existing, applied=False)
    new_balance = wallet.balance_fen + amount_fen
    if new_balance < 0 and not allow_negative:
        raise WALLET_INSUFFICIENT(
            details={"balance_fen": wallet.balance_fen, "required_fen": -amount_fen}
        )
    wallet.balance_fen = new_balance
    wallet.updated_at = utcnow()
    entry = WalletEntry(
        wallet_id=wallet.id,
        amount_fen=amount_fen,
        balance_after_fen=new_balance,
        reason=reason,
        ref_type=ref_type,
        ref_id=ref_id,
        idempotency_key=idempotency_key,
        actor_type=actor_type,
        actor_id=actor_id,
        note=note,
    )
    db.session.add(entry)
    db.session.flush()
    return Posting(entry, applied=True)


def open_wallet(driver: Driver) -> Wallet:
    wallet = Wallet(driver_id=driver.id, balance_fen=0)
    db.session.add(wallet)
    db.session.flush()
    return wallet


def ledger_sum(driver_id: int) -> int:
    wallet_id = select(Wallet.id).where(Wallet.driver_id == driver_id).scalar_subquery()
    total = db.session.scalar(
        select(func.coalesce(func.sum(WalletEntry.amount_fen), 0)).where(
            WalletEntry.wallet_id == wallet_id
        )
    )
    return int(total or 0)


@transactional
def admin_adjust(actor: Actor, driver_id: int, amount_fen: int, reason: str) -> WalletEntry:
    """A manual credit or debit by an operator (case #17 2020-04-03), audited."""
    actor.require("wallet.adjust")
    driver = get_scoped(Driver, driver_id, actor, what="会员")
    if not reason.strip():
        raise REASON_REQUIRED("请填写调整原因", details={"reason": ["必填"]})
    before = balance_of(driver.id)
    posting = post_entry(
        driver.id,
        amount_fen,
        "manual_credit" if amount_fen > 0 else "manual_debit",
        actor_type="admin",
        actor_id=actor.admin_id,
        note=reason,
    )
    audit.record(
        actor, "wallet.adjust", "driver", driver.id, operator_id=driver.operator_id,
        before={"balance_fen": before},
        after={"balance_fen": posting.entry.balance_after_fen, "amount_fen": amount_fen},
        reason=reason,
    )  # fmt: skip
    return posting.entry


def list_entries(actor: Actor, driver_id: int, *, page: int = 1, page_size: int = 20) -> Page:
    stmt = entry_filter(actor, driver_id).order_by(WalletEntry.id.desc())
    return paginate(stmt, page, page_size)


def entry_filter(actor: Actor, driver_id: int) -> Select[tuple[WalletEntry]]:
    """A member's wallet ledger (its page and its export), unordered: member.read, and a
    member of another sub-operator is absent (404)."""
    actor.require("member.read")
    driver = get_scoped(Driver, driver_id, actor, what="会员")
    return select(WalletEntry).where(WalletEntry.wallet_id == wallet_of(driver.id).id)
