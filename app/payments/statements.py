"""WeChat Pay statement reconciliation (对账): an operator's trade bill of a China-local day,
downloaded through the real client, matched line by line with our top-up payments and
refund parts of that day; what does not match is kept as a mismatch for people to clear.
The day's fund-flow bill (资金账单, basic account) is downloaded beside it: every income
must be a payment of ours paid that day, every expense a refund of ours paid back that day
(and the other way round); its mismatches have their own kinds (``fund_*``).

A re-run replaces that day's result (the same run row, its mismatches replaced). A bill
WeChat has not made yet (``NO_STATEMENT_EXIST``: today, the future, a day without trades)
is the state ``not_ready``; WeChat unreachable or a file failing its hash or format is
``failed`` with the reason kept, never a crash of the caller.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.db import utcnow
from app.errors import NOT_FOUND, STATEMENT_DATE_INVALID, STATEMENT_RUN_NOT_FOUND, DomainError
from app.extensions import db
from app.money import fen_to_yuan_str
from app.paging import Page, paginate
from app.payments.merchants import endpoints, merchant_credentials, merchant_ready
from app.payments.models import (
    MismatchKind,
    RefundPart,
    RefundPartState,
    StatementMismatch,
    StatementRun,
    StatementRunState,
    TopUpPayment,
    TopUpState,
)
from app.tenancy import audit
from app.tenancy.models import Operator
from app.tenancy.scope import SYSTEM, Actor, scoped
from app.uow import unit_of_work
from app.wechat import bills, pay
from app.wechat.errors import WeChatPayError

log = logging.getLogger(__name__)

CHINA = ZoneInfo("Asia/Shanghai")  # WeChat Pay's bill day is Beijing time
READ = "order.read"  # money of the operator's payments, like the overview
RUN = "refund.review"  # the people who clear money questions with WeChat
NOT_READY_CODE = "NO_STATEMENT_EXIST"
# WeChat makes the bill of day D from about 10:00 on D+1 (China time)
READY_HOUR = 10


def china_today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(CHINA).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The China-local day as a UTC half-open interval."""
    start = datetime.combine(day, time(0), CHINA)
    return start, start + timedelta(days=1)


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise STATEMENT_DATE_INVALID(details={"date": text}) from None


def check_past_day(day: date, now: datetime | None = None) -> None:
    """A bill exists only for a day that has ended in China."""
    if day >= china_today(now):
        raise STATEMENT_DATE_INVALID(details={"date": day.isoformat()})


# -- the comparison (pure) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OurLine:
    """A payment (``out_refund_no`` empty) or a refund part of ours, as WeChat would list it."""

    out_trade_no: str
    out_refund_no: str
    fen: int
    state: str  # ours: paid / created / closed, or a refund part's state
    on_day: bool  # paid / refunded on the bill's day (by our clock of it)


@dataclass(frozen=True, slots=True)
class Found:
    kind: str
    out_trade_no: str
    out_refund_no: str
    our_fen: int | None
    wechat_fen: int | None
    note: str


@dataclass(frozen=True, slots=True)
class Comparison:
    wechat_lines: int
    our_lines: int
    matched: int
    our_total_fen: int
    wechat_total_fen: int
    mismatches: list[Found]


def _yuan(fen: int | None) -> str:
    return "—" if fen is None else fen_to_yuan_str(fen) + " 元"


_OUR_STATE_WORDS: dict[str, str] = {
    TopUpState.CREATED: "待支付",
    TopUpState.CLOSED: "已关闭",
    TopUpState.PAID: "已入账",
    RefundPartState.PENDING: "待审核",
    RefundPartState.PROCESSING: "退款中",
    RefundPartState.FAILED: "退款失败",
    RefundPartState.REJECTED: "已驳回",
    RefundPartState.SUCCEEDED: "退款成功",
}


