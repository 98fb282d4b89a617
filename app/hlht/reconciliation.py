"""Reconciliation with a partner (issue 11, case #14): the console's list of the partners'
drivers' orders on our piles (we are the pile owner; our drivers' orders on its piles are
:func:`app.hlht.customer.list_customer_orders`), and the monthly statement: one xlsx per
partner and month with both directions, one order a row, a 方向 column, and a 合计 row per
direction (orders, kWh, money, disputed), for the statement both sides sign.

An order belongs to the month its bill was settled in, at the platform's wall clock
(Asia/Shanghai, the time of the partners' own check_charge_orders): from the first of the
month 00:00 local to the first of the next. The partner's records are the platform's only,
as the partners are."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from sqlalchemy import Select, func, select

from app.billing.models import Bill
from app.catalogue.models import Pile, Station
from app.charging.models import ChargeOrder
from app.errors import HLHT_STATEMENT_MONTH_INVALID
from app.extensions import db
from app.hlht import partners
from app.hlht.customer import our_estimate_fen
from app.hlht.envelope import CHINA
from app.hlht.models import CustomerOrder, CustomerState, Partner, RoamingOrder
from app.paging import Page, paginate
from app.tenancy.exports import BATCH, audited_export
from app.tenancy.scope import Actor
from app.xlsx_export import Column, Kind

# --------------------------------------------------------------------- the pile owner's list


@dataclass(frozen=True, slots=True)
class ConsoleRoamingOrder:
    """A partner's driver's order on our pile as the platform's operator reviews it."""

    roaming: RoamingOrder
    order: ChargeOrder
    bill: Bill | None
    partner_name: str
    operator_id: str
    station_name: str
    pile_code: str


def list_roaming_orders(
    actor: Actor, *, partner_id: int | None = None, state: str | None = None,
    disputed: bool | None = None, estimated: bool | None = None,
    page: int = 1, page_size: int = 20,
) -> Page:  # fmt: skip
    """The partners' drivers' orders on our piles, newest first: filter by partner, the
    charge order's state, disputed by the partner (ConfirmResult 1 or its reconciliation),
    or billed on our estimate (no final pile record, case #25)."""
    partners._require(actor, "hlht.read")
    stmt = select(RoamingOrder).join(ChargeOrder, ChargeOrder.id == RoamingOrder.order_id)
    if partner_id is not None:
        stmt = stmt.where(RoamingOrder.partner_id == partner_id)
    if state:
        stmt = stmt.where(ChargeOrder.state == state)
    if disputed is not None:
        stmt = stmt.where(RoamingOrder.disputed.is_(disputed))
    if estimated is not None:
        stmt = stmt.outerjoin(Bill, Bill.order_id == RoamingOrder.order_id).where(
            Bill.estimated.is_(True) if estimated else Bill.estimated.is_not(True)
        )
    result = paginate(stmt.order_by(RoamingOrder.id.desc()), page, page_size)
    rows: list[RoamingOrder] = result.items
    return Page(items=_complete(rows), total=result.total, page=result.page,
                page_size=result.page_size)  # fmt: skip


def _complete(rows: list[RoamingOrder]) -> list[ConsoleRoamingOrder]:
    """One query for the page's orders, bills, stations and piles; one for the partners."""
    if not rows:
        return []
    found = {
        order.id: (order, bill, station, pile)
        for order, bill, station, pile in db.session.execute(
            select(ChargeOrder, Bill, Station.name, Pile.code)
            .outerjoin(Bill, Bill.order_id == ChargeOrder.id)
            .outerjoin(Station, Station.id == ChargeOrder.station_id)
            .outerjoin(Pile, Pile.id == ChargeOrder.pile_id)
            .where(ChargeOrder.id.in_([r.order_id for r in rows]))
        )
    }
    named = _partner_names({r.partner_id for r in rows})
    out = []
    for r in rows:
        order, bill, station, pile = found[r.order_id]
        out.append(ConsoleRoamingOrder(r, order, bill, *named.get(r.partner_id, ("", "")),
                                       station or "", pile or ""))  # fmt: skip
    return out


