"""Bulk selection with the rule language, at every level, in the database.

For each level a pair of functions reads one source (:mod:`.source`): ``select_*``
compiles a bound rule to SQL over it and lets the database scan; ``*_records`` reads the
same column expressions as the typed records ``to_python`` and ``explain`` take, so a
preview of one record and a bulk run agree (property-tested on SQLite and PostgreSQL in
tests/ledger/test_selection*.py).

=========  =========================  ===============================  ====================
level      selects                    records                          ids of
=========  =========================  ===============================  ====================
invoice    :func:`select_invoices`    :func:`invoice_records`          documents
customer   :func:`select_customers`   :func:`customer_records`         customers
payment    :func:`select_payment_     :func:`payment_profile_records`  customers (a payment
           profiles`                                                   profile per customer)
=========  =========================  ===============================  ====================

Every field of the catalogue is available in bulk: the invoice's stored fields, ``paid``
and ``days_past_due`` (rewritten into due-date comparisons, index-friendly), its
per-invoice figures (open issue and P2P amounts, P2P date, attempts), custom fields (read
from their JSON), and every customer field, the aggregate figures included: they come from
the figures view (arpolicy.ledger.figures_view), the one per-customer figures query that
the customer reports read too. Only what a rule reads is joined: a rule on an invoice's own
columns runs over ``documents`` alone.

A decision table is selected rule by rule (:func:`decide`, :mod:`.tables`): :func:`select`
gives the records some rule of it matches, :func:`decide` the outcome of each.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from arpolicy.exceptions import ValidationError
from arpolicy.ledger.figures_view import DSO_PERIOD_DAYS
from arpolicy.ledger.selection.customers import customer_source
from arpolicy.ledger.selection.invoices import invoice_source, invoices, narrowed
from arpolicy.ledger.selection.source import Source, read_records, select_ids
from arpolicy.ledger.selection.tables import Decisions, Group, decide_table
from arpolicy.models import Tenant
from arpolicy.rules.ast import DecisionTable
from arpolicy.rules.binding import BoundRule
from arpolicy.rules.catalogue import FieldSet, Level

__all__ = [
    "Decisions",
    "Group",
    "customer_records",
    "customer_source",
    "decide",
    "invoice_records",
    "invoice_source",
    "level_source",
    "payment_profile_records",
    "records",
    "select",
    "select_customers",
    "select_invoices",
    "select_payment_profiles",
]

Records = Iterator[tuple[int, dict[str, Any]]]


def _level(fields: FieldSet, level: Level) -> None:
    if fields.level is not level:
        raise ValidationError(
            f"these are {fields.level.value}-level fields; this selects {level.value}s",
            fix=f"pass Catalogue.level({level.value!r}), or use the {fields.level.value} pair",
        )


def select_invoices(
    session: Session, tenant: Tenant, bound: BoundRule, fields: FieldSet, *, open_only: bool = False
) -> list[int]:
    """Ids of the tenant's documents the rule matches, selected by the database.

    A rule that matches only documents with a balance (a top-level ``balance > 500 USD``,
    ``balance < 0 EUR``, ``balance between 1 USD and 9 USD``) also states
    ``balance_minor != 0``: the same rows, and SQLite then uses the partial index
    ``ix_documents_balance_due``, which it does only when the WHERE repeats the index's
    predicate (tests/ledger/test_query_plan.py). ``not paid`` does not imply it: a voided
    document with no balance is not paid. ``open_only``: only documents with a balance
    (the caller wants no others: engagement cycles), read through the same index."""
    # Imported here to keep this index-specific step in one place (issue 3).
    from dataclasses import replace

    from sqlalchemy import and_

    from arpolicy.models.document import balance_due_clause
    from arpolicy.rules.lowering import AllPlan, LeafPlan, Test, zero_passes
    from arpolicy.rules.to_sql import plan_of

    def excludes_zero(p: object) -> bool:
        if not isinstance(p, LeafPlan) or p.field.column != "balance_minor" or p.field.json_key:
            return False
        money = p.test in (Test.MONEY_CMP, Test.MONEY_BETWEEN)
        return money and not zero_passes(p)  # in no currency (each has its own bound)

    _level(fields, Level.INVOICE)
    source = invoices(tenant, bound.as_of)
    plan = plan_of(bound, fields)
    if open_only or any(map(excludes_zero, plan.items if isinstance(plan, AllPlan) else (plan,))):
        source = replace(source, scope=and_(source.scope, balance_due_clause()))
    return select_ids(session, source, bound, fields)


def invoice_records(
    session: Session,
    tenant: Tenant,
    fields: FieldSet,
    as_of: date,
    ids: Sequence[int] | None = None,
) -> Records:
    """``(id, record)`` for the tenant's documents, typed for ``to_python`` / ``explain``."""
    _level(fields, Level.INVOICE)
    return read_records(session, narrowed(session, tenant, as_of, ids), fields, as_of, ids)