def compare(
    wechat: list[bills.TradeLine], ours_of_day: list[OurLine], known: dict[str, OurLine]
) -> Comparison:
    """Match WeChat's lines with ours of the day. ``known`` holds our records (any day) of
    the order / refund numbers WeChat lists that are not among ours of the day, keyed by
    ``out_refund_no`` or else ``out_trade_no``."""
    found: list[Found] = []
    ours = {(o.out_trade_no, o.out_refund_no): o for o in ours_of_day}
    seen: set[tuple[str, str]] = set()
    matched = 0
    wechat_total = 0
    for line in wechat:
        refund = line.trade_state == "REFUND" or bool(line.out_refund_no)
        key = (line.out_trade_no, line.out_refund_no if refund else "")
        fen = line.refund_fen if refund else line.amount_fen
        wechat_total += -fen if refund else fen
        what = "退款" if refund else "支付"
        mine = ours.get(key)
        if mine is None:
            other = known.get(key[1] or key[0])
            if other is None:
                found.append(
                    Found(MismatchKind.MISSING_OURS, key[0], key[1], None, fen,
                          f"微信账单有此笔{what}，我方没有记录")
                )  # fmt: skip
            else:
                word = _OUR_STATE_WORDS.get(other.state, other.state)
                note = (
                    f"微信{what}成功，我方记录不在当日（状态：{word}）"
                    if other.state in (TopUpState.PAID, RefundPartState.SUCCEEDED)
                    else f"微信{what}成功，我方状态为“{word}”"
                )
                found.append(
                    Found(MismatchKind.STATE_DIFFERS, key[0], key[1], other.fen, fen, note)
                )
            continue
        seen.add(key)
        if mine.fen != fen:
            found.append(
                Found(MismatchKind.AMOUNT_DIFFERS, key[0], key[1], mine.fen, fen,
                      f"{what}金额不一致：我方 {_yuan(mine.fen)}，微信 {_yuan(fen)}")
            )  # fmt: skip
        else:
            matched += 1
    our_total = 0
    for mine in ours_of_day:
        our_total += -mine.fen if mine.out_refund_no else mine.fen
        if (mine.out_trade_no, mine.out_refund_no) in seen:
            continue
        what = "退款" if mine.out_refund_no else "支付"
        found.append(
            Found(MismatchKind.MISSING_WECHAT, mine.out_trade_no, mine.out_refund_no, mine.fen,
                  None, f"我方当日{what}成功，微信账单没有此笔")
        )  # fmt: skip
    return Comparison(
        wechat_lines=len(wechat),
        our_lines=len(ours_of_day),
        matched=matched,
        our_total_fen=our_total,
        wechat_total_fen=wechat_total,
        mismatches=found,
    )


def compare_fund(
    fund: list[bills.FundLine], ours_of_day: list[OurLine], known: dict[str, OurLine]
) -> tuple[int, list[Found]]:
    """Match the fund-flow bill's movements with ours of the day: an income's 业务凭证号 is
    a payment's out_trade_no, an expense's a refund's out_refund_no. ``known`` is as for
    :func:`compare`. Returns the matched count and the mismatches."""
    pays = {o.out_trade_no: o for o in ours_of_day if not o.out_refund_no}
    refunds = {o.out_refund_no: o for o in ours_of_day if o.out_refund_no}
    found: list[Found] = []
    seen: set[tuple[bool, str]] = set()
    matched = 0
    for line in fund:
        expense = line.direction == bills.EXPENSE
        what = "支出（退款）" if expense else "收入（支付）"
        mine = (refunds if expense else pays).get(line.voucher_no)
        if mine is None:
            other = known.get(line.voucher_no)
            if other is not None and bool(other.out_refund_no) == expense:
                word = _OUR_STATE_WORDS.get(other.state, other.state)
                note = (
                    f"微信资金账单当日有此笔{what}，我方记录不在当日（状态：{word}）"
                    if other.state in (TopUpState.PAID, RefundPartState.SUCCEEDED)
                    else f"微信资金账单有此笔{what}，我方状态为“{word}”"
                )
                found.append(
                    Found(MismatchKind.FUND_STATE_DIFFERS, other.out_trade_no,
                          other.out_refund_no, other.fen, line.fen, note)
                )  # fmt: skip
            else:
                found.append(
                    Found(MismatchKind.FUND_MISSING_OURS,
                          "" if expense else line.voucher_no, line.voucher_no if expense else "",
                          None, line.fen, f"微信资金账单有此笔{what}，我方没有记录")
                )  # fmt: skip
            continue
        seen.add((expense, line.voucher_no))
        if mine.fen != line.fen:
            found.append(
                Found(MismatchKind.FUND_AMOUNT_DIFFERS, mine.out_trade_no, mine.out_refund_no,
                      mine.fen, line.fen,
                      f"资金账单{what}金额不一致：我方 {_yuan(mine.fen)}，微信 {_yuan(line.fen)}")
            )  # fmt: skip
        else:
            matched += 1
    for mine in ours_of_day:
        expense = bool(mine.out_refund_no)
        if (expense, mine.out_refund_no if expense else mine.out_trade_no) in seen:
            continue
        what = "退款" if expense else "支付"
        found.append(
            Found(MismatchKind.FUND_MISSING_WECHAT, mine.out_trade_no, mine.out_refund_no,
                  mine.fen, None, f"我方当日{what}成功，微信资金账单没有此笔资金变动")
        )  # fmt: skip
    return matched, found


