"""One customer's items for its sheet: open documents with days past due, the latest
payments with their allocations, promises to pay and disputes. A few queries per sheet,
each bounded, none per row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.kit.money import Money
from arpolicy.models import (
    Allocation,
    Dispute,
    DisputeStatus,
    Document,
    Payment,
    PromiseStatus,
    PromiseToPay,
    open_items_clause,
)

MAX_DOCUMENTS = 200
MAX_PAYMENTS = 20
MAX_PROMISES = 50


@dataclass(frozen=True)
class OpenDocument:
    row: Document
    days_past_due: int

    @property
    def balance(self) -> Money:
        return Money.from_minor(self.row.balance_minor, self.row.currency)

    @property
    def amount(self) -> Money:
        return Money.from_minor(self.row.amount_minor, self.row.currency)


@dataclass
class PaymentWithAllocations:
    row: Payment
    allocations: list[tuple[str, Money, date]] = field(default_factory=list)
    """(document number, amount, allocated on)."""

    @property
    def amount(self) -> Money:
        return Money.from_minor(self.row.amount_minor, self.row.currency)

    @property
    def unallocated(self) -> Money:
        return Money.from_minor(self.row.unallocated_minor, self.row.currency)


def open_documents(
    session: Session, tenant_id: int, customer_id: int, today: date
) -> tuple[list[OpenDocument], bool]:
    """The open documents, oldest due first (and whether there are more than shown)."""
    d = Document
    stmt = (
        select(d)
        .where(d.tenant_id == tenant_id, d.customer_id == customer_id, open_items_clause())
        .order_by(d.due_date, d.id)
        .limit(MAX_DOCUMENTS + 1)
    )
    found = list(session.scalars(stmt))
    docs = [OpenDocument(r, max((today - r.due_date).days, 0)) for r in found[:MAX_DOCUMENTS]]
    return docs, len(found) > MAX_DOCUMENTS


def payments(session: Session, tenant_id: int, customer_id: int) -> list[PaymentWithAllocations]:
    """The latest payments, newest first, each with what it paid (two queries)."""
    p, a, d = Payment, Allocation, Document
    stmt = (
        select(p)
        .where(p.tenant_id == tenant_id, p.customer_id == customer_id)
        .order_by(p.received_on.desc(), p.id.desc())
        .limit(MAX_PAYMENTS)
    )
    out = [PaymentWithAllocations(r) for r in session.scalars(stmt)]
    if not out:
        return out
    by_id = {x.row.id: x for x in out}
    parts: dict[int, list[tuple[str, Money, date]]] = defaultdict(list)
    rows = session.execute(
        select(a.payment_id, d.number, d.currency, a.amount_minor, a.allocated_on)
        .join(d, (d.tenant_id == a.tenant_id) & (d.id == a.document_id))
        .where(a.tenant_id == tenant_id, a.payment_id.in_(list(by_id)))
        .order_by(a.allocated_on, a.id)
    )
    for pid, number, ccy, minor, on in rows:
        parts[pid].append((number, Money.from_minor(minor, ccy), on))
    for pid, found in parts.items():
        by_id[pid].allocations = found
    return out


def promises(session: Session, tenant_id: int, customer_id: int) -> Sequence[PromiseToPay]:
    """Open promises first (soonest first), then the others (newest first)."""
    p = PromiseToPay
    stmt = (
        select(p)
        .where(p.tenant_id == tenant_id, p.customer_id == customer_id)
        .order_by((p.status != PromiseStatus.OPEN), p.promised_on.desc(), p.id.desc())
        .limit(MAX_PROMISES)
    )
    found = list(session.scalars(stmt))
    live = sorted((x for x in found if x.status == PromiseStatus.OPEN), key=lambda x: x.promised_on)
    return live + [x for x in found if x.status != PromiseStatus.OPEN]


def disputes(session: Session, tenant_id: int, customer_id: int) -> Sequence[Dispute]:
    """Open disputes first, then the others (newest first)."""
    x = Dispute
    stmt = (
        select(x)
        .where(x.tenant_id == tenant_id, x.customer_id == customer_id)
        .order_by((x.status != DisputeStatus.OPEN), x.opened_on.desc(), x.id.desc())
        .limit(MAX_PROMISES)
    )
    return session.scalars(stmt).all()
