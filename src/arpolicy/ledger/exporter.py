"""``arpolicy export``: a kind's rows as CSV with the columns ``arpolicy import`` reads, so
that an export imports back unchanged.

Money is a plain decimal in the record's own currency (``-12.50``), dates are ISO, instants
ISO 8601 in UTC with ``Z``, booleans ``true``/``false``, references the external ids (or
e-mails, document numbers) the importer resolves.

Spreadsheet safety (OWASP "CSV injection"): a cell of a *text* column whose first character
is ``=``, ``+``, ``-``, ``@``, TAB or CR (after any leading quotes) gets a leading ``'``, so
a spreadsheet shows it as text instead of running it. Amounts, numbers, dates and codes are
never escaped: they are validated values, and a negative amount must stay a number. The
importer strips that one quote again from text columns, so the round trip is exact.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any, TextIO

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from arpolicy.ledger.importing import customfields
from arpolicy.ledger.importing.context import Context
from arpolicy.ledger.importing.kinds_parties import ADDRESS
from arpolicy.ledger.importing.parsers import escape_text, show_minor
from arpolicy.ledger.importing.plan import known_columns
from arpolicy.ledger.importing.registry import get_kind
from arpolicy.ledger.importing.specs import Column, Kind
from arpolicy.models import (
    Allocation,
    Customer,
    Document,
    Payment,
    Subscription,
    Tenant,
    User,
)

MONEY = {
    "amount": "amount_minor",
    "balance": "reported_balance_minor",  # a document's balance column is the reported one
    "mrr": "mrr_minor",
    "reported_balance": "reported_balance_minor",
}
Overrides = dict[str, Any]


def _customer(model: Any) -> tuple[Overrides, list[Any]]:
    c = aliased(Customer)
    return {"customer": c.external_id}, [
        (c, (c.id == model.customer_id) & (c.tenant_id == model.tenant_id))
    ]


def _document(model: Any) -> tuple[Overrides, list[Any]]:
    d = aliased(Document)
    return (
        {"document_type": d.doc_type, "document_number": d.number},
        [(d, (d.id == model.document_id) & (d.tenant_id == model.tenant_id))],
    )


def _users(model: Any, names: dict[str, str]) -> tuple[Overrides, list[Any]]:
    out: Overrides = {}
    joins = []
    for column, attribute in names.items():
        u = aliased(User)
        out[column] = u.email
        joins.append((u, (u.id == getattr(model, attribute)) & (u.tenant_id == model.tenant_id)))
    return out, joins


def _references(kind: Kind) -> tuple[Overrides, list[Any]]:
    """Columns that are not the model's own attribute of the same name, and their joins."""
    model = kind.model
    if model is Customer:
        parent = aliased(Customer)
        users, joins = _users(
            model, {"finance_owner": "finance_owner_id", "sales_owner": "sales_owner_id"}
        )
        joins.append(
            (parent, (parent.id == model.parent_id) & (parent.tenant_id == model.tenant_id))
        )
        return {**users, "parent": parent.external_id}, joins
    if model is User:
        return _users(model, {"manager": "manager_id"})
    if model is Allocation:
        p = aliased(Payment)
        over, joins = _document(model)
        joins.insert(0, (p, (p.id == model.payment_id) & (p.tenant_id == model.tenant_id)))
        return {**over, "payment": p.external_id, "currency": p.currency}, joins
    over, joins = ({}, []) if not hasattr(model, "customer_id") else _customer(model)
    if hasattr(model, "document_id"):
        more, extra = _document(model)
        over, joins = {**over, **more}, joins + extra
    if model is Document:
        s = aliased(Subscription)
        over["type"] = model.doc_type
        over["subscription"] = s.external_id
        joins.append((s, (s.id == model.subscription_id) & (s.tenant_id == model.tenant_id)))
    return over, joins


def export_query(kind: Kind, tenant_id: int) -> Select[Any]:
    model = kind.model
    over, joins = _references(kind)
    selected = []
    for column in kind.columns:
        if column.name.startswith("billing_"):
            continue
        expr = over.get(column.name)
        if expr is None:
            expr = getattr(model, MONEY.get(column.name, column.name))
        selected.append(expr.label(column.name))
    for name in ("custom_fields", "billing_address"):
        if hasattr(model, name):
            selected.append(getattr(model, name).label("_" + name))
    stmt = select(*selected).select_from(model)
    for target, on in joins:
        stmt = stmt.outerjoin(target, on)
    stmt = stmt.where(model.tenant_id == tenant_id)
    if kind.aliases.get("type"):
        stmt = stmt.where(model.doc_type == kind.aliases["type"])
    return stmt.order_by(model.id)


def _cell(column: Column, value: Any, row: Any) -> str:
    if value is None:
        return ""
    if column.name in MONEY:
        return show_minor(value, row.currency)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "|".join(value)
    text = str(value)
    return escape_text(text) if column.text else text


def export_rows(
    session: Session, tenant: Tenant, kind_name: str
) -> tuple[list[str], Iterator[list[str]]]:
    """The header and the rows (cells as text) of kind ``kind_name`` for ``tenant``."""
    kind = get_kind(kind_name)
    columns = list(known_columns(Context(session, tenant), kind).values())
    definitions = {}
    if kind.custom_fields:
        definitions = Context(session, tenant).fields(kind.custom_fields)

    def rows() -> Iterator[list[str]]:
        stmt = export_query(kind, tenant.id).execution_options(yield_per=5000)
        for row in session.execute(stmt):
            yield [_render(column, row, definitions) for column in columns]

    return [c.name for c in columns], rows()


def _render(column: Column, row: Any, definitions: dict[str, Any]) -> str:
    name = column.name
    if name.startswith(customfields.PREFIX):
        key = name[len(customfields.PREFIX) :]
        value = customfields.export_value(definitions[key], (row._custom_fields or {}).get(key))
        return escape_text(value) if column.text else value
    if name.startswith("billing_") and name[8:] in ADDRESS:
        part = (row._billing_address or {}).get(name[8:])
        return "" if part is None else escape_text(str(part))
    return _cell(column, getattr(row, name), row)


def export_csv(
    session: Session,
    tenant: Tenant,
    kind: str,
    out: TextIO,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write kind ``kind`` of ``tenant`` to ``out`` as CSV; returns the number of rows."""
    header, rows = export_rows(session, tenant, kind)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for count, row in enumerate(rows, 1):
        writer.writerow(row)
        if progress is not None and count % 10_000 == 0:
            progress(10_000)
    return count
