"""AR documents: invoices, debit notes and credit notes."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column

from arpolicy.kit.types import DecimalText
from arpolicy.models.base import Base, TenantScoped, enum_column, minor_column


class DocumentType(enum.StrEnum):
    INVOICE = "invoice"
    DEBIT_NOTE = "debit_note"
    CREDIT_NOTE = "credit_note"


DEBIT_TYPES = (DocumentType.INVOICE.value, DocumentType.DEBIT_NOTE.value)


class Document(TenantScoped, Base):
    """One AR document. ``balance`` is the ledger's own balance: the amount minus what the
    ledger holds applied to it (:func:`arpolicy.ledger.balances.refresh_balances`; a document
    with nothing applied opens at the balance the billing system reported);
    ``reported_balance`` is the billing system's balance, kept as reported. ``base_*`` are the amounts in the tenant's base currency at ``fx_rate``, the rate on or
    before ``document_date`` (recorded with its date so the conversion can be audited)."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "doc_type", "number"),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "subscription_id"], ["subscriptions.tenant_id", "subscriptions.id"]
        ),
        Index(None, "tenant_id", "customer_id"),
    )

    doc_type: Mapped[DocumentType] = mapped_column(enum_column(DocumentType, "document_type"))
    number: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = minor_column()
    balance_minor: Mapped[int] = minor_column()
    reported_balance_minor: Mapped[int | None] = minor_column(nullable=True)
    """Balance the billing system last reported (None: it reported none)."""
    credited_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """Applied other than from payments (credit notes applied, write-offs)."""
    base_amount_minor: Mapped[int] = minor_column()
    base_balance_minor: Mapped[int] = minor_column()
    fx_rate: Mapped[Decimal] = mapped_column(DecimalText)
    fx_rate_on: Mapped[date | None]
    """Date of the rate used (None when the document is in the base currency)."""
    document_date: Mapped[date]
    due_date: Mapped[date]
    posting_date: Mapped[date | None]
    transaction_type: Mapped[str | None] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(String(100))
    business_unit: Mapped[str | None] = mapped_column(String(100))
    disputed: Mapped[bool] = mapped_column(Boolean, default=False)
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    subscription_id: Mapped[int | None] = mapped_column(Integer)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_email_at: Mapped[datetime | None]
    last_reply_at: Mapped[datetime | None]

    @property
    def is_open(self) -> bool:
        return self.balance_minor != 0 and not self.voided

    @property
    def paid(self) -> bool:
        return self.balance_minor == 0 and not self.voided


def open_items_clause() -> Any:
    """The predicate of "open" documents, written once so that queries match the partial
    index below (SQLite uses a partial index only when the query repeats its WHERE)."""
    return (Document.balance_minor != 0) & (Document.voided == false())


# Covering partial index for the per-customer bulk paths (figures, ageing): only open
# items, grouped by customer, carrying every column those queries read.
Index(
    "ix_documents_open_items",
    Document.tenant_id,
    Document.customer_id,
    Document.due_date,
    Document.doc_type,
    Document.balance_minor,
    Document.base_balance_minor,
    Document.currency,
    Document.voided,  # repeats the predicate so SQLite sees the index as covering
    sqlite_where=open_items_clause(),
    postgresql_where=open_items_clause(),
)


def balance_due_clause() -> Any:
    """The predicate of ``ix_documents_balance_due``: documents with a balance, voided ones
    included (no rule field reads ``voided``, so a rule on the balance can use the index).
    The zero is written into the SQL, not bound: SQLite then matches it by the text, and a
    PostgreSQL generic plan can still prove the predicate."""
    return Document.balance_minor != literal_column("0")


# Partial covering index for dunning-style selections (select_invoices): the documents with
# a balance, by currency (a money comparison always fixes it) and id, carrying the due date,
# balance, dispute flag, type and void flag those rules test (the last two tell which
# documents have days past due). Keyed by id, not due date: a dunning rule keeps most
# overdue items, and reading them in id order spares sorting the ids it returns (on
# 1,000,000 invoices, 190,137 matches: 40 ms less on SQLite; docs/benchmarks.md).
Index(
    "ix_documents_balance_due",
    Document.tenant_id,
    Document.currency,
    Document.id,
    Document.due_date,
    Document.balance_minor,
    Document.disputed,
    Document.doc_type,  # with voided: which documents have days past due
    Document.voided,
    sqlite_where=balance_due_clause(),
    postgresql_where=balance_due_clause(),
)
