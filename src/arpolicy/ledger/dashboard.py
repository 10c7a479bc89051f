"""What the dashboard shows beside the tenant's figures (ledger/figures.py): the DSO of
the last twelve month ends, the customers most overdue, one finance owner's customers,
and the week's reminders, tasks and promises. Each is one or two aggregate statements,
never a query per customer (the DSO trend scans the debit documents of its 14 months, as
the figures' DSO scans its 90 days: no index serves ``document_date``).

The DSO trend is the tenant figure's own definition (figures.py ``_dso_days``) at each
month end: open debits today over the credit sales of the ``DSO_PERIOD_DAYS`` days before
that day. Open debits are today's balances at every point (the ledger keeps no balance
history), so each point equals ``GET /v1/reports/figures?as_of=<that day>``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from arpolicy.kit.money import Money
from arpolicy.ledger.figures import DSO_PERIOD_DAYS, TenantFigures
from arpolicy.models import (
    DEBIT_TYPES,
    Customer,
    Document,
    DocumentType,
    Email,
    EngagementTask,
    InboundEmail,
    InboundKind,
    PromiseStatus,
    PromiseToPay,
    TaskStatus,
    Tenant,
    open_items_clause,
)


@dataclass(frozen=True, slots=True)
class DsoPoint:
    on: date
    dso_days: Decimal | None


def month_ends(as_of: date, months: int = 12) -> list[date]:
    """The last day of each of the ``months - 1`` months before ``as_of``, then ``as_of``."""
    days: list[date] = []
    year, month = as_of.year, as_of.month
    for _ in range(months - 1):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        days.append(date(year, month, calendar.monthrange(year, month)[1]))
    return [*reversed(days), as_of]


def dso_trend(
    session: Session,
    tenant: Tenant,
    figures: TenantFigures,
    *,
    months: int = 12,
    period_days: int = DSO_PERIOD_DAYS,
) -> list[DsoPoint]:
    """DSO at each of :func:`month_ends` of ``figures.as_of``. One statement sums the
    credit sales (as figures_sql.sales_query counts them) per document day over the whole
    span; each point adds up the days of its window (exact integers)."""
    days = month_ends(figures.as_of, months)
    on = Document.document_date
    rows = session.execute(
        select(on, func.sum(Document.base_amount_minor))
        .where(
            Document.tenant_id == tenant.id,
            Document.doc_type.in_(DEBIT_TYPES),
            Document.voided.is_(False),
            on > days[0] - timedelta(days=period_days),
            on <= days[-1],
        )
        .group_by(on)
    )
    by_day = [(day, int(total or 0)) for day, total in rows]
    points = []
    for d in days:
        start = d - timedelta(days=period_days)
        sales = sum(total for day, total in by_day if start < day <= d)
        points.append(DsoPoint(d, _dso(figures.base.open_debits, sales, period_days)))
    return points


def _dso(open_debits: int, sales: int, days: int) -> Decimal | None:
    """figures._dso_days: open debits / credit sales of the period x its days."""
    if sales <= 0:
        return None
    return (Decimal(open_debits * days) / Decimal(sales)).quantize(Decimal("0.1"))


@dataclass(frozen=True, slots=True)
class OverdueCustomer:
    customer_id: int
    external_id: str
    name: str
    overdue: Money
    oldest_due: date

    def days_late(self, as_of: date) -> int:
        return (as_of - self.oldest_due).days


def _overdue_debits(tenant: Tenant, as_of: date) -> list[Any]:
    return [
        Document.tenant_id == tenant.id,
        open_items_clause(),
        Document.doc_type != DocumentType.CREDIT_NOTE,
        Document.due_date < as_of,
    ]


def top_overdue(
    session: Session, tenant: Tenant, as_of: date, *, limit: int = 10, owner_id: int | None = None
) -> list[OverdueCustomer]:
    """The customers with the most overdue debit balance (base currency), largest first;
    only ``owner_id``'s customers (as finance owner) when given."""
    total = func.sum(Document.base_balance_minor)
    stmt = (
        select(Document.customer_id, total.label("overdue"), func.min(Document.due_date))
        .where(*_overdue_debits(tenant, as_of))
        .group_by(Document.customer_id)
    )
    if owner_id is not None:
        owned = select(Customer.id).where(
            Customer.tenant_id == tenant.id, Customer.finance_owner_id == owner_id
        )
        stmt = stmt.where(Document.customer_id.in_(owned))
    top = stmt.order_by(total.desc(), Document.customer_id).limit(limit).subquery()
    rows = session.execute(
        select(Customer.id, Customer.external_id, Customer.name, *top.c[1:])
        .join(top, top.c.customer_id == Customer.id)
        .where(Customer.tenant_id == tenant.id)
        .order_by(top.c.overdue.desc(), Customer.id)
    )
    ccy = tenant.base_currency
    return [OverdueCustomer(r[0], r[1], r[2], Money.from_minor(int(r[3]), ccy), r[4]) for r in rows]


