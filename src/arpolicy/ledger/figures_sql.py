"""The aggregate queries behind the AR figures (see figures.py for the definitions).

Every figure is a ``SUM(CASE ...)`` over integer minor units, so the database does the
scanning and totals are exact. Ageing compares ``due_date`` with cut-off dates computed once
from ``as_of`` (no date arithmetic per row): the same SQL on SQLite and PostgreSQL, served
by the open-items index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, select
from sqlalchemy.orm import Session

from arpolicy.kit.money import Money
from arpolicy.ledger.buckets import bucket_ranges
from arpolicy.models import (
    DEBIT_TYPES,
    Dispute,
    DisputeStatus,
    Document,
    DocumentType,
    Payment,
    PaymentAttempt,
    PromiseStatus,
    PromiseToPay,
    Tenant,
    open_items_clause,
)

AMOUNTS = (
    "open_debits",
    "unutilised_credit",
    "unaccounted_payment",
    "outstanding",
    "overdue",
    "net_overdue",
    "open_issue",
    "open_p2p",
)


@dataclass(slots=True)
class Amounts:
    """One set of figures in one currency, as integer minor units."""

    currency: str
    open_debits: int = 0
    unutilised_credit: int = 0
    unaccounted_payment: int = 0
    overdue: int = 0
    open_issue: int = 0
    open_p2p: int = 0
    buckets: list[int] = field(default_factory=list)

    @property
    def outstanding(self) -> int:
        return self.open_debits - self.unutilised_credit - self.unaccounted_payment

    @property
    def net_overdue(self) -> int:
        return self.overdue - self.unutilised_credit

    def money(self, name: str) -> Money:
        return Money.from_minor(getattr(self, name), self.currency)

    def to_json(self, labels: Sequence[str]) -> dict[str, Any]:
        data: dict[str, Any] = {"currency": self.currency}
        for name in AMOUNTS:
            data[name] = self.money(name).to_json()["amount"]
        data["ageing"] = {
            label: Money.from_minor(v, self.currency).to_json()["amount"]
            for label, v in zip(labels, self.buckets, strict=True)
        }
        return data


def _sum_if(condition: Any, column: Any) -> Any:
    # No ELSE: SUM skips NULLs, and an empty group gives NULL, read as 0.
    return func.sum(case((condition, column)))


def document_sums(tenant: Tenant, as_of: date, column: Any) -> list[Any]:
    """Unutilised credit, then the debit balance of each ageing bucket. Open debits and
    overdue are sums of buckets, so they cost no extra expression per row."""
    debit = Document.doc_type != DocumentType.CREDIT_NOTE
    sums = [_sum_if(~debit, column)]
    for lower, upper in bucket_ranges(as_of, tenant.ageing_bounds):
        cond = [debit]
        if lower is not None:
            cond.append(Document.due_date >= lower)
        if upper is not None:
            cond.append(Document.due_date < upper)
        sums.append(_sum_if(and_(*cond), column))
    return sums


def _keyed(model: Any, per_customer: bool) -> Any:
    return model.customer_id if per_customer else literal(0).label("k")


def _scope(
    stmt: Select[Any],
    model: Any,
    tenant: Tenant,
    per_customer: bool,
    customer_ids: Sequence[int] | None,
) -> Select[Any]:
    stmt = stmt.where(model.tenant_id == tenant.id)
    if customer_ids is not None:
        stmt = stmt.where(model.customer_id.in_(customer_ids))
    return stmt.group_by(model.customer_id) if per_customer else stmt


def documents_query(
    tenant: Tenant,
    as_of: date,
    per_customer: bool = True,
    customer_ids: Sequence[int] | None = None,
) -> Select[Any]:
    """Open-item aggregates (base columns, then local ones), per customer or tenant-wide."""
    stmt = select(
        _keyed(Document, per_customer),
        func.min(Document.currency),
        func.max(Document.currency),
        *document_sums(tenant, as_of, Document.base_balance_minor),
        *document_sums(tenant, as_of, Document.balance_minor),
    ).where(open_items_clause())
    return _scope(stmt, Document, tenant, per_customer, customer_ids)


def _side_queries(as_of: date) -> list[tuple[str, Any, Any, Any, list[Any], list[Any]]]:
    """(figure, model, base column, local column, filters, extra columns) of the figures that
    come from tables other than documents."""
    return [
        (
            "unaccounted_payment",
            Payment,
            Payment.base_unallocated_minor,
            Payment.unallocated_minor,
            [Payment.unallocated_minor != 0],
            [],
        ),
        (
            "open_issue",
            Dispute,
            Dispute.base_amount_minor,
            Dispute.amount_minor,
            [Dispute.status == DisputeStatus.OPEN],
            [],
        ),
        (
            "open_p2p",
            PromiseToPay,
            PromiseToPay.base_amount_minor,
            PromiseToPay.amount_minor,
            [PromiseToPay.status == PromiseStatus.OPEN, PromiseToPay.promised_on >= as_of],
            [func.min(PromiseToPay.promised_on)],
        ),
    ]


@dataclass(slots=True)
class Partial:
    """What the aggregate queries found for one key (a customer, or the whole tenant)."""

    base: Amounts
    local: list[int]
    currencies: set[str] = field(default_factory=set)
    next_p2p: date | None = None
    attempts: int = 0
    document_attempts: int = 0
    attempted_documents: int = 0
    dso_sales: int = 0

    @classmethod
    def empty(cls, tenant: Tenant) -> Partial:
        nb = len(tenant.ageing_bounds) + 2
        return cls(Amounts(tenant.base_currency, buckets=[0] * nb), [0] * (nb + 6))

    def local_amounts(self, fallback: str | None) -> Amounts | None:
        if len(self.currencies) > 1:
            return None
        ccy = next(iter(self.currencies)) if self.currencies else fallback
        if ccy is None:
            return None
        nb, v = len(self.base.buckets), self.local
        return Amounts(
            ccy,
            open_debits=v[0],
            unutilised_credit=v[1],
            overdue=v[2],
            buckets=v[3 : 3 + nb],
            unaccounted_payment=v[3 + nb],
            open_issue=v[4 + nb],
            open_p2p=v[5 + nb],
        )


def aggregate(
    session: Session,
    tenant: Tenant,
    as_of: date,
    per_customer: bool,
    customer_ids: Sequence[int] | None,
    dso_days: int,
) -> dict[int, Partial]:
    """Run every aggregate query once and gather the results by key."""
    nb = len(tenant.ageing_bounds) + 2
    found: dict[int, Partial] = {}

    def slot(key: int) -> Partial:
        return found.setdefault(key, Partial.empty(tenant))

    docs = documents_query(tenant, as_of, per_customer, customer_ids)
    for key, lo, hi, *vals in session.connection().execute(docs):
        if lo is None:  # tenant-wide query over no rows
            continue
        p = slot(key)
        p.currencies.update((lo, hi))
        base = [int(v or 0) for v in vals[: 1 + nb]]
        local = [int(v or 0) for v in vals[1 + nb :]]
        p.base.unutilised_credit, p.base.buckets = base[0], base[1:]
        p.base.open_debits, p.base.overdue = sum(base[1:]), sum(base[2:])
        p.local[: 3 + nb] = [sum(local[1:]), local[0], sum(local[2:]), *local[1:]]

    for i, (attr, model, base_col, local_col, where, extra) in enumerate(_side_queries(as_of)):
        stmt = select(
            _keyed(model, per_customer),
            func.min(model.currency),
            func.max(model.currency),
            func.sum(base_col),
            func.sum(local_col),
            *extra,
        ).where(*where)
        for key, lo, hi, bsum, lsum, *more in session.connection().execute(
            _scope(stmt, model, tenant, per_customer, customer_ids)
        ):
            if lo is None:
                continue
            p = slot(key)
            p.currencies.update((lo, hi))
            setattr(p.base, attr, int(bsum))
            p.local[3 + nb + i] = int(lsum)
            if more:
                p.next_p2p = more[0]

    attempts = select(
        _keyed(PaymentAttempt, per_customer),
        func.count(),
        func.count(PaymentAttempt.document_id),
        func.count(PaymentAttempt.document_id.distinct()),
    )
    attempts = _scope(attempts, PaymentAttempt, tenant, per_customer, customer_ids)
    for key, n, on_docs, docs_attempted in session.connection().execute(attempts):
        if n:
            p = slot(key)
            p.attempts, p.document_attempts = int(n), int(on_docs)
            p.attempted_documents = int(docs_attempted)

    sales = select(_keyed(Document, per_customer), func.sum(Document.base_amount_minor)).where(
        Document.doc_type.in_(DEBIT_TYPES),
        Document.voided.is_(False),
        Document.document_date > as_of - timedelta(days=dso_days),
        Document.document_date <= as_of,
    )
    for key, total in session.connection().execute(
        _scope(sales, Document, tenant, per_customer, customer_ids)
    ):
        if total:
            slot(key).dso_sales = int(total)
    return found
