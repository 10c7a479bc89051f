"""Part of the repository room: the bulk reads of a day's snapshot. The customers with
open invoices, those invoices with their promises, auto-collection retries, and the
history of what was sent. Every query is scoped to the tenant."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from arpolicy.engagement.pauses import live_pauses
from arpolicy.engagement.policy import Customer, History, Invoice
from arpolicy.ledger.documents import disputed_clause
from arpolicy.models import (
    DEBIT_TYPES,
    Allocation,
    Document,
    Email,
    EmailDocument,
    EmailMode,
    PaymentAttempt,
    PromiseStatus,
    PromiseToPay,
    Tenant,
    open_items_clause,
)
from arpolicy.models.payment import DunningStatus

CHUNK = 5_000
PROBE_ABOVE = 3
"""Invoice history rows per open invoice above which the history is read by probing."""
WHOLE_TABLE = 20_000
"""Above this many ids, read the tenant's whole table and keep the wanted rows (cheaper than
IN lists)."""


def fetch(session: Session, stmt: Any) -> Sequence[Any]:
    return session.connection().execute(stmt).all()


def _driver_rows(session: Session, stmt: Any) -> Sequence[Any]:
    """The rows as the driver gives them (no SQLAlchemy result processing: on SQLite dates
    stay ISO text): for the one query that reads every open invoice. Values are bound."""
    conn = session.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    args = tuple(params[k] for k in compiled.positiontup or ()) if compiled.positional else params
    return conn.exec_driver_sql(str(compiled), args).fetchall()


def _dates() -> Callable[[Any], date]:
    """ISO text (SQLite) or a date (PostgreSQL) as a date; each distinct text parsed once."""
    seen: dict[Any, date] = {}

    def convert(value: Any) -> date:
        found = seen.get(value)
        if found is None:
            found = seen[value] = date.fromisoformat(value) if isinstance(value, str) else value
        return found

    return convert


def open_invoices(
    session: Session,
    tenant: Tenant,
    day: date,
    customer_ids: Sequence[int] | None = None,
    *,
    as_of_balances: bool = False,
) -> dict[int, list[Invoice]]:
    """Each customer's open invoices and debit notes (balance > 0, not voided), with their
    promises. ``as_of_balances``: the balance on ``day`` (documents issued by then, less
    the allocations made by then) instead of today's, for backtests."""
    d = Document
    where = [d.tenant_id == tenant.id, d.voided.is_(False), d.doc_type.in_(DEBIT_TYPES)]
    if as_of_balances:
        where.append(d.document_date <= day)
    else:
        where.append(d.balance_minor > 0)
    stmt = select(
        d.id,
        d.customer_id,
        d.number,
        type_coerce(d.doc_type, String),
        d.document_date,
        d.due_date,
        d.currency,
        d.amount_minor,
        d.balance_minor,
        disputed_clause(tenant.id),
    ).where(*where)
    rows: list[Any] = []
    for chunk in chunks(customer_ids):
        q = stmt if chunk is None else stmt.where(d.customer_id.in_(chunk))
        rows += _driver_rows(session, q)
    paid: dict[int, int] = {}
    if as_of_balances and rows:
        a = Allocation
        for doc, total in fetch(
            session,
            select(a.document_id, func.sum(a.amount_minor))
            .where(a.tenant_id == tenant.id, a.allocated_on <= day)
            .group_by(a.document_id),
        ):
            paid[doc] = int(total or 0)
    promised, broken = _promises(session, tenant, day)
    out: dict[int, list[Invoice]] = defaultdict(list)
    as_date = _dates()
    for i, cid, number, doc_type, doc_date, due, ccy, amount, balance, disputed in rows:
        if as_of_balances:
            balance = amount - paid.get(i, 0)
            if balance <= 0:
                continue
        out[cid].append(
            Invoice(
                i,
                cid,
                number,
                doc_type,
                as_date(doc_date),
                as_date(due),
                ccy,
                amount,
                balance,
                bool(disputed),
                promised.get(("d", i)) if promised else None,
                broken.get(("d", i)) if broken else None,
            )
        )
    return out


def chunks(ids: Sequence[int] | None) -> Iterable[Sequence[int] | None]:
    if ids is None:
        yield None
        return
    for k in range(0, len(ids), CHUNK):
        yield ids[k : k + CHUNK]


def _promises(
    session: Session, tenant: Tenant, day: date
) -> tuple[dict[tuple[str, int], date], dict[tuple[str, int], date]]:
    """Open promises (latest date, still running on ``day``: a promise holds through the
    end of its day) and broken ones (latest date), per ("d", document) or ("c", customer)."""
    p = PromiseToPay
    promised: dict[tuple[str, int], date] = {}
    broken: dict[tuple[str, int], date] = {}
    stmt = select(p.customer_id, p.document_id, p.promised_on, p.status).where(
        p.tenant_id == tenant.id, p.status.in_([PromiseStatus.OPEN, PromiseStatus.BROKEN])
    )
    for cid, doc, on, status in fetch(session, stmt):
        key = ("d", doc) if doc is not None else ("c", cid)
        if status == PromiseStatus.OPEN and on >= day:
            promised[key] = max(on, promised.get(key, on))
        elif on < day:  # broken, or open and past its day: broken by now
            broken[key] = max(on, broken.get(key, on))
    return promised, broken


