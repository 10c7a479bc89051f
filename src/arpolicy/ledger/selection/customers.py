"""Where the customer- and payment-level rule fields live: the figures view over
``customers`` (figures_view.py), with each catalogue column mapped to a figure or fact.

A payment-level record is the payment profile of one customer (its last attempt, sources,
subscription, DSO...), so both levels select customer ids. The customer columns are also
what invoice- and payment-level rules read as ``customer.<name>`` (:func:`customer_builders`
with the ``customer__`` prefix).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import partial
from typing import Any

from sqlalchemy import String, and_, case, cast, null

from arpolicy.ledger.buckets import bucket_labels
from arpolicy.ledger.figures_view import DSO_PERIOD_DAYS, CustomerFigureSQL, Joins
from arpolicy.ledger.selection.source import Builder, Source
from arpolicy.models import Customer, SourceKind, Tenant
from arpolicy.rules.to_sql import Scaled

CUSTOMER_ATTRIBUTES = (
    "country",
    "language",
    "currency",
    "region",
    "locale",
    "segment",
    "customer_group",
    "last_email_at",
    "last_reply_at",
    "custom_fields",
)
FIGURE_FIELDS = {
    "outstanding": "outstanding",
    "overdue": "overdue",
    "net_overdue": "net_overdue",
    "open_debits": "open_debits",
    "unaccounted_payment": "unaccounted_payment",
    "unutilised_credit": "unutilised_credit",
    "open_issue_amount": "open_issue",
    "open_p2p_amount": "open_p2p",
}
"""Customer amount fields -> figures (figures_sql.AMOUNTS)."""
LAST_ATTEMPT = {
    "last_attempt_at": "attempted_at",
    "last_attempt_status": "status",
    "last_attempt_amount_minor": "amount_minor",
    "last_attempt_currency": "currency",
    "last_attempt_method": "method",
    "last_attempt_error": "failure_reason",
    "last_attempt_gateway": "gateway",
    "dunning_status": "dunning_status",
    "next_retry_at": "next_retry_at",
}
"""Payment columns read from the customer's last attempt (newest ``attempted_at``)."""


def figure_fields(bounds: Sequence[int]) -> dict[str, str]:
    """Amount field -> figure, the ageing buckets (``ageing_1_30`` -> ``bucket1``) included."""
    found = dict(FIGURE_FIELDS)
    for i, label in enumerate(bucket_labels(bounds)):
        found["ageing_" + label.replace("-", "_").replace(" ", "_")] = f"bucket{i}"
    return found


def customer_builders(fig: CustomerFigureSQL, prefix: str = "") -> dict[str, Builder]:
    """A builder per customer-level column (named ``prefix + Field.column``)."""
    b: dict[str, Builder] = {}
    for field, figure in figure_fields(fig.tenant.ageing_bounds).items():
        b[f"{prefix}{field}_minor"] = partial(fig.amount, figure)
        b[f"{prefix}{field}_local_minor"] = partial(fig.amount, figure, local=True)
    b[f"{prefix}local_currency"] = fig.local_currency
    b[f"{prefix}outstanding_mismatch_minor"] = fig.outstanding_mismatch
    b[f"{prefix}next_p2p_date"] = fig.next_p2p_date
    for name in CUSTOMER_ATTRIBUTES:
        b[f"{prefix}{name}"] = partial(fig.attribute, name)
    b[f"{prefix}finance_owner"] = lambda: fig.owner("finance")
    b[f"{prefix}sales_owner"] = lambda: fig.owner("sales")
    return b


def payment_builders(fig: CustomerFigureSQL) -> dict[str, Builder]:
    """A builder per payment-level column of the customer's payment profile."""
    b: dict[str, Builder] = {
        name: partial(fig.latest, "last_attempt", column) for name, column in LAST_ATTEMPT.items()
    }
    b["payment_attempts"] = lambda: fig.attempts("n")
    b["average_payment_attempts"] = lambda: Scaled(fig.average_attempts_hundredths(), 2)
    b["monthly_dso"] = lambda: Scaled(fig.dso_tenths(), 1)
    b["primary_payment_method"] = lambda: fig.latest("primary_source", "kind")
    b["payment_source_status"] = lambda: fig.latest("primary_source", "status")
    b["backup_payment_method"] = lambda: fig.latest("backup_source", "kind")
    b["card_same_as_last_update"] = lambda: card_same_as_last_update(fig)
    b["auto_collection"] = lambda: fig.attribute("auto_collection")
    b["net_term_days"] = lambda: fig.attribute("net_term_days")
    b["payment_risk"] = lambda: cast(null(), String(64))  # no source in the ledger yet
    b["subscription_status"] = lambda: fig.latest("subscription", "status")
    return b


def card_same_as_last_update(fig: CustomerFigureSQL) -> Any:
    """Whether the primary card's last four digits are those it had before its last update
    (NULL: the primary source is no card, or either number is unknown)."""
    kind, last4, previous = (
        fig.latest("primary_source", c) for c in ("kind", "last4", "previous_last4")
    )
    known = and_(kind == SourceKind.CARD, last4.is_not(None), previous.is_not(None))
    return case((known, last4 == previous))


def customer_source(
    tenant: Tenant,
    as_of: date,
    *,
    payment: bool = False,
    customer_ids: Sequence[int] | None = None,
    dso_period_days: int = DSO_PERIOD_DAYS,
) -> Source:
    """The customer-level source, or with ``payment`` the payment-level one (payment
    columns, and the customer's as ``customer__<column>``)."""
    joins = Joins(Customer.__table__)
    fig = CustomerFigureSQL(
        tenant, as_of, joins, customer_ids=customer_ids, dso_period_days=dso_period_days
    )
    if payment:
        builders = payment_builders(fig) | customer_builders(fig, "customer__")
    else:
        builders = customer_builders(fig)
    return Source(joins, Customer.id, Customer.tenant_id == tenant.id, builders)