def select_customers(
    session: Session, tenant: Tenant, bound: BoundRule, fields: FieldSet
) -> list[int]:
    """Ids of the tenant's customers the customer-level rule matches."""
    _level(fields, Level.CUSTOMER)
    return select_ids(session, customer_source(tenant, bound.as_of), bound, fields)


def customer_records(
    session: Session,
    tenant: Tenant,
    fields: FieldSet,
    as_of: date,
    ids: Sequence[int] | None = None,
) -> Records:
    """``(customer id, record)`` of customer-level fields, typed like the SQL reads them."""
    _level(fields, Level.CUSTOMER)
    source = customer_source(tenant, as_of, customer_ids=ids)
    return read_records(session, source, fields, as_of, ids)


def select_payment_profiles(
    session: Session,
    tenant: Tenant,
    bound: BoundRule,
    fields: FieldSet,
    *,
    dso_period_days: int = DSO_PERIOD_DAYS,
) -> list[int]:
    """Ids of the customers whose payment profile the payment-level rule matches.
    ``monthly_dso`` is the customer's DSO over ``dso_period_days`` (as in its figures)."""
    _level(fields, Level.PAYMENT)
    source = customer_source(tenant, bound.as_of, payment=True, dso_period_days=dso_period_days)
    return select_ids(session, source, bound, fields)


def payment_profile_records(
    session: Session,
    tenant: Tenant,
    fields: FieldSet,
    as_of: date,
    ids: Sequence[int] | None = None,
    *,
    dso_period_days: int = DSO_PERIOD_DAYS,
) -> Records:
    """``(customer id, record)`` of payment-level fields, typed like the SQL reads them."""
    _level(fields, Level.PAYMENT)
    source = customer_source(
        tenant, as_of, payment=True, customer_ids=ids, dso_period_days=dso_period_days
    )
    return read_records(session, source, fields, as_of, ids)


def select(session: Session, tenant: Tenant, bound: BoundRule, fields: FieldSet) -> list[int]:
    """:func:`select_invoices`, :func:`select_customers` or :func:`select_payment_profiles`,
    by the level of ``fields``. For a decision table: the ids some rule of it matches."""
    if isinstance(bound.rule, DecisionTable):
        return decide(session, tenant, bound, fields).matched
    pick = {
        Level.INVOICE: select_invoices,
        Level.CUSTOMER: select_customers,
        Level.PAYMENT: select_payment_profiles,
    }
    return pick[fields.level](session, tenant, bound, fields)


def decide(session: Session, tenant: Tenant, bound: BoundRule, fields: FieldSet) -> Decisions:
    """What a bound decision table decides at the level of ``fields``: each rule's
    condition selected by the database (see :func:`select`), and from that each record's
    outcome."""
    return decide_table(bound, lambda condition: select(session, tenant, condition, fields))


def records(
    session: Session,
    tenant: Tenant,
    fields: FieldSet,
    as_of: date,
    ids: Sequence[int] | None = None,
) -> Records:
    """The records of the level of ``fields`` (see :func:`select`)."""
    pick = {
        Level.INVOICE: invoice_records,
        Level.CUSTOMER: customer_records,
        Level.PAYMENT: payment_profile_records,
    }
    return pick[fields.level](session, tenant, fields, as_of, ids)


def level_source(tenant: Tenant, level: Level, as_of: date) -> Source:
    """The source of a level (to inspect the SQL a rule compiles to)."""
    if level is Level.INVOICE:
        return invoices(tenant, as_of)
    return customer_source(tenant, as_of, payment=level is Level.PAYMENT)