# -- our side ----------------------------------------------------------------------------


def _ours_of_day(operator_id: int, day: date) -> list[OurLine]:
    start, end = day_bounds(day)
    payments = db.session.scalars(
        select(TopUpPayment).where(
            TopUpPayment.operator_id == operator_id,
            TopUpPayment.state == TopUpState.PAID,
            TopUpPayment.paid_at >= start,
            TopUpPayment.paid_at < end,
        )
    )
    out = [OurLine(p.out_trade_no, "", p.amount_fen, p.state, True) for p in payments]
    parts = db.session.scalars(
        select(RefundPart)
        .join(TopUpPayment, RefundPart.payment_id == TopUpPayment.id)
        .where(
            TopUpPayment.operator_id == operator_id,
            RefundPart.state == RefundPartState.SUCCEEDED,
            RefundPart.finished_at >= start,
            RefundPart.finished_at < end,
        )
    )
    # a part whose whole share went to coupons already spent never reached WeChat
    out += [
        OurLine(p.payment.out_trade_no, p.out_refund_no, p.refund_fen, p.state, True)
        for p in parts
        if p.refund_fen > 0
    ]
    return out


def _known(operator_id: int, trade_nos: set[str], refund_nos: set[str]) -> dict[str, OurLine]:
    """Our records (any day, any state) of numbers WeChat lists."""
    out: dict[str, OurLine] = {}
    if trade_nos:
        for p in db.session.scalars(
            select(TopUpPayment).where(
                TopUpPayment.operator_id == operator_id, TopUpPayment.out_trade_no.in_(trade_nos)
            )
        ):
            out[p.out_trade_no] = OurLine(p.out_trade_no, "", p.amount_fen, p.state, False)
    if refund_nos:
        for part in db.session.scalars(
            select(RefundPart)
            .join(TopUpPayment, RefundPart.payment_id == TopUpPayment.id)
            .where(
                TopUpPayment.operator_id == operator_id, RefundPart.out_refund_no.in_(refund_nos)
            )
        ):
            out[part.out_refund_no] = OurLine(
                part.payment.out_trade_no, part.out_refund_no, part.refund_fen, part.state, False
            )
    return out


# -- the run -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Fetched:
    lines: list[bills.TradeLine] | None
    state: str = StatementRunState.OK
    error_code: str = ""
    error_message: str = ""
    fund: list[bills.FundLine] | None = None


_FUND_FLOW = "资金账单："


def _download(op: Operator, kind: str, day: date) -> bytes:
    creds = merchant_credentials(op)
    tar = "GZIP" if kind == "fundflow" else None
    answer = pay.apply_bill(creds, kind, day.isoformat(), tar_type=tar, endpoints=endpoints())
    return pay.download_bill(
        creds, str(answer["download_url"]), str(answer["hash_value"]), tar_type=tar
    )


