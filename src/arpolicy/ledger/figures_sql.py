"""The aggregate queries behind the AR figures (see figures.py for the definitions).

Every figure is a ``SUM(CASE ...)`` over integer minor units, so the database does the
scanning and totals are exact. Ageing compares ``due_date`` with cut-off dates computed once
from ``as_of`` (no date arithmetic per row): the same SQL on SQLite and PostgreSQL, served
by the open-items index.

Each query here is written once and read three ways: grouped by customer as a subquery of
the per-customer figures query (figures_view.py: the customer figures and the rule
language's bulk selection), grouped by document for the per-invoice figures of the rules,
and tenant-wide by :func:`aggregate` (tenant_figures).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, select
from sqlalchemy.orm import Session

from arpolicy.kit.money import Money, minor_text
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
SIDES = ("unaccounted_payment", "open_issue", "open_p2p")
"""The figures that come from tables other than documents, in :func:`side_query` order."""


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
        ccy = self.currency
        data: dict[str, Any] = {"currency": ccy}
        for name in AMOUNTS:
            data[name] = minor_text(getattr(self, name), ccy)
        data["ageing"] = {
            label: minor_text(v, ccy) for label, v in zip(labels, self.buckets, strict=True)
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
    """Open-item aggregates, per customer or tenant-wide: the lowest and highest currency
    (``lo``, ``hi``), then :func:`document_sums` in the base currency (``b0``: unutilised
    credit, ``b1``...: the buckets) and in the documents' own (``l0``, ``l1``...)."""
    base = document_sums(tenant, as_of, Document.base_balance_minor)
    local = document_sums(tenant, as_of, Document.balance_minor)
    stmt = select(
        _keyed(Document, per_customer),
        func.min(Document.currency).label("lo"),
        func.max(Document.currency).label("hi"),
        *(s.label(f"b{i}") for i, s in enumerate(base)),
        *(s.label(f"l{i}") for i, s in enumerate(local)),
    ).where(open_items_clause())
    return _scope(stmt, Document, tenant, per_customer, customer_ids)


@dataclass(frozen=True, slots=True)
class Side:
    """A figure from another table than documents: its rows, and the amount columns."""

    model: Any
    base: Any
    local: Any
    where: tuple[Any, ...]


def side(figure: str, as_of: date) -> Side:
    """The rows and amounts of one of :data:`SIDES` as of a date."""
    if figure == "unaccounted_payment":
        return Side(
            Payment,
            Payment.base_unallocated_minor,
            Payment.unallocated_minor,
            (Payment.unallocated_minor != 0,),
        )
    if figure == "open_issue":
        return Side(
            Dispute,
            Dispute.base_amount_minor,
            Dispute.amount_minor,
            (Dispute.status == DisputeStatus.OPEN,),
        )
    if figure == "open_p2p":
        return Side(
            PromiseToPay,
            PromiseToPay.base_amount_minor,
            PromiseToPay.amount_minor,
            (PromiseToPay.status == PromiseStatus.OPEN, PromiseToPay.promised_on >= as_of),
        )
    raise KeyError(figure)


def side_query(
    figure: str,
    tenant: Tenant,
    as_of: date,
    per_customer: bool = True,
    customer_ids: Sequence[int] | None = None,
) -> Select[Any]:
    """``lo``, ``hi`` (currencies), ``base``, ``local`` sums of one side figure, and for
    promises the earliest date (``next_p2p``)."""
    s = side(figure, as_of)
    extra = (
        [func.min(PromiseToPay.promised_on).label("next_p2p")] if s.model is PromiseToPay else []
    )
    stmt = select(
        _keyed(s.model, per_customer),
        func.min(s.model.currency).label("lo"),
        func.max(s.model.currency).label("hi"),
        func.sum(s.base).label("base"),
        func.sum(s.local).label("local"),
        *extra,
    ).where(*s.where)
    return _scope(stmt, s.model, tenant, per_customer, customer_ids)


