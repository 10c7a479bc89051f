"""The statement of account: every open item of a customer as the customer reads it, and its
balance, which is the customer's *outstanding* figure (docs/figures.md).

The items are the open documents (balance not zero, not void: the figures' open items) and
the payments with an unallocated part (the figures' *unaccounted payment*), each signed
from the customer's side: what it owes (invoices, debit notes, a refund paid out) is
positive, what it has to its credit (credit notes, payments on account) is negative. The
balance per currency is :attr:`Amounts.outstanding` of the figures (open debits - unutilised
credit - unaccounted payment) over those items, in each currency the customer has items in,
and in the tenant's base currency over the items' converted amounts, so it is the figure of
:func:`arpolicy.ledger.figures.customer_figures` by construction (a property test checks it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import String, select, type_coerce
from sqlalchemy.orm import Session

from arpolicy.kit.money import Money
from arpolicy.ledger.documents import disputed_clause
from arpolicy.ledger.figures_sql import Amounts, side
from arpolicy.models import Document, DocumentType, Tenant, open_items_clause

CHUNK = 5_000
DEBIT_KINDS = ("invoice", "debit_note")
"""Items the customer owes on a due date (the only ones that can be overdue)."""
KINDS = (*DEBIT_KINDS, "credit_note", "payment", "refund")
"""``payment``: a payment on account (received, not yet applied to a document);
``refund``: a negative payment not applied (money paid back to the customer)."""


@dataclass(frozen=True, slots=True)
class StatementItem:
    kind: str
    """One of :data:`KINDS`."""
    number: str
    """The document number, or the payment's reference (else its external id)."""
    issued_on: date
    """The document date, or the day the payment was received."""
    due_on: date | None
    """The due date of an invoice or debit note; None for credit and payments."""
    amount: Money
    """The whole document or payment, signed from the customer's side."""
    open: Money
    """The part still open, signed: positive owed, negative to the customer's credit."""
    base_open: int
    """``open`` in minor units of the tenant's base currency (at the record's own rate)."""
    disputed: bool = False


@dataclass(slots=True)
class Statement:
    customer_id: int
    base_currency: str
    items: list[StatementItem] = field(default_factory=list)

    def amounts(self, currency: str | None = None) -> Amounts:
        """The figures of the items in ``currency`` (None: all, in the base currency)."""
        out = Amounts(currency or self.base_currency)
        for item in self.items:
            if currency is not None and item.open.currency != currency:
                continue
            value = item.open.minor_units() if currency is not None else item.base_open
            if item.kind in DEBIT_KINDS:
                out.open_debits += value
            elif item.kind == "credit_note":
                out.unutilised_credit -= value
            else:  # payments and refunds: the unaccounted payment
                out.unaccounted_payment -= value
        return out

    @property
    def currencies(self) -> list[str]:
        return sorted({item.open.currency for item in self.items})

    @property
    def balances(self) -> list[Money]:
        """The balance in each currency of the items (the outstanding figure), by currency."""
        return [self.amounts(c).money("outstanding") for c in self.currencies]

    @property
    def base_balance(self) -> Money:
        return self.amounts().money("outstanding")


def statements(
    session: Session, tenant: Tenant, customer_ids: Iterable[int], as_of: date
) -> dict[int, Statement]:
    """The statement of each customer in ``customer_ids`` (every one, empty when nothing is
    open), items ordered by date, then number. Balances are the current ones, as in the
    figures; ``as_of`` selects the same side rows the figures of that day read."""
    ids = sorted(set(customer_ids))
    out = {cid: Statement(cid, tenant.base_currency) for cid in ids}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for cid, item in [
            *_documents(session, tenant, chunk),
            *_payments(session, tenant, chunk, as_of),
        ]:
            out[cid].items.append(item)
    for s in out.values():
        s.items.sort(key=lambda i: (i.issued_on, i.number))
    return out


def _rows(session: Session, stmt: Any) -> Sequence[Any]:
    return session.connection().execute(stmt).all()


def _documents(
    session: Session, tenant: Tenant, chunk: Sequence[int]
) -> Iterable[tuple[int, StatementItem]]:
    d = Document
    stmt = select(
        d.customer_id,
        type_coerce(d.doc_type, String),
        d.number,
        d.document_date,
        d.due_date,
        d.currency,
        d.amount_minor,
        d.balance_minor,
        d.base_balance_minor,
        disputed_clause(tenant.id),
    ).where(d.tenant_id == tenant.id, d.customer_id.in_(chunk), open_items_clause())
    for cid, kind, number, issued, due, ccy, amount, balance, base, disputed in _rows(
        session, stmt
    ):
        sign = -1 if kind == DocumentType.CREDIT_NOTE.value else 1
        yield (
            cid,
            StatementItem(
                kind,
                number,
                issued,
                due if sign > 0 else None,
                Money.from_minor(sign * amount, ccy),
                Money.from_minor(sign * balance, ccy),
                sign * base,
                bool(disputed),
            ),
        )


def _payments(
    session: Session, tenant: Tenant, chunk: Sequence[int], as_of: date
) -> Iterable[tuple[int, StatementItem]]:
    """The payments the figures count as unaccounted (the same rows, the same columns)."""
    s = side("unaccounted_payment", as_of)
    p = s.model
    stmt = select(
        p.customer_id,
        p.reference,
        p.external_id,
        p.received_on,
        p.currency,
        p.amount_minor,
        s.local,
        s.base,
    ).where(p.tenant_id == tenant.id, p.customer_id.in_(chunk), *s.where)
    for cid, reference, external_id, received, ccy, amount, left, base in _rows(session, stmt):
        yield (
            cid,
            StatementItem(
                "payment" if left > 0 else "refund",
                reference or external_id,
                received,
                None,
                Money.from_minor(-amount, ccy),
                Money.from_minor(-left, ccy),
                -base,
            ),
        )


__all__ = ["DEBIT_KINDS", "KINDS", "Statement", "StatementItem", "statements"]
