"""Loading what the decision needs, in bulk: the cycles compiled to sets (rules run as SQL),
the customers and their open invoices, promises, auto-collection retries, and the history
of what was sent. Every query is scoped to the tenant."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from arpolicy.engagement.config import Cycle, parse_cycle
from arpolicy.engagement.decide import CompiledCycle, Customer, History, Invoice, matcher
from arpolicy.engagement.merging import lists_steps
from arpolicy.ledger.catalogue import tenant_catalogue
from arpolicy.ledger.documents import disputed_clause
from arpolicy.ledger.rates import exchange
from arpolicy.ledger.selection import select_customers, select_invoices, select_payment_profiles
from arpolicy.models import (
    DEBIT_TYPES,
    Allocation,
    Contact,
    CycleStatus,
    Document,
    Email,
    EmailDocument,
    EmailMode,
    EngagementCycle,
    EngagementTask,
    PaymentAttempt,
    PromiseStatus,
    PromiseToPay,
    Tenant,
    User,
    open_items_clause,
)
from arpolicy.models.payment import DunningStatus
from arpolicy.rules import Catalogue, bind, check, from_json, parse
from arpolicy.rules.catalogue import Level

CHUNK = 5_000
PROBE_ABOVE = 3
"""Invoice history rows per open invoice above which the history is read by probing."""
WHOLE_TABLE = 20_000
"""Above this many ids, read the tenant's whole table and keep the wanted rows (cheaper than
IN lists)."""


def catalogue(session: Session, tenant: Tenant) -> Catalogue:
    return tenant_catalogue(session, tenant)


def rule_of(value: str | dict[str, Any]) -> Any:
    return parse(value) if isinstance(value, str) else from_json(value)


@dataclass(frozen=True)
class StoredCycle:
    row: EngagementCycle
    cycle: Cycle


def stored_cycles(
    session: Session, tenant: Tenant, statuses: Iterable[CycleStatus] | None = None,
    names: Sequence[str] | None = None,
) -> list[StoredCycle]:  # fmt: skip
    """The tenant's cycles by priority (then name), filtered by status or name."""
    stmt = select(EngagementCycle).where(EngagementCycle.tenant_id == tenant.id)
    if statuses is not None:
        stmt = stmt.where(EngagementCycle.status.in_(list(statuses)))
    if names is not None:
        stmt = stmt.where(EngagementCycle.name.in_(list(names)))
    rows = session.scalars(stmt.order_by(EngagementCycle.priority, EngagementCycle.name)).all()
    return [StoredCycle(r, parse_cycle(r.config)) for r in rows]


class Selector:
    """Rules run as SQL, each once per day: the ids they match."""

    def __init__(self, session: Session, tenant: Tenant, day: date) -> None:
        self.session, self.tenant, self.day = session, tenant, day
        self.cat = catalogue(session, tenant)
        self.exchange = exchange(session, tenant)  # money literals compare at its rates
        self.memo: dict[tuple[str, str], set[int]] = {}

    def ids(self, level: Level, rule: str | dict[str, Any] | None) -> set[int] | None:
        if rule is None:
            return None
        key = (level.value, rule if isinstance(rule, str) else repr(sorted(rule.items())))
        if key not in self.memo:
            fields = self.cat.level(level)
            bound = bind(check(rule_of(rule), fields), self.day, tz=self.tenant.timezone,
                         exchange=self.exchange)  # fmt: skip
            if level is Level.INVOICE:
                ids = self.invoices(bound, fields)
            elif level is Level.CUSTOMER:
                ids = select_customers(self.session, self.tenant, bound, fields)
            else:
                ids = select_payment_profiles(self.session, self.tenant, bound, fields)
            self.memo[key] = set(ids)
        return self.memo[key]

    def invoices(self, bound: Any, fields: Any) -> Iterable[int]:
        """Only invoices with a balance are ever reminded: the rule runs over those."""
        return select_invoices(self.session, self.tenant, bound, fields, open_only=True)