def _partner_names(ids: set[int]) -> dict[int, tuple[str, str]]:
    return {
        pid: (name, operator)
        for pid, name, operator in db.session.execute(
            select(Partner.id, Partner.name, Partner.operator_id).where(Partner.id.in_(ids))
        )
    }


# ------------------------------------------------------------------- the monthly statement


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``2026-11`` -> [2026-11-01 00:00, 2026-12-01 00:00) at the platform's wall clock
    (Asia/Shanghai), as aware datetimes (compared with UTC columns as instants)."""
    try:
        year, number = (int(part) for part in month.split("-"))
        start = datetime(year, number, 1, tzinfo=CHINA)
    except (ValueError, TypeError) as err:
        raise HLHT_STATEMENT_MONTH_INVALID(details={"month": month}) from err
    if len(month) != 7:
        raise HLHT_STATEMENT_MONTH_INVALID(details={"month": month})
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=CHINA)
    return start, end


OURS = "合作方车主·我方桩"  # we are the pile owner: the partner owes us
THEIRS = "我方车主·合作方桩"  # we are the customer: we owe the partner


def _yes(flag: bool | None) -> str:
    return "是" if flag else ""


COLUMNS = [
    Column("方向", lambda r: r["direction"], width=20),
    Column("订单号", lambda r: r["order_no"], width=22),
    Column("StartChargeSeq", lambda r: r["seq"], width=30),
    Column("站点 / 充电接口", lambda r: r["where"], width=24),
    Column("开始时间", lambda r: r["started_at"], Kind.TIME, 19),
    Column("结束时间", lambda r: r["stopped_at"], Kind.TIME, 19),
    Column("结算时间", lambda r: r["settled_at"], Kind.TIME, 19),
    Column("电量(kWh)", lambda r: r["energy_wh"], Kind.WH, 11),
    Column("电费(元)", lambda r: r["elec_fen"], Kind.FEN, 10),
    Column("服务费(元)", lambda r: r["service_fen"], Kind.FEN, 10),
    Column("金额(元)", lambda r: r["total_fen"], Kind.FEN, 10),
    Column("合作方账单(元)", lambda r: r["partner_fen"], Kind.FEN, 13),
    Column("我方预估(元)", lambda r: r["estimate_fen"], Kind.FEN, 12),
    Column("车主实付(元)", lambda r: r["charged_fen"], Kind.FEN, 12),
    Column("预估结算", lambda r: r["estimated"], width=9),
    Column("争议", lambda r: r["disputed"], width=9),
    Column("争议原因", lambda r: r["dispute_reason"], width=18),
]


def _roaming_stmt(partner_id: int, start: datetime, end: datetime) -> Select[Any]:
    return (
        select(RoamingOrder, ChargeOrder, Bill, Station.name, Pile.code)
        .join(ChargeOrder, ChargeOrder.id == RoamingOrder.order_id)
        .join(Bill, Bill.order_id == RoamingOrder.order_id)
        .outerjoin(Station, Station.id == ChargeOrder.station_id)
        .outerjoin(Pile, Pile.id == ChargeOrder.pile_id)
        .where(
            RoamingOrder.partner_id == partner_id,
            Bill.settled_at >= start,
            Bill.settled_at < end,
        )
        .order_by(Bill.settled_at, RoamingOrder.id)
    )


def _customer_stmt(partner_id: int, start: datetime, end: datetime) -> Select[Any]:
    return (
        select(CustomerOrder)
        .where(
            CustomerOrder.partner_id == partner_id,
            CustomerOrder.state == CustomerState.SETTLED,
            CustomerOrder.settled_at >= start,
            CustomerOrder.settled_at < end,
        )
        .order_by(CustomerOrder.settled_at, CustomerOrder.id)
    )


def _roaming_rows(stmt: Select[Any]) -> Iterator[dict[str, Any]]:
    for roaming, order, bill, station, pile in db.session.execute(
        stmt.execution_options(yield_per=BATCH)
    ):
        yield {
            "direction": OURS, "order_no": order.order_no, "seq": roaming.start_charge_seq,
            "where": " ".join(p for p in (station or "", pile or "") if p),
            "started_at": order.started_at, "stopped_at": order.stopped_at,
            "settled_at": bill.settled_at, "energy_wh": bill.energy_wh,
            "elec_fen": bill.electricity_fen, "service_fen": bill.service_fen,
            "total_fen": bill.total_fen, "partner_fen": None, "estimate_fen": None,
            "charged_fen": None, "estimated": _yes(bill.estimated),
            "disputed": _yes(roaming.disputed), "dispute_reason": roaming.dispute_reason,
        }  # fmt: skip


def _customer_rows(stmt: Select[Any]) -> Iterator[dict[str, Any]]:
    for order in db.session.scalars(stmt.execution_options(yield_per=BATCH)):
        billed = order.partner_total_fen is not None
        yield {
            "direction": THEIRS, "order_no": order.order_no, "seq": order.start_charge_seq,
            "where": order.connector_code, "started_at": order.started_at,
            "stopped_at": order.stopped_at, "settled_at": order.settled_at,
            "energy_wh": order.partner_energy_wh if billed and order.partner_energy_wh
            is not None else order.energy_wh,
            "elec_fen": order.partner_elec_fen, "service_fen": order.partner_service_fen,
            # what we owe the partner: its bill, or our estimate while it has not come
            "total_fen": order.partner_total_fen if billed else our_estimate_fen(order),
            "partner_fen": order.partner_total_fen, "estimate_fen": our_estimate_fen(order),
            "charged_fen": order.charged_fen, "estimated": _yes(order.estimated),
            "disputed": _yes(order.disputed), "dispute_reason": order.dispute_reason,
        }  # fmt: skip


def _with_total(direction: str, rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The rows, then their 合计: the count of orders and disputed ones, kWh and money."""
    sums = {"energy_wh": 0, "elec_fen": 0, "service_fen": 0, "total_fen": 0,
            "partner_fen": 0, "estimate_fen": 0, "charged_fen": 0}  # fmt: skip
    count = disputed = 0
    for row in rows:
        count += 1
        disputed += bool(row["disputed"])
        for key in sums:
            sums[key] += row[key] or 0
        yield row
    yield {
        "direction": f"合计 · {direction}", "order_no": f"{count} 单", "seq": "", "where": "",
        "started_at": None, "stopped_at": None, "settled_at": None, **sums,
        "estimated": "", "disputed": f"{disputed} 单", "dispute_reason": "",
    }  # fmt: skip


def export_statement(actor: Actor, *, partner_id: int, month: str) -> tuple[IO[bytes], int]:
    """The partner's monthly statement (both directions) as an xlsx, audited; the row count
    includes the two 合计 rows."""
    partner = partners.get_partner(actor, partner_id)  # the platform's only
    start, end = month_bounds(month)
    ours, theirs = _roaming_stmt(partner.id, start, end), _customer_stmt(partner.id, start, end)
    matched = sum(
        db.session.scalar(select(func.count()).select_from(s.order_by(None).subquery())) or 0
        for s in (ours, theirs)
    )

    def rows() -> Iterator[dict[str, Any]]:
        yield from _with_total(OURS, _roaming_rows(ours))
        yield from _with_total(THEIRS, _customer_rows(theirs))

    return audited_export(
        actor, sheet=f"对账单 {month}",
        columns=COLUMNS, rows=rows(), matched=matched, action="hlht.statement.export",
        target_type="hlht_partner", target_id=partner.id,
        filters={"partner": partner.operator_id, "month": month},
    )  # fmt: skip