def _fetch(op: Operator, day: date) -> _Fetched:
    """WeChat's trade bill of ``day``, then its fund-flow bill (no database work; the HTTP
    calls happen outside any unit of work). A fund-flow bill that does not exist while the
    trade bill does means no money moved that day (an empty list, to be matched)."""
    kind, prefix = "trade", ""
    try:
        lines, _summary = bills.parse_trade_bill(_download(op, kind, day))
        kind, prefix = "fundflow", _FUND_FLOW
        try:
            fund, _fund_summary = bills.parse_fund_flow_bill(_download(op, kind, day))
        except WeChatPayError as exc:
            if exc.code != NOT_READY_CODE:
                raise
            fund = []
    except WeChatPayError as exc:
        if exc.code == NOT_READY_CODE:
            return _Fetched(None, StatementRunState.NOT_READY, exc.code, str(exc)[:500])
        log.warning("statement (%s) of operator %s for %s failed: %s", kind, op.id, day, exc)
        return _Fetched(None, StatementRunState.FAILED, exc.code, (prefix + str(exc))[:500])
    except DomainError as exc:  # hash mismatch, format invalid
        log.warning("statement (%s) of operator %s for %s refused: %s", kind, op.id, day, exc.code)
        return _Fetched(None, StatementRunState.FAILED, exc.code, (prefix + exc.message)[:500])
    except (KeyError, TypeError) as exc:
        return _Fetched(
            None, StatementRunState.FAILED, "STATEMENT_ANSWER_INVALID", (prefix + repr(exc))[:500]
        )
    return _Fetched(lines, fund=fund)


def reconcile(operator_id: int, day: date, *, actor: Actor = SYSTEM) -> StatementRun:
    """Reconcile ``operator_id``'s trade bill of the China-local ``day``; replaces that day's
    earlier result. Needs the merchant configured (else 409 MERCHANT_NOT_CONFIGURED)."""
    op = db.session.get(Operator, operator_id)
    if op is None:
        raise NOT_FOUND("运营商不存在", details={"operator_id": operator_id})
    fetched = _fetch(op, day)
    with unit_of_work():
        run = db.session.scalar(
            select(StatementRun)
            .where(StatementRun.operator_id == operator_id, StatementRun.bill_date == day)
            .with_for_update()
        )
        if run is None:
            run = StatementRun(operator_id=operator_id, bill_date=day, state=fetched.state)
            db.session.add(run)
        run.mismatches.clear()
        run.mch_id = op.wechat_mch_id or ""
        run.ran_at = utcnow()
        run.started_by_id = actor.admin_id
        run.error_code, run.error_message = fetched.error_code, fetched.error_message
        ours = _ours_of_day(operator_id, day)
        run.our_lines = len(ours)
        run.our_total_fen = sum(-o.fen if o.out_refund_no else o.fen for o in ours)
        if fetched.lines is None:
            run.state = fetched.state
            run.wechat_lines = run.matched_lines = run.mismatch_count = 0
            run.wechat_total_fen = 0
        else:
            mine = {(o.out_trade_no, o.out_refund_no) for o in ours}
            trade_nos = {
                ln.out_trade_no
                for ln in fetched.lines
                if not ln.out_refund_no and (ln.out_trade_no, "") not in mine
            }
            refund_nos = {
                ln.out_refund_no
                for ln in fetched.lines
                if ln.out_refund_no and (ln.out_trade_no, ln.out_refund_no) not in mine
            }
            fund = fetched.fund or []
            income = {ln.voucher_no for ln in fund if ln.direction == bills.INCOME}
            expense = {ln.voucher_no for ln in fund if ln.direction == bills.EXPENSE}
            trade_nos |= {no for no in income if (no, "") not in mine}
            refund_nos |= {no for no in expense if no not in {o.out_refund_no for o in ours}}
            known = _known(operator_id, trade_nos, refund_nos)
            result = compare(fetched.lines, ours, known)
            _fund_matched, fund_found = compare_fund(fund, ours, known)
            found = result.mismatches + fund_found
            run.wechat_lines, run.matched_lines = result.wechat_lines, result.matched
            run.wechat_total_fen = result.wechat_total_fen
            run.mismatch_count = len(found)
            run.state = StatementRunState.MISMATCH if found else StatementRunState.OK
            for m in found:
                run.mismatches.append(
                    StatementMismatch(kind=m.kind, out_trade_no=m.out_trade_no,
                                      out_refund_no=m.out_refund_no, our_fen=m.our_fen,
                                      wechat_fen=m.wechat_fen, note=m.note[:200])
                )  # fmt: skip
        db.session.flush()
        if actor.admin_id is not None:
            audit.record(
                actor,
                "statement.run",
                "statement_run",
                run.id,
                operator_id=operator_id,
                after={"bill_date": day.isoformat(), "state": run.state,
                       "mismatches": run.mismatch_count},
            )  # fmt: skip
    return run


