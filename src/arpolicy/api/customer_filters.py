"""The customer list's filters beyond the columns (the app's Customers screen; the API's
``GET /v1/customers`` filters the columns alike): an ageing bucket, disputed, reminders
paused, the engagement cycle. The bucket filter is a correlated EXISTS probe (the open-items index by customer serves the bucket): walking the customers in the
page's order, a page stops after 50 matches, so a common filter costs little at 100,000
customers (an ``IN (subquery)`` read every open item of the tenant first: 0.6 to 1 s on
the 1,000,000-invoice bench). Disputes and pauses are few: ``IN (subquery)``. No count of the
whole list is made.

A customer is *in a bucket* when it has an open debit (invoice or debit note with a
balance) whose days past due fall in it; *disputed* when it has an open dispute (what the
"in dispute" figure sums); *paused* when its reminders are paused by
hand or by an open promise to pay for the account running today (the pauses the
engagement decision applies whatever its settings); *in a cycle* as the run takes it (the
first live or test cycle whose rules it matches, engagement.customer_state).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.orm import Session

from arpolicy.api.listing import contains
from arpolicy.engagement.customer_state import cycle_members
from arpolicy.exceptions import ValidationError
from arpolicy.ledger.buckets import bucket_labels, bucket_ranges
from arpolicy.models import (
    DEBIT_TYPES,
    Customer,
    CycleStatus,
    Dispute,
    DisputeStatus,
    Document,
    EngagementCycle,
    PromiseStatus,
    PromiseToPay,
    ReminderPause,
    Tenant,
    User,
    open_items_clause,
)

SORTABLE = {"name": Customer.name, "external_id": Customer.external_id, "id": Customer.id}


@dataclass(frozen=True)
class CustomerFilter:
    q: str | None = None
    owner_id: int | None = None
    unowned: bool = False
    country: str | None = None
    currency: str | None = None
    bucket: str | None = None
    cycle: str | None = None
    paused: bool | None = None
    disputed: bool | None = None


def _bucket(tenant: Tenant, label: str, today: date) -> Any:
    labels = bucket_labels(tenant.ageing_bounds)
    if label not in labels:
        raise ValidationError(
            f"{label!r} is not an ageing bucket", where="bucket", fix=f"choose {', '.join(labels)}"
        )
    low, high = bucket_ranges(today, tenant.ageing_bounds)[labels.index(label)]
    d = Document
    where = [
        d.tenant_id == tenant.id,
        d.customer_id == Customer.id,
        open_items_clause(),
        d.doc_type.in_(DEBIT_TYPES),
        d.balance_minor > 0,
    ]
    if low is not None:
        where.append(d.due_date >= low)
    if high is not None:
        where.append(d.due_date < high)
    return exists().where(*where)


def _disputed(tenant_id: int) -> Any:
    d = Dispute
    disputes = select(d.customer_id).where(d.tenant_id == tenant_id, d.status == DisputeStatus.OPEN)
    return Customer.id.in_(disputes)


def _paused(tenant_id: int, today: date) -> Any:
    p, pr = ReminderPause, PromiseToPay
    by_hand = select(p.customer_id).where(p.tenant_id == tenant_id, p.resumed_at.is_(None))
    promised = select(pr.customer_id).where(
        pr.tenant_id == tenant_id,
        pr.status == PromiseStatus.OPEN,
        pr.document_id.is_(None),
        pr.promised_on >= today,
    )
    return or_(Customer.id.in_(by_hand), Customer.id.in_(promised))


def _search(text: str) -> Any:
    found = contains(Customer.name, Customer.external_id, text=text)
    if text.isdigit() and len(text) < 10:
        found = or_(found, Customer.id == int(text))
    return found


def customer_query(session: Session, tenant: Tenant, f: CustomerFilter, today: date) -> Select[Any]:
    """The tenant's customers that pass ``f`` on ``today`` (unsorted: page it with
    api.listing.rows and :data:`SORTABLE`)."""
    c = Customer
    stmt = select(c).where(c.tenant_id == tenant.id)
    if f.q:
        stmt = stmt.where(_search(f.q.strip()))
    if f.unowned:
        stmt = stmt.where(c.finance_owner_id.is_(None))
    elif f.owner_id is not None:
        stmt = stmt.where(c.finance_owner_id == f.owner_id)
    if f.country:
        stmt = stmt.where(c.country == f.country.upper())
    if f.currency:
        stmt = stmt.where(c.currency == f.currency.upper())
    if f.bucket:
        stmt = stmt.where(_bucket(tenant, f.bucket, today))
    if f.disputed is not None:
        clause = _disputed(tenant.id)
        stmt = stmt.where(clause if f.disputed else ~clause)
    if f.paused is not None:
        clause = _paused(tenant.id, today)
        stmt = stmt.where(clause if f.paused else ~clause)
    if f.cycle:
        members = cycle_members(session, tenant, f.cycle, today)
        parts = []
        if members.include is not None:
            parts.append(c.id.in_(sorted(members.include)))
        if members.exclude:
            parts.append(c.id.not_in(sorted(members.exclude)))
        if parts:
            stmt = stmt.where(and_(*parts))
    return stmt


def paused_ids(session: Session, tenant_id: int, today: date, ids: Sequence[int]) -> set[int]:
    """Which of the customers ``ids`` have their reminders paused (as the ``paused``
    filter counts it)."""
    if not ids:
        return set()
    stmt = select(Customer.id).where(
        Customer.tenant_id == tenant_id, Customer.id.in_(list(ids)), _paused(tenant_id, today)
    )
    return set(session.scalars(stmt))


def tenant_users(session: Session, tenant_id: int) -> list[tuple[int, str]]:
    """(id, name) of the tenant's active users, by name: the owners a list can filter by."""
    u = User
    stmt = select(u.id, u.name).where(u.tenant_id == tenant_id, u.active).order_by(u.name, u.id)
    return [(i, n) for i, n in session.execute(stmt)]


def user_names(session: Session, tenant_id: int, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    stmt = select(User.id, User.name).where(User.tenant_id == tenant_id, User.id.in_(wanted))
    return {i: n for i, n in session.execute(stmt)}


def running_cycles(session: Session, tenant_id: int) -> list[str]:
    """The names of the live and test cycles (those a customer can be in), by name."""
    e = EngagementCycle
    stmt = select(e.name).where(
        e.tenant_id == tenant_id, e.status.in_([CycleStatus.LIVE, CycleStatus.TEST])
    )
    return sorted(session.scalars(stmt))