@dataclass(frozen=True, slots=True)
class OwnerSummary:
    """One finance owner's customers: how many, and their open and overdue debits."""

    customers: int
    open_debits: Money
    overdue: Money


def owner_summary(session: Session, tenant: Tenant, as_of: date, owner_id: int) -> OwnerSummary:
    """From the owner's customers (their index) to their open items (the open-items index)."""
    owned = select(Customer.id).where(
        Customer.tenant_id == tenant.id, Customer.finance_owner_id == owner_id
    )
    count = session.scalar(select(func.count()).select_from(owned.subquery())) or 0
    overdue = case((Document.due_date < as_of, Document.base_balance_minor))
    row = session.execute(
        select(func.sum(Document.base_balance_minor), func.sum(overdue)).where(
            Document.tenant_id == tenant.id,
            open_items_clause(),
            Document.doc_type != DocumentType.CREDIT_NOTE,
            Document.customer_id.in_(owned),
        )
    ).one()
    ccy = tenant.base_currency
    return OwnerSummary(
        count, Money.from_minor(int(row[0] or 0), ccy), Money.from_minor(int(row[1] or 0), ccy)
    )


@dataclass(frozen=True, slots=True)
class Activity:
    """Reminders sent, replies and bounces since a moment; open tasks; open promises
    falling due from today to ``until`` (inclusive)."""

    since: datetime
    sent: int
    replied: int
    bounced: int
    open_tasks: int
    promises_due: int
    promised: Money
    until: date


def activity(
    session: Session, tenant: Tenant, since: datetime, today: date, *, days: int = 7
) -> Activity:
    t = tenant.id
    count = func.count()
    sent = session.scalar(select(count).where(Email.tenant_id == t, Email.sent_at >= since))
    bounced = session.scalar(select(count).where(Email.tenant_id == t, Email.bounced_at >= since))
    replied = session.scalar(
        select(count).where(
            InboundEmail.tenant_id == t,
            InboundEmail.kind == InboundKind.REPLY,
            InboundEmail.received_at >= since,
        )
    )
    tasks = session.scalar(
        select(count).where(EngagementTask.tenant_id == t, EngagementTask.status == TaskStatus.OPEN)
    )
    until = today + timedelta(days=days)
    p = PromiseToPay
    promises = session.execute(
        select(count, func.sum(p.base_amount_minor)).where(
            p.tenant_id == t,
            p.status == PromiseStatus.OPEN,
            p.promised_on >= today,
            p.promised_on <= until,
        )
    ).one()
    return Activity(
        since=since,
        sent=int(sent or 0),
        replied=int(replied or 0),
        bounced=int(bounced or 0),
        open_tasks=int(tasks or 0),
        promises_due=int(promises[0] or 0),
        promised=Money.from_minor(int(promises[1] or 0), tenant.base_currency),
        until=until,
    )
