"""The tenant-wide ageing report: open debit balances by days past due, per customer, in
the base currency, with unutilised credit, unaccounted payments and totals.

One SQL statement: the per-customer bucket sums over the open-items index, joined to the
customers and to their unallocated payments. Rows keep integer minor units; money objects
are made only when the report is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from arpolicy.kit.money import Money
from arpolicy.ledger.buckets import bucket_labels
from arpolicy.ledger.figures_sql import document_sums
from arpolicy.models import Customer, Document, Payment, Tenant, open_items_clause


@dataclass(slots=True)
class AgeingRow:
    customer_id: int
    external_id: str
    name: str
    buckets: list[int]
    unutilised_credit: int
    unaccounted_payment: int

    @property
    def total(self) -> int:
        return sum(self.buckets)

    @property
    def outstanding(self) -> int:
        return self.total - self.unutilised_credit - self.unaccounted_payment


@dataclass(slots=True)
class AgeingReport:
    as_of: date
    currency: str
    labels: list[str]
    rows: list[AgeingRow]

    @property
    def totals(self) -> AgeingRow:
        nb = len(self.labels)
        buckets = [sum(r.buckets[i] for r in self.rows) for i in range(nb)]
        return AgeingRow(
            0,
            "",
            "Total",
            buckets,
            sum(r.unutilised_credit for r in self.rows),
            sum(r.unaccounted_payment for r in self.rows),
        )

    def amount(self, minor: int) -> str:
        return Money.from_minor(minor, self.currency).to_json()["amount"]

    def row_json(self, row: AgeingRow) -> dict[str, Any]:
        return {
            "customer_id": row.customer_id or None,
            "external_id": row.external_id or None,
            "name": row.name,
            "ageing": {k: self.amount(v) for k, v in zip(self.labels, row.buckets, strict=True)},
            "total": self.amount(row.total),
            "unutilised_credit": self.amount(row.unutilised_credit),
            "unaccounted_payment": self.amount(row.unaccounted_payment),
            "outstanding": self.amount(row.outstanding),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "currency": self.currency,
            "buckets": self.labels,
            "customers": [self.row_json(r) for r in self.rows],
            "totals": self.row_json(self.totals),
        }


def ageing_report(session: Session, tenant: Tenant, as_of: date) -> AgeingReport:
    """Every customer with an open item or an unallocated payment, largest total first."""
    nb = len(tenant.ageing_bounds) + 2
    sums = document_sums(tenant, as_of, Document.base_balance_minor)
    docs = (
        select(
            Document.customer_id.label("cid"),
            sums[0].label("credit"),
            *(s.label(f"b{i}") for i, s in enumerate(sums[1:])),
        )
        .where(Document.tenant_id == tenant.id, open_items_clause())
        .group_by(Document.customer_id)
        .subquery()
    )
    pays = (
        select(
            Payment.customer_id.label("cid"), func.sum(Payment.base_unallocated_minor).label("u")
        )
        .where(Payment.tenant_id == tenant.id, Payment.unallocated_minor != 0)
        .group_by(Payment.customer_id)
        .subquery()
    )
    buckets = [func.coalesce(docs.c[f"b{i}"], 0) for i in range(nb)]
    total = sum(buckets[1:], buckets[0])
    stmt = (
        select(
            Customer.id,
            Customer.external_id,
            Customer.name,
            *buckets,
            func.coalesce(docs.c.credit, 0),
            func.coalesce(pays.c.u, 0),
        )
        .outerjoin(docs, docs.c.cid == Customer.id)
        .outerjoin(pays, pays.c.cid == Customer.id)
        .where(
            Customer.tenant_id == tenant.id, or_(docs.c.cid.is_not(None), pays.c.cid.is_not(None))
        )
        .order_by(total.desc(), Customer.external_id)
    )
    rows = [
        AgeingRow(r[0], r[1], r[2], [int(v) for v in r[3 : 3 + nb]], int(r[3 + nb]), int(r[4 + nb]))
        for r in session.connection().execute(stmt)
    ]
    return AgeingReport(as_of, tenant.base_currency, bucket_labels(tenant.ageing_bounds), rows)
