"""What a document or a payment with allocations may not change: its customer, its currency,
or its amount below what is allocated (:func:`check_held`); and what allocations may not
do: apply more to a document than its amount (:func:`check_applied`).

One guard on every path that writes documents, payments and allocations: the import kinds
build each row through it, and a single write of those records (the API's POST and PATCH, a
job's) is one row of its kind through the ledger write service (arpolicy.ledger.writing), so
a file, a request and the CLI refuse alike (a row error with
line and column, a 422 naming the body field, exit code 2), and nothing is stored.

Why: an allocation ties a payment of a customer to a document, in their common currency. A
document moved to another customer would leave the first customer's money applied to it, and
one shrunk below what is applied would be paid more than its amount; the ledger would no
longer add up, whatever balance the billing system reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from arpolicy.exceptions import ValidationError
from arpolicy.kit.db import core
from arpolicy.kit.money import Money
from arpolicy.models import Allocation, Customer, Document, Payment


@dataclass(frozen=True, slots=True)
class Held:
    """The allocations of a stored document (applied from payments) or payment (allocated to
    documents): the record's customer and currency as stored, and their total."""

    customer_id: int
    customer: str
    """The customer's external id (for the message)."""
    currency: str
    minor: int
    credited: int = 0
    """A document's credit applied otherwise (``documents.credited_minor``)."""


class AllocatedChange(ValidationError):
    """A change the allocations of a record forbid; ``column`` is the field concerned
    (``customer``, ``currency`` or ``amount``)."""

    def __init__(self, message: str, *, column: str, fix: str) -> None:
        super().__init__(message, where=column, fix=fix)
        self.column = column


def check_held(
    record: str,
    held: Held | None,
    *,
    customer_id: int,
    customer: str,
    currency: str,
    amount_minor: int,
    payment: bool = False,
) -> None:
    """Refuse the new values of a stored ``record`` ("invoice INV-1", "payment P-1": a
    ``payment``) that has allocations ``held``: another customer, another currency, an
    amount below the total."""
    if held is None:
        return
    applied = Money.from_minor(held.minor, held.currency)
    how = "allocated to documents" if payment else "applied from payments"
    if customer_id != held.customer_id:
        keep = (
            "a payment stays with the customer who paid"
            if payment
            else "to bill another customer, credit this document with a credit note and "
            "issue a new one to the other customer"
        )
        raise AllocatedChange(
            f"{record} of customer {held.customer} has {applied} {how}; "
            f"it cannot move to customer {customer}",
            column="customer",
            fix=f"keep customer {held.customer}; {keep}",
        )
    if currency != held.currency:
        raise AllocatedChange(
            f"{record} has {applied} {how}; its currency cannot change to {currency}",
            column="currency",
            fix=f"keep {held.currency}: its allocations are in {held.currency}",
        )
    if amount_minor < held.minor + held.credited:
        raise AllocatedChange(
            f"{record} has {applied} {how}; its amount cannot go below that",
            column="amount",
            fix=f"give an amount of at least {applied}, or release the allocations first "
            "(import the allocations with smaller amounts, or PATCH /v1/allocations/{id})",
        )


def check_applied(record: str, amount: Money, applied_minor: int) -> None:
    """Refuse allocations that would apply more to a document (``record`` of ``amount``)
    than its amount: ``applied_minor`` is the total with the new ones."""
    if applied_minor > amount.minor_units():
        applied = Money.from_minor(applied_minor, amount.currency)
        raise AllocatedChange(
            f"would bring what is applied to {record} to {applied}, more than its amount {amount}",
            column="amount",
            fix=f"apply no more than {amount} to {record} in total",
        )


# --- what is held, for the import's reference maps (context.LOADERS, lookups.ONE_LOADERS) ---


def _documents_held(tenant_id: Any) -> Select[*tuple[Any, ...]]:
    d, a, c = Document, Allocation, Customer
    return (
        select(
            d.doc_type,
            d.number,
            d.customer_id,
            c.external_id,
            d.currency,
            func.sum(a.amount_minor),
            d.credited_minor,
        )
        .join(a, (a.tenant_id == d.tenant_id) & (a.document_id == d.id))
        .join(c, (c.tenant_id == d.tenant_id) & (c.id == d.customer_id))
        .where(d.tenant_id == tenant_id)
        .group_by(
            d.id, d.doc_type, d.number, d.customer_id, c.external_id, d.currency, d.credited_minor
        )
    )


def _payments_held(tenant_id: Any) -> Select[*tuple[Any, ...]]:
    p, a, c = Payment, Allocation, Customer
    return (
        select(p.external_id, p.customer_id, c.external_id, p.currency, func.sum(a.amount_minor))
        .join(a, (a.tenant_id == p.tenant_id) & (a.payment_id == p.id))
        .join(c, (c.tenant_id == p.tenant_id) & (c.id == p.customer_id))
        .where(p.tenant_id == tenant_id)
        .group_by(p.id, p.external_id, p.customer_id, c.external_id, p.currency)
    )


def _held(cid: int, ext: str, currency: str, total: Any, credited: Any = 0) -> Held:
    return Held(cid, ext, currency, int(total), int(credited))


def documents_held(session: Session, tenant_id: int) -> dict[Any, Any]:
    """(type, number) -> :class:`Held` of every document with allocations."""
    return {
        (str(getattr(t, "value", t)), n): _held(*rest)
        for t, n, *rest in session.execute(_documents_held(tenant_id))
    }


_ONE_DOCUMENT = _documents_held(bindparam("tenant")).where(
    Document.doc_type == bindparam("type"), Document.number == bindparam("number")
)
_ONE_PAYMENT = _payments_held(bindparam("tenant")).where(Payment.external_id == bindparam("key"))
"""The one-key statements, built once (building one cost more than running it)."""


def document_held(session: Session, tenant_id: int, key: Any) -> Held | None:
    """:class:`Held` of the document (type, number), or None when nothing is applied to it."""
    if not isinstance(key, tuple) or len(key) != 2:
        return None
    params = {"tenant": tenant_id, "type": key[0], "number": key[1]}
    row = core(session).execute(_ONE_DOCUMENT, params).first()
    return None if row is None else _held(*row[2:])


def payments_held(session: Session, tenant_id: int) -> dict[Any, Any]:
    """external id -> :class:`Held` of every payment with allocations."""
    return {ext: _held(*rest) for ext, *rest in session.execute(_payments_held(tenant_id))}


def payment_held(session: Session, tenant_id: int, key: Any) -> Held | None:
    """:class:`Held` of the payment ``key`` (external id), or None when none is allocated."""
    row = core(session).execute(_ONE_PAYMENT, {"tenant": tenant_id, "key": key}).first()
    return None if row is None else _held(*row[1:])


def documents_applied(session: Session, tenant_id: int) -> dict[Any, Any]:
    """Document id -> total applied to it, for the documents with allocations."""
    q = (
        select(Allocation.document_id, func.sum(Allocation.amount_minor))
        .where(Allocation.tenant_id == tenant_id)
        .group_by(Allocation.document_id)
    )
    return {did: int(total) for did, total in session.execute(q)}


def document_applied(session: Session, tenant_id: int, key: Any) -> int | None:
    """Total applied to document ``key`` (its id), or None when nothing is."""
    total = core(session).scalar(_APPLIED, {"tenant": tenant_id, "key": key})
    return None if total is None else int(total)


_APPLIED = select(func.sum(Allocation.amount_minor)).where(
    Allocation.tenant_id == bindparam("tenant"), Allocation.document_id == bindparam("key")
)
