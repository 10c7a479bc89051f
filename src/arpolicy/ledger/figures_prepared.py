"""The per-customer figures statement, built once and kept (see figures.py for what it
computes).

Building the statement costs about 1,000 SQL expressions, far more than running it for one
customer, so it is kept per tenant shape (ageing bounds, base currency), day and DSO period,
and executed again with other ids. The figures of one customer (``GET
/v1/customers/{id}``, ``arpolicy customers show``) go further: that statement is rendered
once to SQL text with its constants written in (the day's bucket bounds, the document
types...) and only the customer id bound. On SQLite the same query with its 400-odd
constants bound ran three times slower than with them written, and SQLAlchemy spent as
long again processing them (measured on 1,000,000 invoices: 3.9 ms per customer before,
about 0.6 ms after).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from arpolicy.ledger.buckets import bucket_labels
from arpolicy.ledger.figures_view import DSO_PERIOD_DAYS, CustomerFigureSQL, Joins
from arpolicy.models import Customer, Tenant

FIGURES = (
    "open_debits",
    "unutilised_credit",
    "unaccounted_payment",
    "overdue",
    "open_issue",
    "open_p2p",
)
"""The amounts of a customer's figures, in the statement's order."""

STATEMENTS_KEPT = 64
_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def figures_statement(
    tenant: Tenant, as_of: date, some: bool, dso_period_days: int = DSO_PERIOD_DAYS
) -> Any:
    """The statement of :func:`customer_figures` (``some``: of the customers in the
    expanding parameter ``ids``), built once per tenant, day and shape and kept.

    Building it costs about 1,000 SQL expressions, far more than running it for one
    customer (the figures of ``GET /v1/customers/{id}``: most of the request, measured), so
    it is kept with what decides it (the tenant's ageing bounds and base currency, the day,
    the DSO period) and executed again with other ids."""
    key = (
        tenant.id,
        tuple(tenant.ageing_bounds),
        tenant.base_currency,
        as_of,
        some,
        dso_period_days,
    )
    found = _STATEMENTS.get(key)
    if found is not None:
        return found
    ids: Any = bindparam("ids", expanding=True) if some else None
    nb = len(bucket_labels(tenant.ageing_bounds))
    joins = Joins(Customer.__table__)
    fig = CustomerFigureSQL(tenant, as_of, joins, customer_ids=ids, dso_period_days=dso_period_days)
    amounts = [fig.raw(name, local) for local in (False, True) for name in FIGURES] + [
        fig.raw(f"bucket{i}", local) for local in (False, True) for i in range(nb)
    ]
    facts = [
        fig.local_currency(),
        fig.next_p2p_date(),
        fig.attempts("n"),
        fig.attempts("on_docs"),
        fig.attempts("docs"),
        fig.dso_tenths(),
    ]
    stmt = (
        select(
            Customer.id,
            Customer.external_id,
            Customer.name,
            Customer.currency,
            Customer.last_email_at,
            Customer.last_reply_at,
            Customer.reported_balance_minor,
            *facts,
            *amounts,
        )
        .select_from(joins.clause)
        .where(Customer.tenant_id == tenant.id)
        .order_by(Customer.id)
    )
    if ids is not None:
        stmt = stmt.where(Customer.id.in_(ids))
    _keep(_STATEMENTS, key, stmt)
    return stmt


_ONE: dict[tuple[Any, ...], Any] = {}
MARK = -7_340_012_345_678_901
"""An id no table holds: where the customer id goes in the rendered SQL."""


def _one_customer(session: Session, tenant: Tenant, as_of: date, dso_period_days: int) -> Any:
    """The statement of one customer as text with its constants written in and the id
    bound as ``:customer_id`` (typed by the statement's columns), or None when it cannot be
    rendered so (then the statement itself is run)."""
    dialect = session.get_bind().dialect
    key = (
        dialect.name,
        tenant.id,
        tuple(tenant.ageing_bounds),
        tenant.base_currency,
        as_of,
        dso_period_days,
    )
    if key in _ONE:
        return _ONE[key]
    stmt = figures_statement(tenant, as_of, True, dso_period_days)
    try:
        sql = str(
            stmt.params(ids=[MARK]).compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        )
    except Exception:  # a constant with no literal form: run the statement as it is
        sql = ""
    if dialect.paramstyle in ("format", "pyformat"):
        sql = sql.replace("%%", "%")  # text() escapes the modulo operator again
    prepared = None
    if sql and ":" not in sql.replace("::", "") and f"({MARK})" in sql:
        prepared = text(sql.replace(f"({MARK})", "(:customer_id)")).columns(*stmt.selected_columns)
    _keep(_ONE, key, prepared)
    return prepared


def _keep(cache: dict[tuple[Any, ...], Any], key: tuple[Any, ...], value: Any) -> None:
    if len(cache) >= STATEMENTS_KEPT:
        cache.clear()
    cache[key] = value


def figure_rows(
    session: Session,
    tenant: Tenant,
    as_of: date,
    customer_ids: Sequence[int] | None,
    dso_period_days: int = DSO_PERIOD_DAYS,
) -> Any:
    """The rows of the figures statement for ``customer_ids`` (all the tenant's: None)."""
    conn = session.connection()
    if customer_ids is not None and len(customer_ids) == 1:
        one = _one_customer(session, tenant, as_of, dso_period_days)
        if one is not None:
            return conn.execute(one, {"customer_id": customer_ids[0]})
    stmt = figures_statement(tenant, as_of, customer_ids is not None, dso_period_days)
    return conn.execute(stmt, {} if customer_ids is None else {"ids": list(customer_ids)})
