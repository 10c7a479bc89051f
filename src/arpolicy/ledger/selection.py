"""Where the invoice-level rule fields live in the database, and bulk selection with them.

One source serves both evaluators: :func:`select_invoices` compiles a rule to SQL over it
and lets the database scan; :func:`invoice_records` reads the same columns as the typed
records the Python compiler and ``explain`` take, so a preview of one invoice and a bulk
run agree (property-tested in tests/ledger/test_selection.py).

Available in bulk today: the invoice's own stored fields, ``paid``, ``days_past_due``
(rewritten into due-date comparisons, index-friendly), and the customer's attributes
(country, language, currency, region, locale, segment, group, owners, last email / reply).
The customer's aggregate figures and the per-invoice dispute / promise / attempt figures
are not yet: a rule using them gets a clear error from the SQL compiler.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, false, select
from sqlalchemy.orm import Session, aliased

from arpolicy.kit.money import Money
from arpolicy.models import Customer, Document, Tenant, User
from arpolicy.rules.binding import BoundRule
from arpolicy.rules.catalogue import FieldSet, Type
from arpolicy.rules.to_sql import DaysBefore, plan_of, to_sql, used_columns

CUSTOMER_ATTRIBUTES = (
    "country", "language", "currency", "region", "locale", "segment", "customer_group",
    "last_email_at", "last_reply_at",
)  # fmt: skip
DOCUMENT_COLUMNS = (
    "amount_minor", "balance_minor", "currency", "base_amount_minor", "base_balance_minor",
    "document_date", "due_date", "posting_date", "last_email_at", "last_reply_at",
    "transaction_type", "doc_type", "location", "business_unit", "disputed",
)  # fmt: skip


def invoice_source(
    tenant: Tenant, as_of: date, needed: set[str] | None = None
) -> tuple[Any, dict[str, Any]]:
    """(FROM clause, field column -> SQL expression) for invoice-level rules. With
    ``needed`` (the columns a rule reads), customers and users are joined only when the
    rule reads them: a rule on the invoice's own fields scans documents alone."""
    finance, sales = aliased(User), aliased(User)
    columns: dict[str, Any] = {name: getattr(Document, name) for name in DOCUMENT_COLUMNS}
    columns["paid"] = and_(Document.balance_minor == 0, Document.voided == false())
    columns["days_past_due"] = DaysBefore(Document.due_date, as_of)
    for name in CUSTOMER_ATTRIBUTES:
        columns[f"customer__{name}"] = getattr(Customer, name)
    columns["customer__finance_owner"] = finance.email
    columns["customer__sales_owner"] = sales.email
    wants = (lambda _: True) if needed is None else needed.__contains__
    source: Any = Document.__table__
    if any(wants(c) for c in columns if c.startswith("customer__")):
        source = source.join(
            Customer.__table__,
            and_(Customer.tenant_id == Document.tenant_id, Customer.id == Document.customer_id),
        )
    if wants("customer__finance_owner"):
        on = and_(finance.tenant_id == Customer.tenant_id, finance.id == Customer.finance_owner_id)
        source = source.outerjoin(finance, on)
    if wants("customer__sales_owner"):
        on = and_(sales.tenant_id == Customer.tenant_id, sales.id == Customer.sales_owner_id)
        source = source.outerjoin(sales, on)
    return source, columns


def select_invoices(
    session: Session, tenant: Tenant, bound: BoundRule, fields: FieldSet
) -> list[int]:
    """Ids of the tenant's documents the rule matches, selected by the database."""
    source, columns = invoice_source(tenant, bound.as_of, used_columns(plan_of(bound, fields)))
    stmt = (
        select(Document.id)
        .select_from(source)
        .where(Document.tenant_id == tenant.id, to_sql(bound, fields, columns))
        .order_by(Document.id)
    )
    return list(session.scalars(stmt))


def invoice_records(
    session: Session,
    tenant: Tenant,
    fields: FieldSet,
    as_of: date,
    ids: Sequence[int] | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(id, record)`` for the tenant's documents, typed for ``to_python`` / ``explain``."""
    source, columns = invoice_source(tenant, as_of)
    wanted = [
        (name, f)
        for name, f in fields.items()
        if f.column in columns and not isinstance(columns[f.column], DaysBefore)
    ]
    exprs = [columns[f.column].label(f"c{i}") for i, (_, f) in enumerate(wanted)]
    stmt = (
        select(Document.id, Document.currency, Document.due_date, *exprs)
        .select_from(source)
        .where(Document.tenant_id == tenant.id)
        .order_by(Document.id)
    )
    if ids is not None:
        stmt = stmt.where(Document.id.in_(ids))
    has_days = "days_past_due" in fields
    for doc_id, currency, due, *values in session.execute(stmt):
        record: dict[str, Any] = {}
        for (name, f), v in zip(wanted, values, strict=True):
            record[name] = _typed(f.type, v, currency, tenant.base_currency)
        if has_days:
            record["days_past_due"] = (as_of - due).days
        yield doc_id, record


def _typed(kind: Type, value: Any, currency: str, base: str) -> Any:
    if value is None:
        return None
    if kind is Type.MONEY:
        return Money.from_minor(value, currency)
    if kind is Type.BASE_MONEY:
        return Money.from_minor(value, base)
    if kind is Type.BOOLEAN:
        return bool(value)
    return getattr(value, "value", value)  # enums as their plain value
