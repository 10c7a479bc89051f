"""Every import kind by its command-line name, and :func:`describe` for the docs."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from arpolicy.exceptions import ValidationError
from arpolicy.ledger.importing.kinds_collection import DISPUTES, PROMISES
from arpolicy.ledger.importing.kinds_documents import (
    CREDIT_NOTES,
    DEBIT_NOTES,
    DOCUMENTS,
    INVOICES,
    ORDERS,
    SUBSCRIPTIONS,
)
from arpolicy.ledger.importing.kinds_parties import (
    CONTACTS,
    CUSTOM_FIELDS,
    CUSTOMERS,
    FX_RATES,
    USERS,
)
from arpolicy.ledger.importing.kinds_payments import ALLOCATIONS, ATTEMPTS, PAYMENTS, SOURCES
from arpolicy.ledger.importing.specs import Kind

KINDS: dict[str, Kind] = {
    k.name: k
    for k in sorted(
        (
            USERS,
            CUSTOM_FIELDS,
            FX_RATES,
            CUSTOMERS,
            CONTACTS,
            SOURCES,
            SUBSCRIPTIONS,
            DOCUMENTS,
            INVOICES,
            DEBIT_NOTES,
            CREDIT_NOTES,
            ORDERS,
            PAYMENTS,
            ALLOCATIONS,
            ATTEMPTS,
            PROMISES,
            DISPUTES,
        ),
        key=lambda k: k.order,
    )
}
"""Import kinds in the order a full load imports them (references point backwards)."""


def get_kind(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        near = difflib.get_close_matches(name, list(KINDS), n=1)
        hint = f"did you mean {near[0]}? " if near else ""
        raise ValidationError(
            f"{name!r} is not something arpolicy imports",
            fix=f"{hint}kinds: {', '.join(KINDS)}",
        )
    return kind


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    name: str
    type: str
    required: bool
    description: str


def describe(name: str) -> list[ColumnInfo]:
    """The columns of kind ``name`` (custom fields come on top as ``cf.<key>``)."""
    return [ColumnInfo(c.name, c.type, c.required, c.description) for c in get_kind(name).columns]