# -- for people (the console) ------------------------------------------------------------


def run_now(actor: Actor, operator_id: int | None, day_text: str) -> StatementRun:
    """The console's 立即对账: a past day of the actor's operator (audited)."""
    actor.require(RUN)
    day = parse_day(day_text)
    check_past_day(day)
    target = operator_id if actor.is_platform and operator_id else actor.operator_id
    if target is None or not actor.sees_operator(target):
        raise NOT_FOUND("运营商不存在", details={"operator_id": operator_id})
    return reconcile(target, day, actor=actor)


def list_runs(
    actor: Actor,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    operator_id: int | None = None,
    state: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> Page:
    actor.require(READ)
    if date_from and date_to and date_from > date_to:
        raise STATEMENT_DATE_INVALID(details={"from": str(date_from), "to": str(date_to)})
    stmt = scoped(select(StatementRun), StatementRun.operator_id, actor)
    if date_from:
        stmt = stmt.where(StatementRun.bill_date >= date_from)
    if date_to:
        stmt = stmt.where(StatementRun.bill_date <= date_to)
    if operator_id:
        stmt = stmt.where(StatementRun.operator_id == operator_id)
    if state:
        stmt = stmt.where(StatementRun.state == state)
    stmt = stmt.order_by(StatementRun.bill_date.desc(), StatementRun.id.desc())
    return paginate(stmt, page=page, page_size=page_size)


def get_run(actor: Actor, run_id: int) -> StatementRun:
    actor.require(READ)
    run = db.session.get(StatementRun, run_id)
    if run is None or not actor.sees_operator(run.operator_id):
        raise STATEMENT_RUN_NOT_FOUND(details={"id": run_id})
    return run


# -- the daily job -----------------------------------------------------------------------


def due_runs(now: datetime | None = None) -> tuple[date, list[int]]:
    """Yesterday (China) and the operators with a ready merchant not yet reconciled for it
    with a final result (ok / mismatch); nothing before 10:00 China time."""
    moment = now or utcnow()
    local = moment.astimezone(CHINA)
    day = local.date() - timedelta(days=1)
    if local.hour < READY_HOUR:
        return day, []
    done = set(
        db.session.scalars(
            select(StatementRun.operator_id).where(
                StatementRun.bill_date == day,
                StatementRun.state.in_((StatementRunState.OK, StatementRunState.MISMATCH)),
            )
        )
    )
    ops = db.session.scalars(select(Operator).where(Operator.wechat_mch_id != ""))
    return day, [op.id for op in ops if op.id not in done and merchant_ready(op)]


def reconcile_yesterday(now: datetime | None = None) -> int:
    """The scheduler's job: reconcile yesterday for every ready operator; returns how many
    runs it made. One operator's failure does not stop the others."""
    day, operator_ids = due_runs(now)
    made = 0
    for operator_id in operator_ids:
        try:
            reconcile(operator_id, day)
            made += 1
        except DomainError as exc:
            log.warning("statement job: operator %s %s: %s", operator_id, day, exc.code)
    return made
