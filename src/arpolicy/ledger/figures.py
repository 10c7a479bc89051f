"""AR figures, computed in SQL: per customer and tenant-wide, in the base currency and, for a
customer whose items all share one currency, in that currency too.

Every figure is a set of ``SUM(CASE ...)`` aggregates over integer minor units, so the
database does the scanning and the totals are exact. Ageing buckets compare ``due_date``
with cut-off dates computed once from ``as_of`` (no date arithmetic per row), which keeps
the queries identical on SQLite and PostgreSQL and lets the open-items index serve them.
The per-customer figures are one statement, the figures view of figures_view.py, which the
rule language's bulk selection reads too; the tenant-wide ones run the same aggregates
without grouping (figures_sql.py). Definitions, with worked examples, are in
docs/figures.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from arpolicy.kit.money import Money
from arpolicy.ledger.buckets import bucket_labels, bucket_of, bucket_ranges
from arpolicy.ledger.figures_prepared import FIGURES, figure_rows
from arpolicy.ledger.figures_sql import AMOUNTS, Amounts, aggregate, document_sums
from arpolicy.ledger.figures_view import DSO_PERIOD_DAYS
from arpolicy.models import Tenant

__all__ = [
    "AMOUNTS",
    "DSO_PERIOD_DAYS",
    "Amounts",
    "CustomerFigures",
    "TenantFigures",
    "bucket_labels",
    "bucket_of",
    "bucket_ranges",
    "customer_figures",
    "document_sums",
    "tenant_figures",
]


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
        return (Decimal(self.document_attempts) / self.attempted_documents).quantize(
            Decimal("0.01")
        )

    @property
    def outstanding_mismatch(self) -> Money | None:
        """Balance reported by the billing system minus outstanding computed here."""
        if self.reported_balance is None:
            return None
        computed = (
            self.local
            if self.local and self.local.currency == self.reported_balance.currency
            else None
        )
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


def _dso_days(open_debits: int, sales: int, days: int) -> Decimal | None:
    """DSO = open debits / credit sales of the last ``days`` days x ``days``."""
    if sales <= 0:
        return None
    return (Decimal(open_debits * days) / Decimal(sales)).quantize(Decimal("0.1"))


def _amounts(currency: str, v: list[int], buckets: list[int]) -> Amounts:
    """Amounts from the values of :data:`FIGURES`, in that order."""
    return Amounts(
        currency,
        open_debits=v[0],
        unutilised_credit=v[1],
        unaccounted_payment=v[2],
        overdue=v[3],
        open_issue=v[4],
        open_p2p=v[5],
        buckets=buckets,
    )


def customer_figures(
    session: Session,
    tenant: Tenant,
    as_of: date,
    customer_ids: Sequence[int] | None = None,
    *,
    dso_period_days: int = DSO_PERIOD_DAYS,
) -> list[CustomerFigures]:
    """Figures of the given customers (all the tenant's when None), ordered by id: one
    statement over the figures view."""
    labels = bucket_labels(tenant.ageing_bounds)
    nb = len(labels)
    result = []
    nf = len(FIGURES)
    for c in figure_rows(session, tenant, as_of, customer_ids, dso_period_days):
        local_ccy, next_p2p, n, on_docs, docs, dso, *values = c[7:]
        minor = [int(v) for v in values]
        base_v, local_v = minor[:nf], minor[nf : 2 * nf]
        base_b, local_b = minor[2 * nf : 2 * nf + nb], minor[2 * nf + nb :]
        reported = None
        if c.reported_balance_minor is not None and c.currency:
            reported = Money.from_minor(c.reported_balance_minor, c.currency)
        result.append(
            CustomerFigures(
                customer_id=c.id,
                external_id=c.external_id,
                name=c.name,
                as_of=as_of,
                bucket_labels=labels,
                base=_amounts(tenant.base_currency, base_v, base_b),
                local=_amounts(local_ccy, local_v, local_b) if local_ccy else None,
                next_p2p_date=next_p2p,
                last_email_at=c.last_email_at,
                last_reply_at=c.last_reply_at,
                payment_attempts=int(n),
                document_attempts=int(on_docs),
                attempted_documents=int(docs),
                dso_days=Decimal(int(dso)).scaleb(-1) if dso is not None else None,
                reported_balance=reported,
            )
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
    p = aggregate(session, tenant, as_of, dso_period_days)
    return TenantFigures(
        as_of=as_of,
        bucket_labels=bucket_labels(tenant.ageing_bounds),
        base=p.base,
        next_p2p_date=p.next_p2p,
        payment_attempts=p.attempts,
        attempted_documents=p.attempted_documents,
        dso_days=_dso_days(p.base.open_debits, p.dso_sales, dso_period_days),
    )
