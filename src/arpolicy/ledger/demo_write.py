"""Writing a generated demo (:func:`arpolicy.ledger.demo.generate`) to the database: the demo
tenant, then every table in reference order with Core bulk inserts, each row's ``<name>_ref``
swapped for the id of the row it points to."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from arpolicy.ledger.demo_personas import Row
from arpolicy.ledger.tenants import create_tenant
from arpolicy.models import (
    Allocation,
    Base,
    Contact,
    Customer,
    CustomFieldDefinition,
    Dispute,
    Document,
    FxRate,
    Payment,
    PaymentAttempt,
    PaymentSource,
    PromiseToPay,
    SalesOrder,
    Subscription,
    Tenant,
    User,
)

if TYPE_CHECKING:
    from arpolicy.ledger.demo import DemoData

DEMO_NAME = "Demo Merchant"
DEMO_TIMEZONE = "America/New_York"
DEMO_LOCALE = "en_US"
CHUNK = 5000


# table -> (model, {ref key: (column, referenced table)}); insertion order follows the keys.
TABLES: dict[str, tuple[type[Base], dict[str, tuple[str, str]]]] = {
    "users": (User, {}),
    "custom_fields": (CustomFieldDefinition, {}),
    "fx_rates": (FxRate, {}),
    "customers": (
        Customer,
        {
            "finance_owner_ref": ("finance_owner_id", "users"),
            "sales_owner_ref": ("sales_owner_id", "users"),
        },
    ),
    "contacts": (Contact, {"customer_ref": ("customer_id", "customers")}),
    "payment_sources": (PaymentSource, {"customer_ref": ("customer_id", "customers")}),
    "subscriptions": (Subscription, {"customer_ref": ("customer_id", "customers")}),
    "documents": (
        Document,
        {
            "customer_ref": ("customer_id", "customers"),
            "subscription_ref": ("subscription_id", "subscriptions"),
        },
    ),
    "payments": (Payment, {"customer_ref": ("customer_id", "customers")}),
    "allocations": (
        Allocation,
        {
            "payment_ref": ("payment_id", "payments"),
            "document_ref": ("document_id", "documents"),
        },
    ),
    "payment_attempts": (
        PaymentAttempt,
        {
            "customer_ref": ("customer_id", "customers"),
            "document_ref": ("document_id", "documents"),
        },
    ),
    "promises": (
        PromiseToPay,
        {
            "customer_ref": ("customer_id", "customers"),
            "document_ref": ("document_id", "documents"),
        },
    ),
    "disputes": (
        Dispute,
        {
            "customer_ref": ("customer_id", "customers"),
            "document_ref": ("document_id", "documents"),
        },
    ),
    "sales_orders": (SalesOrder, {"customer_ref": ("customer_id", "customers")}),
}
ID_KEYS = {
    "users": "email",
    "customers": "external_id",
    "subscriptions": "external_id",
    "documents": "number",
    "payments": "external_id",
}
"""Tables whose ids other rows need, each with a column unique within the tenant."""
SELF_REFS = {"users": ("manager_ref", "manager_id"), "customers": ("parent_ref", "parent_id")}
"""References within one table, set by an update once the table's ids are known."""


def write(
    session: Session,
    tenant_slug: str,
    data: DemoData,
    *,
    progress: Callable[[int], None] | None = None,
) -> Tenant:
    """Create the tenant and insert ``data`` with Core bulk inserts (no ORM object per
    row). Runs in the caller's transaction and never commits."""
    tenant = create_tenant(
        session,
        tenant_slug,
        name=DEMO_NAME,
        base_currency=data.base_currency,
        timezone=DEMO_TIMEZONE,
        locale=DEMO_LOCALE,
    )
    ids: dict[str, list[int]] = {}
    for name, (model, refs) in TABLES.items():
        rows = getattr(data, name)
        ids[name] = _insert(session, tenant.id, model, rows, refs, ids, ID_KEYS.get(name), progress)
        if name in SELF_REFS:
            _self_refs(session, model, rows, ids[name], *SELF_REFS[name])
    return tenant


def _insert(
    session: Session,
    tenant_id: int,
    model: type[Base],
    rows: list[Row],
    refs: dict[str, tuple[str, str]],
    ids: dict[str, list[int]],
    key: str | None,
    progress: Callable[[int], None] | None,
) -> list[int]:
    """Insert ``rows`` in chunks (executemany, no RETURNING: the fastest path on SQLite and
    psycopg alike). With a ``key`` (a column unique in the tenant), read the new ids back
    in one query and return them in the order of ``rows``: the tenant is new, so every row
    of it in the table is one of ours."""
    table: Any = model.__table__
    skip = set(refs) | {SELF_REFS[k][0] for k in SELF_REFS if TABLES[k][0] is model}
    for start in range(0, len(rows), CHUNK):
        chunk = []
        for row in rows[start : start + CHUNK]:
            values = {k: v for k, v in row.items() if k not in skip}
            for ref, (column, parent) in refs.items():
                values[column] = None if row[ref] is None else ids[parent][row[ref]]
            values["tenant_id"] = tenant_id
            chunk.append(values)
        session.execute(insert(table), chunk)
        if progress:
            progress(len(chunk))
    if not key or not rows:
        return []
    query = select(table.c[key], table.c.id).where(table.c.tenant_id == tenant_id)
    by_key: dict[Any, int] = {k: i for k, i in session.execute(query)}
    return [by_key[row[key]] for row in rows]


def _self_refs(
    session: Session, model: type[Base], rows: list[Row], ids: list[int], ref: str, column: str
) -> None:
    table: Any = model.__table__
    params = [
        {"row_id": ids[i], "ref_id": ids[row[ref]]}
        for i, row in enumerate(rows)
        if row[ref] is not None
    ]
    if params:
        stmt = update(table).where(table.c.id == bindparam("row_id"))
        session.execute(stmt.values({column: bindparam("ref_id")}), params)
