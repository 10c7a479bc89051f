"""AR figures, computed in SQL: per customer and tenant-wide, in the base currency and, for a
customer whose items all share one currency, in that currency too.

Every figure is a set of ``SUM(CASE ...)`` aggregates over integer minor units, so the
database does the scanning and the totals are exact. Ageing buckets compare ``due_date``
with cut-off dates computed once from ``as_of`` (no date arithmetic per row), which keeps
the queries identical on SQLite and PostgreSQL and lets the open-items index serve them.
Definitions, with worked examples, are in docs/figures.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, select
from sqlalchemy.orm import Session

from arpolicy.kit.money import Money
from arpolicy.models import (
    DEBIT_TYPES,
    Customer,
    Dispute,
    DisputeStatus,
    Document,
    Payment,
    PaymentAttempt,
    PromiseStatus,
    PromiseToPay,
    Tenant,
    open_items_clause,
)

DSO_PERIOD_DAYS = 90
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


# -- bucket arithmetic ---------------------------------------------------------------------
def bucket_labels(bounds: Sequence[int]) -> list[str]:
    """[30, 60] -> ["current", "1-30", "31-60", "over 60"]."""
    labels, low = ["current"], 1
    for b in bounds:
        labels.append(f"{low}-{b}")
        low = b + 1
    labels.append(f"over {bounds[-1]}")
    return labels


def bucket_ranges(as_of: date, bounds: Sequence[int]) -> list[tuple[date | None, date | None]]:
    """Per bucket, the due dates it holds as ``lower <= due_date < upper`` (None = open)."""
    ranges: list[tuple[date | None, date | None]] = [(as_of, None)]
    upper = as_of
    for b in bounds:
        lower = as_of - timedelta(days=b)
        ranges.append((lower, upper))
        upper = lower
    ranges.append((None, upper))
    return ranges


def bucket_of(days_past_due: int, bounds: Sequence[int]) -> int:
    """Index of the bucket holding ``days_past_due`` (pure twin of the SQL, for tests)."""
    if days_past_due <= 0:
        return 0
    for i, b in enumerate(bounds, start=1):
        if days_past_due <= b:
            return i
    return len(bounds) + 1


# -- results -------------------------------------------------------------------------------
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


@dataclass(slots=True)
class CustomerFigures:
    customer_id: int
    external_id: str
    name: str
    as_of: date
    bucket_labels: list[str]
    base: Amounts
    local: Amounts | None
    """The same figures in the customer's currency, when all its items share one."""
    next_p2p_date: date | None = None
    last_email_at: datetime | None = None
    last_reply_at: datetime | None = None
    payment_attempts: int = 0
    """All payment attempts of the customer."""
    document_attempts: int = 0
    """Attempts made for a document (an invoice or debit note)."""
    attempted_documents: int = 0
    """Distinct documents with at least one attempt."""
    dso_days: Decimal | None = None
    reported_balance: Money | None = None

    @property
    def average_payment_attempts(self) -> Decimal | None:
        if not self.attempted_documents:
            return None
        return (Decimal(self.document_attempts) / self.attempted_documents).quantize(Decimal("0.01"))

    @property
    def outstanding_mismatch(self) -> Money | None:
        """Balance reported by the billing system minus outstanding computed here."""
        if self.reported_balance is None:
            return None
        computed = self.local if self.local and self.local.currency == self.reported_balance.currency else None
        if computed is None:
            return None
        return self.reported_balance - computed.money("outstanding")

    def to_json(self) -> dict[str, Any]:
        mismatch = self.outstanding_mismatch
        avg = self.average_payment_attempts
        return {
            "customer_id": self.customer_id,
            "external_id": self.external_id,
            "name": self.name,
            "as_of": self.as_of.isoformat(),
            "base": self.base.to_json(self.bucket_labels),
            "local": self.local.to_json(self.bucket_labels) if self.local else None,
            "next_p2p_date": self.next_p2p_date.isoformat() if self.next_p2p_date else None,
            "last_email_at": self.last_email_at.isoformat() if self.last_email_at else None,
            "last_reply_at": self.last_reply_at.isoformat() if self.last_reply_at else None,
            "payment_attempts": self.payment_attempts,
            "average_payment_attempts": str(avg) if avg is not None else None,
            "dso_days": str(self.dso_days) if self.dso_days is not None else None,
            "reported_balance": self.reported_balance.to_json() if self.reported_balance else None,
            "outstanding_mismatch": mismatch.to_json() if mismatch else None,
        }


# -- SQL -----------------------------------------------------------------------------------
def _sum_if(condition: Any, column: Any) -> Any:
    return func.coalesce(func.sum(case((condition, column), else_=0)), 0)


def _document_sums(tenant: Tenant, as_of: date, column: Any) -> list[Any]:
    """open debits, unutilised credit, overdue, then one sum per ageing bucket."""
    debit = Document.doc_type.in_(DEBIT_TYPES)
    sums = [
        _sum_if(debit, column),
        _sum_if(~debit, column),
        _sum_if(and_(debit, Document.due_date < as_of), column),
    ]
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
        *_document_sums(tenant, as_of, Document.base_balance_minor),
        *_document_sums(tenant, as_of, Document.balance_minor),
    ).where(open_items_clause())
    return _scope(stmt, Document, tenant, per_customer, customer_ids)