def compile_cycles(
    session: Session, tenant: Tenant, stored: Sequence[StoredCycle], day: date,
    selector: Selector | None = None,
) -> list[CompiledCycle]:  # fmt: skip
    sel = selector or Selector(session, tenant, day)
    out = []
    for s in stored:
        c = s.cycle
        customers, payment = sel.ids(Level.CUSTOMER, c.customer), sel.ids(Level.PAYMENT, c.payment)
        both = (
            customers
            if payment is None
            else (payment if customers is None else customers & payment)
        )
        out.append(CompiledCycle(
            s.row.id, c, matcher(both), matcher(sel.ids(Level.INVOICE, c.invoice)),
            [matcher(sel.ids(Level.INVOICE, r.when)) for r in c.reminders],
            [c.merge and lists_steps(r.template) for r in c.reminders],
        ))  # fmt: skip
    return out


def _rows(session: Session, stmt: Any) -> Sequence[Any]:
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
    session: Session, tenant: Tenant, day: date, customer_ids: Sequence[int] | None = None,
    *, as_of_balances: bool = False,
) -> dict[int, list[Invoice]]:  # fmt: skip
    """Each customer's open invoices and debit notes (balance > 0, not voided), with their
    promises. ``as_of_balances``: the balance on ``day`` (documents issued by then, less
    the allocations made by then) instead of today's, for backtests."""
    d = Document
    where = [d.tenant_id == tenant.id, d.voided.is_(False), d.doc_type.in_(DEBIT_TYPES)]
    if as_of_balances:
        where.append(d.document_date <= day)
    else:
        where.append(d.balance_minor > 0)
    stmt = select(d.id, d.customer_id, d.number, type_coerce(d.doc_type, String), d.document_date,
                  d.due_date, d.currency, d.amount_minor, d.balance_minor, disputed_clause(tenant.id)).where(*where)  # fmt: skip
    rows: list[Any] = []
    for chunk in _chunks(customer_ids):
        q = stmt if chunk is None else stmt.where(d.customer_id.in_(chunk))
        rows += _driver_rows(session, q)
    paid: dict[int, int] = {}
    if as_of_balances and rows:
        a = Allocation
        for doc, total in _rows(session, select(a.document_id, func.sum(a.amount_minor))
                                .where(a.tenant_id == tenant.id, a.allocated_on <= day)
                                .group_by(a.document_id)):  # fmt: skip
            paid[doc] = int(total or 0)
    promised, broken = _promises(session, tenant, day)
    out: dict[int, list[Invoice]] = defaultdict(list)
    as_date = _dates()
    for i, cid, number, doc_type, doc_date, due, ccy, amount, balance, disputed in rows:
        if as_of_balances:
            balance = amount - paid.get(i, 0)
            if balance <= 0:
                continue
        out[cid].append(Invoice(
            i, cid, number, doc_type, as_date(doc_date), as_date(due), ccy, amount, balance, bool(disputed),
            promised.get(("d", i)) if promised else None, broken.get(("d", i)) if broken else None,
        ))  # fmt: skip
    return out


def _chunks(ids: Sequence[int] | None) -> Iterable[Sequence[int] | None]:
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
    for cid, doc, on, status in _rows(session, stmt):
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
    out: dict[int, Customer] = {}
    c = Row
    wanted = set(ids)
    for chunk in [None] if len(ids) > WHOLE_TABLE else _chunks(ids):
        stmt = select(c.id, c.external_id, c.name, c.country, c.timezone, c.language, c.locale,
                      c.last_reply_at, c.last_email_at, c.auto_collection).where(c.tenant_id == tenant.id)  # fmt: skip
        if chunk is not None:
            stmt = stmt.where(c.id.in_(chunk))
        for cid, ext, name, country, tz, lang, loc, reply, email, auto in _rows(session, stmt):
            if cid not in wanted:
                continue
            out[cid] = Customer(cid, ext, name, country, tz, lang, loc, reply, email,
                                manual.get(cid), promised.get(("c", cid)), broken.get(("c", cid)),
                                bool(auto) and cid in retrying)  # fmt: skip
    return out


def _retrying(session: Session, tenant: Tenant, now: datetime) -> set[int]:
    """Customers whose billing system is still retrying a payment (an attempt in dunning
    with a retry to come)."""
    a = PaymentAttempt
    stmt = select(a.customer_id).where(
        a.tenant_id == tenant.id, a.dunning_status == DunningStatus.IN_PROGRESS,
        or_(a.next_retry_at.is_(None), a.next_retry_at > now),
    ).distinct()  # fmt: skip
    return {r[0] for r in _rows(session, stmt)}


