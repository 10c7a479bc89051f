"""Where the invoice-level rule fields live: the document's own columns (``disputed`` is the
billing system's flag or an open dispute, ledger/documents.py), its per-invoice
figures (open issue and P2P amounts, P2P date, attempts; grouped by document by the queries
of figures_sql.py) and its customer's columns from the figures view (``customer__<column>``).

A rule on the invoice's own stored fields scans ``documents`` alone; the customer table,
its owners and each aggregate are joined only when the rule reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import partial
from typing import Any

from sqlalchemy import and_, case, false, func, select
from sqlalchemy.orm import Session

from arpolicy.ledger.documents import disputed_clause, owes_clause
from arpolicy.ledger.figures_sql import per_document_attempts_query, per_document_query
from arpolicy.ledger.figures_view import CustomerFigureSQL, Joins
from arpolicy.ledger.selection.customers import customer_builders
from arpolicy.ledger.selection.source import Builder, Source
from arpolicy.models import Customer, Document, DocumentType, Tenant
from arpolicy.rules.to_sql import DaysBefore

DOCUMENT_COLUMNS = (
    "amount_minor",
    "balance_minor",
    "currency",
    "base_amount_minor",
    "base_balance_minor",
    "document_date",
    "due_date",
    "posting_date",
    "last_email_at",
    "last_reply_at",
    "transaction_type",
    "doc_type",
    "location",
    "business_unit",
    "custom_fields",
)


def invoices(
    tenant: Tenant,
    as_of: date,
    *,
    document_ids: Sequence[int] | None = None,
    customer_ids: Sequence[int] | None = None,
) -> Source:
    """The invoice-level source. ``document_ids`` / ``customer_ids`` only narrow the
    aggregates (for reading a few records); they select nothing by themselves."""
    joins = Joins(Document.__table__)

    def customer() -> None:
        on = and_(Customer.tenant_id == Document.tenant_id, Customer.id == Document.customer_id)
        joins.add("customers", lambda: (Customer.__table__, on), outer=False)

    def per_document(name: str) -> Any:
        def make() -> tuple[Any, Any]:
            if name == "attempts":
                stmt = per_document_attempts_query(tenant, document_ids)
            else:
                stmt = per_document_query(name, tenant, as_of, document_ids)
            sq = stmt.subquery(f"d_{name}")
            return sq, sq.c.did == Document.id

        return joins.add(f"d_{name}", make)

    fig = CustomerFigureSQL(tenant, as_of, joins, customer_ids=customer_ids, prepare=customer)
    b: dict[str, Builder] = {name: partial(getattr, Document, name) for name in DOCUMENT_COLUMNS}
    b["paid"] = lambda: and_(Document.balance_minor == 0, Document.voided == false())
    b["disputed"] = lambda: disputed_clause(tenant.id)  # the flag or an open dispute
    b["debit_or_credit"] = lambda: case(
        (Document.doc_type == DocumentType.CREDIT_NOTE, "credit"), else_="debit"
    )
    # empty for settled, voided and credit documents (ledger/documents.py)
    b["days_past_due"] = lambda: DaysBefore(Document.due_date, as_of, owes_clause())
    b["open_issue_amount_minor"] = lambda: func.coalesce(per_document("open_issue").c.amount, 0)
    b["open_p2p_amount_minor"] = lambda: func.coalesce(per_document("open_p2p").c.amount, 0)
    b["p2p_date"] = lambda: per_document("open_p2p").c.next_p2p
    b["has_p2p_date"] = lambda: per_document("open_p2p").c.next_p2p.is_not(None)
    b["payment_attempts"] = lambda: func.coalesce(per_document("attempts").c.n, 0)
    b |= customer_builders(fig, "customer__")
    return Source(joins, Document.id, Document.tenant_id == tenant.id, b)


def invoice_source(
    tenant: Tenant, as_of: date, needed: set[str] | None = None
) -> tuple[Any, dict[str, Any]]:
    """(FROM clause, field column -> SQL expression) for invoice-level rules. With
    ``needed`` (the columns a rule reads), only what the rule reads is joined: a rule on
    the invoice's own fields scans documents alone."""
    source = invoices(tenant, as_of)
    columns = source.columns(needed)
    return source.joins.clause, columns


def narrowed(session: Session, tenant: Tenant, as_of: date, ids: Sequence[int] | None) -> Source:
    """The source for reading the records ``ids`` (aggregates narrowed to them)."""
    if ids is None:
        return invoices(tenant, as_of)
    # By primary key alone, the tenant checked on the rows: with ``tenant_id = ?`` in the
    # WHERE, SQLite's planner scans the tenant's (tenant_id, customer_id) index instead
    # (120 ms at 1,000,000 invoices for a customer sheet's 18 documents; 0.5 ms this way).
    rows = session.execute(
        select(Document.customer_id, Document.tenant_id).where(Document.id.in_(ids))
    ).all()
    customers = sorted({customer for customer, owner in rows if owner == tenant.id})
    return invoices(tenant, as_of, document_ids=ids, customer_ids=customers)