def _side_queries(as_of: date) -> list[tuple[str, Any, Any, Any, list[Any], list[Any]]]:
    """(figure, model, base column, local column, filters, extra columns) of the figures that
    come from tables other than documents."""
    return [
        ("unaccounted_payment", Payment, Payment.base_unallocated_minor,
         Payment.unallocated_minor, [Payment.unallocated_minor != 0], []),
        ("open_issue", Dispute, Dispute.base_amount_minor, Dispute.amount_minor,
         [Dispute.status == DisputeStatus.OPEN], []),
        ("open_p2p", PromiseToPay, PromiseToPay.base_amount_minor, PromiseToPay.amount_minor,
         [PromiseToPay.status == PromiseStatus.OPEN, PromiseToPay.promised_on >= as_of],
         [func.min(PromiseToPay.promised_on)]),
    ]  # fmt: skip


@dataclass(slots=True)
class _Partial:
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
    def empty(cls, tenant: Tenant) -> _Partial:
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
            ccy, open_debits=v[0], unutilised_credit=v[1], overdue=v[2], buckets=v[3 : 3 + nb],
            unaccounted_payment=v[3 + nb], open_issue=v[4 + nb], open_p2p=v[5 + nb],
        )  # fmt: skip


def _aggregate(
    session: Session,
    tenant: Tenant,
    as_of: date,
    per_customer: bool,
    customer_ids: Sequence[int] | None,
    dso_days: int,
) -> dict[int, _Partial]:
    """Run every aggregate query once and gather the results by key."""
    nb = len(tenant.ageing_bounds) + 2
    found: dict[int, _Partial] = {}

    def slot(key: int) -> _Partial:
        return found.setdefault(key, _Partial.empty(tenant))

    docs = documents_query(tenant, as_of, per_customer, customer_ids)
    for key, lo, hi, *vals in session.execute(docs):
        if lo is None:  # tenant-wide query over no rows
            continue
        p = slot(key)
        p.currencies.update((lo, hi))
        p.base.open_debits, p.base.unutilised_credit, p.base.overdue = map(int, vals[:3])
        p.base.buckets = [int(v) for v in vals[3 : 3 + nb]]
        p.local[: 3 + nb] = [int(v) for v in vals[3 + nb :]]

    for i, (attr, model, base_col, local_col, where, extra) in enumerate(_side_queries(as_of)):
        stmt = select(
            _keyed(model, per_customer), func.min(model.currency), func.max(model.currency),
            func.sum(base_col), func.sum(local_col), *extra,
        ).where(*where)  # fmt: skip
        for key, lo, hi, bsum, lsum, *more in session.execute(
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
    for key, n, on_docs, docs_attempted in session.execute(attempts):
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
    for key, total in session.execute(_scope(sales, Document, tenant, per_customer, customer_ids)):
        if total:
            slot(key).dso_sales = int(total)
    return found


def _dso_days(open_debits: int, sales: int, days: int) -> Decimal | None:
    """DSO = open debits / credit sales of the last ``days`` days x ``days``."""
    if sales <= 0:
        return None
    return (Decimal(open_debits) / Decimal(sales) * days).quantize(Decimal("0.1"))


def customer_figures(
    session: Session,
    tenant: Tenant,
    as_of: date,
    customer_ids: Sequence[int] | None = None,
    *,
    dso_period_days: int = DSO_PERIOD_DAYS,
) -> list[CustomerFigures]:
    """Figures of the given customers (all the tenant's when None), ordered by id."""
    labels = bucket_labels(tenant.ageing_bounds)
    stmt = select(
        Customer.id, Customer.external_id, Customer.name, Customer.currency,
        Customer.last_email_at, Customer.last_reply_at, Customer.reported_balance_minor,
    ).where(Customer.tenant_id == tenant.id)  # fmt: skip
    if customer_ids is not None:
        stmt = stmt.where(Customer.id.in_(customer_ids))
    found = _aggregate(session, tenant, as_of, True, customer_ids, dso_period_days)
    result = []
    for c in session.execute(stmt.order_by(Customer.id)):
        p = found.get(c.id) or _Partial.empty(tenant)
        reported = None
        if c.reported_balance_minor is not None and c.currency:
            reported = Money.from_minor(c.reported_balance_minor, c.currency)
        result.append(
            CustomerFigures(
                customer_id=c.id, external_id=c.external_id, name=c.name, as_of=as_of,
                bucket_labels=labels, base=p.base, local=p.local_amounts(c.currency),
                next_p2p_date=p.next_p2p, last_email_at=c.last_email_at,
                last_reply_at=c.last_reply_at, payment_attempts=p.attempts,
                document_attempts=p.document_attempts, attempted_documents=p.attempted_documents,
                dso_days=_dso_days(p.base.open_debits, p.dso_sales, dso_period_days),
                reported_balance=reported,
            )  # fmt: skip
        )
    return result


@dataclass(slots=True)
class TenantFigures:
    as_of: date
    bucket_labels: list[str]
    base: Amounts
    next_p2p_date: date | None
    payment_attempts: int
    attempted_documents: int
    dso_days: Decimal | None

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "base": self.base.to_json(self.bucket_labels),
            "next_p2p_date": self.next_p2p_date.isoformat() if self.next_p2p_date else None,
            "payment_attempts": self.payment_attempts,
            "dso_days": str(self.dso_days) if self.dso_days is not None else None,
        }


def tenant_figures(
    session: Session, tenant: Tenant, as_of: date, *, dso_period_days: int = DSO_PERIOD_DAYS
) -> TenantFigures:
    """The same figures over the whole tenant, in its base currency, by SQL aggregates."""
    p = _aggregate(session, tenant, as_of, False, None, dso_period_days).get(0)
    p = p or _Partial.empty(tenant)
    return TenantFigures(
        as_of=as_of, bucket_labels=bucket_labels(tenant.ageing_bounds), base=p.base,
        next_p2p_date=p.next_p2p, payment_attempts=p.attempts,
        attempted_documents=p.attempted_documents,
        dso_days=_dso_days(p.base.open_debits, p.dso_sales, dso_period_days),
    )  # fmt: skip