def customers(
    session: Session, tenant: Tenant, ids: Iterable[int], day: date, now: datetime
) -> dict[int, Customer]:
    from arpolicy.models import Customer as Row

    ids = sorted(set(ids))
    promised, broken = _promises(session, tenant, day)
    retrying = _retrying(session, tenant, now)
    manual = _last_manual(session, tenant)
    paused = live_pauses(session, tenant.id)
    out: dict[int, Customer] = {}
    c = Row
    wanted = set(ids)
    for chunk in [None] if len(ids) > WHOLE_TABLE else chunks(ids):
        stmt = select(
            c.id,
            c.external_id,
            c.name,
            c.country,
            c.timezone,
            c.language,
            c.locale,
            c.last_reply_at,
            c.last_email_at,
            c.auto_collection,
        ).where(c.tenant_id == tenant.id)
        if chunk is not None:
            stmt = stmt.where(c.id.in_(chunk))
        for cid, ext, name, country, tz, lang, loc, reply, email, auto in fetch(session, stmt):
            if cid not in wanted:
                continue
            out[cid] = Customer(
                cid,
                ext,
                name,
                country,
                tz,
                lang,
                loc,
                reply,
                email,
                manual.get(cid),
                promised.get(("c", cid)),
                broken.get(("c", cid)),
                bool(auto) and cid in retrying,
                paused.get(cid),
            )
    return out


def _retrying(session: Session, tenant: Tenant, now: datetime) -> set[int]:
    """Customers whose billing system is still retrying a payment (an attempt in dunning
    with a retry to come)."""
    a = PaymentAttempt
    stmt = (
        select(a.customer_id)
        .where(
            a.tenant_id == tenant.id,
            a.dunning_status == DunningStatus.IN_PROGRESS,
            or_(a.next_retry_at.is_(None), a.next_retry_at > now),
        )
        .distinct()
    )
    return {r[0] for r in fetch(session, stmt)}


def _last_manual(session: Session, tenant: Tenant) -> dict[int, datetime]:
    e = Email
    stmt = (
        select(e.customer_id, func.max(e.sent_at))
        .where(e.tenant_id == tenant.id, e.mode == EmailMode.MANUAL)
        .group_by(e.customer_id)
    )
    return {cid: at for cid, at in fetch(session, stmt) if at is not None}


def history(
    session: Session,
    tenant: Tenant,
    cycle_ids: Sequence[int],
    mode: EmailMode,
    customer_ids: Sequence[int] | None = None,
    open_ids: set[int] | None = None,
) -> dict[int, History]:
    """What each cycle decided in ``mode`` (suppressed emails count: they were decided):
    per open invoice and reminder the number of emails and the last one's day (from one
    covering index, ``ix_email_documents_history``), per customer and reminder the number
    of emails and the first and last day.

    ``open_ids``, the open invoices of the run, keeps the invoice history to them: read
    whole while it is small next to them (one index scan), and by probing the index for
    each open invoice once it has grown past a few rows per open invoice (years of
    history then cost nothing)."""
    out = {i: History() for i in cycle_ids}
    if not cycle_ids:
        return out
    ed, e, d = EmailDocument, Email, Document
    where = [ed.tenant_id == tenant.id, ed.mode == mode, ed.cycle_id.in_(cycle_ids)]
    if open_ids is not None:
        rows = (
            session.connection()
            .execute(select(func.count()).select_from(ed).where(*where))
            .scalar()
        )
        if int(rows or 0) > PROBE_ABOVE * max(len(open_ids), 1):
            where.append(
                ed.document_id.in_(
                    select(d.id).where(
                        d.tenant_id == tenant.id, open_items_clause(), d.balance_minor > 0
                    )
                )
            )
    docs = (
        select(ed.cycle_id, ed.document_id, ed.reminder, func.count(), func.max(ed.decided_on))
        .where(*where)
        .group_by(ed.cycle_id, ed.document_id, ed.reminder)
    )
    mails = (
        select(
            e.cycle_id,
            e.customer_id,
            e.reminder,
            func.count(),
            func.min(e.decided_at),
            func.max(e.decided_at),
        )
        .where(e.tenant_id == tenant.id, e.mode == mode, e.cycle_id.in_(cycle_ids))
        .group_by(e.cycle_id, e.customer_id, e.reminder)
    )
    if customer_ids is not None:
        mails = mails.where(e.customer_id.in_(customer_ids))
    as_date = _dates()
    for cycle, doc, reminder, n, last in _driver_rows(session, docs):
        if open_ids is not None and doc not in open_ids:
            continue
        h = out[cycle]
        h.invoice_counts[(doc, reminder)] = int(n)
        if last is not None:
            day = as_date(last)
            if day > h.invoice_last.get(doc, date.min):
                h.invoice_last[doc] = day
    days: dict[Any, date] = {}  # a run stamps all its emails with one instant: few values

    def local_day(at: Any) -> date:
        found = days.get(at)
        if found is None:
            found = days[at] = _day(at, tenant)
        return found

    for cycle, cid, reminder, n, first, last in _driver_rows(session, mails):
        h = out[cycle]
        h.customer_counts[(cid, reminder)] = int(n)
        f, la = local_day(first), local_day(last)
        h.customer_first[cid] = min(f, h.customer_first.get(cid, f))
        h.customer_last[cid] = max(la, h.customer_last.get(cid, la))
    return out


def _day(at: Any, tenant: Tenant) -> date:
    from arpolicy.kit.clock import zone

    if isinstance(at, str):  # SQLite aggregates return the stored text
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        from datetime import UTC

        at = at.replace(tzinfo=UTC)
    return at.astimezone(zone(tenant.timezone)).date()