def per_document_query(
    figure: str, tenant: Tenant, as_of: date, document_ids: Sequence[int] | None = None
) -> Select[Any]:
    """A side figure per document (``did``): ``amount`` in the record's own currency, and
    for promises the earliest date (``next_p2p``)."""
    s = side(figure, as_of)
    extra = (
        [func.min(PromiseToPay.promised_on).label("next_p2p")] if s.model is PromiseToPay else []
    )
    stmt = (
        select(s.model.document_id.label("did"), func.sum(s.local).label("amount"), *extra)
        .where(s.model.tenant_id == tenant.id, s.model.document_id.is_not(None), *s.where)
        .group_by(s.model.document_id)
    )
    return stmt if document_ids is None else stmt.where(s.model.document_id.in_(document_ids))


def attempts_query(
    tenant: Tenant, per_customer: bool = True, customer_ids: Sequence[int] | None = None
) -> Select[Any]:
    """Payment attempts: all (``n``), those for a document (``on_docs``), and the number of
    distinct documents attempted (``docs``)."""
    stmt = select(
        _keyed(PaymentAttempt, per_customer),
        func.count().label("n"),
        func.count(PaymentAttempt.document_id).label("on_docs"),
        func.count(PaymentAttempt.document_id.distinct()).label("docs"),
    )
    return _scope(stmt, PaymentAttempt, tenant, per_customer, customer_ids)


def per_document_attempts_query(
    tenant: Tenant, document_ids: Sequence[int] | None = None
) -> Select[Any]:
    """Payment attempts per document (``did``, ``n``)."""
    did: Any = PaymentAttempt.document_id
    stmt = (
        select(did.label("did"), func.count().label("n"))
        .where(PaymentAttempt.tenant_id == tenant.id, did.is_not(None))
        .group_by(did)
    )
    return stmt if document_ids is None else stmt.where(did.in_(document_ids))


def sales_query(
    tenant: Tenant,
    as_of: date,
    dso_days: int,
    per_customer: bool = True,
    customer_ids: Sequence[int] | None = None,
) -> Select[Any]:
    """Credit sales of the DSO period (``total``, base currency): non-void debit documents
    dated in (as-of - ``dso_days``, as-of]."""
    stmt = select(
        _keyed(Document, per_customer), func.sum(Document.base_amount_minor).label("total")
    ).where(
        Document.doc_type.in_(DEBIT_TYPES),
        Document.voided.is_(False),
        Document.document_date > as_of - timedelta(days=dso_days),
        Document.document_date <= as_of,
    )
    return _scope(stmt, Document, tenant, per_customer, customer_ids)


@dataclass(slots=True)
class Partial:
    """What the tenant-wide aggregate queries found."""

    base: Amounts
    next_p2p: date | None = None
    attempts: int = 0
    attempted_documents: int = 0
    dso_sales: int = 0

    @classmethod
    def empty(cls, tenant: Tenant) -> Partial:
        nb = len(tenant.ageing_bounds) + 2
        return cls(Amounts(tenant.base_currency, buckets=[0] * nb))


def aggregate(session: Session, tenant: Tenant, as_of: date, dso_days: int) -> Partial:
    """Run every aggregate query once over the whole tenant, in its base currency."""
    p = Partial.empty(tenant)
    run = session.connection().execute
    nb = len(tenant.ageing_bounds) + 2
    for row in run(documents_query(tenant, as_of, False)):
        if row.lo is None:  # no open items
            continue
        base = [int(getattr(row, f"b{i}") or 0) for i in range(nb + 1)]
        p.base.unutilised_credit, p.base.buckets = base[0], base[1:]
        p.base.open_debits, p.base.overdue = sum(base[1:]), sum(base[2:])
    for figure in SIDES:
        for row in run(side_query(figure, tenant, as_of, False)):
            if row.lo is None:
                continue
            setattr(p.base, figure, int(row.base))
            if figure == "open_p2p":
                p.next_p2p = row.next_p2p
    for row in run(attempts_query(tenant, False)):
        p.attempts, p.attempted_documents = int(row.n), int(row.docs)
    for row in run(sales_query(tenant, as_of, dso_days, False)):
        p.dso_sales = int(row.total or 0)
    return p