def _last_manual(session: Session, tenant: Tenant) -> dict[int, datetime]:
    e = Email
    stmt = select(e.customer_id, func.max(e.sent_at)).where(
        e.tenant_id == tenant.id, e.mode == EmailMode.MANUAL
    ).group_by(e.customer_id)  # fmt: skip
    return {cid: at for cid, at in _rows(session, stmt) if at is not None}


def history(
    session: Session, tenant: Tenant, cycle_ids: Sequence[int], mode: EmailMode,
    customer_ids: Sequence[int] | None = None, open_ids: set[int] | None = None,
) -> dict[int, History]:  # fmt: skip
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
            where.append(ed.document_id.in_(
                select(d.id).where(d.tenant_id == tenant.id, open_items_clause(), d.balance_minor > 0)))  # fmt: skip
    docs = select(ed.cycle_id, ed.document_id, ed.reminder, func.count(), func.max(ed.decided_on)).where(
        *where).group_by(ed.cycle_id, ed.document_id, ed.reminder)  # fmt: skip
    mails = select(e.cycle_id, e.customer_id, e.reminder, func.count(), func.min(e.decided_at),
                   func.max(e.decided_at)).where(
        e.tenant_id == tenant.id, e.mode == mode, e.cycle_id.in_(cycle_ids)
    ).group_by(e.cycle_id, e.customer_id, e.reminder)  # fmt: skip
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


def task_keys(session: Session, tenant: Tenant, keys: Sequence[str]) -> set[str]:
    """Which of these task keys the runs already created."""
    t = EngagementTask
    out: set[str] = set()
    for k in range(0, len(keys), CHUNK):
        stmt = select(t.key).where(t.tenant_id == tenant.id, t.key.in_(keys[k : k + CHUNK]))
        out |= {r[0] for r in _rows(session, stmt)}
    return out


def emails_today(session: Session, tenant: Tenant, start: datetime, end: datetime) -> int:
    e = Email
    stmt = select(func.count()).select_from(e).where(
        e.tenant_id == tenant.id, e.mode != EmailMode.MANUAL, e.decided_at >= start,
        e.decided_at < end,
    )  # fmt: skip
    return int(session.connection().execute(stmt).scalar() or 0)


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    name: str | None


def people(session: Session, tenant: Tenant) -> dict[int, Person]:
    u = User
    stmt = select(u.id, u.email, u.name).where(u.tenant_id == tenant.id)
    return {i: Person(i, e, n) for i, e, n in _rows(session, stmt)}


def owners(session: Session, tenant: Tenant, ids: Sequence[int]) -> dict[int, tuple[Any, Any]]:
    from arpolicy.models import Customer as Row

    out: dict[int, tuple[Any, Any]] = {}
    for chunk in _chunks(list(ids)):
        stmt = select(Row.id, Row.finance_owner_id, Row.sales_owner_id).where(
            Row.tenant_id == tenant.id, Row.id.in_(chunk or [])
        )
        out.update({i: (f, s) for i, f, s in _rows(session, stmt)})
    return out


@dataclass(frozen=True)
class Address:
    email: str
    name: str | None
    language: str | None
    billing: bool
    primary: bool


def addresses(session: Session, tenant: Tenant, ids: Sequence[int]) -> dict[int, list[Address]]:
    """Each customer's usable addresses (an e-mail, not bounced, not unsubscribed)."""
    k = Contact
    out: dict[int, list[Address]] = defaultdict(list)
    for chunk in _chunks(list(ids)):
        stmt = select(k.customer_id, k.email, k.name, k.language, k.is_billing, k.is_primary).where(
            k.tenant_id == tenant.id, k.customer_id.in_(chunk or []), k.email.is_not(None),
            k.bounced.is_(False), k.unsubscribed.is_(False),
        ).order_by(k.customer_id, k.id)  # fmt: skip
        for cid, email, name, lang, billing, primary in _rows(session, stmt):
            if email and email.strip():
                out[cid].append(Address(email.strip(), name, lang, bool(billing), bool(primary)))
    return out
