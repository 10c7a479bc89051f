"""Payments, their allocations to documents, payment attempts and payment sources."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from arpolicy.kit.types import DecimalText
from arpolicy.models.base import Base, TenantScoped, enum_column, minor_column


class Payment(TenantScoped, Base):
    """Money received. ``unallocated_minor`` (and its base-currency twin) is kept equal to
    ``amount_minor`` minus the sum of the payment's allocations by
    :func:`arpolicy.ledger.payments.refresh_unallocated` in the same transaction."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "external_id"),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            ondelete="CASCADE",
        ),
        Index(None, "tenant_id", "customer_id"),
    )

    external_id: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = minor_column()
    unallocated_minor: Mapped[int] = minor_column()
    base_amount_minor: Mapped[int] = minor_column()
    base_unallocated_minor: Mapped[int] = minor_column()
    fx_rate: Mapped[Decimal] = mapped_column(DecimalText)
    fx_rate_on: Mapped[date | None]
    received_on: Mapped[date]
    method: Mapped[str | None] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(200))


class Allocation(TenantScoped, Base):
    __tablename__ = "allocations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "payment_id", "document_id"),
        ForeignKeyConstraint(
            ["tenant_id", "payment_id"], ["payments.tenant_id", "payments.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "document_id"],
            ["documents.tenant_id", "documents.id"],
            ondelete="CASCADE",
        ),
        Index(None, "tenant_id", "document_id"),
    )

    payment_id: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[int] = mapped_column(Integer)
    amount_minor: Mapped[int] = minor_column()
    allocated_on: Mapped[date]


class AttemptStatus(enum.StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    VOIDED = "voided"
    IN_PROGRESS = "in_progress"
    TIMEOUT = "timeout"


class DunningStatus(enum.StrEnum):
    """Where the billing system's own retry schedule stands (Chargebee's vocabulary)."""

    IN_PROGRESS = "in_progress"
    EXHAUSTED = "exhausted"
    STOPPED = "stopped"
    SUCCESS = "success"


class PaymentMethod(enum.StrEnum):
    """How a payment was made or tried (Chargebee's transaction payment methods, in short).
    ``check`` is also spelled ``cheque`` (:data:`METHOD_ALIASES`)."""

    CARD = "card"
    DIRECT_DEBIT = "direct_debit"
    BANK_TRANSFER = "bank_transfer"
    PAYPAL = "paypal"
    WALLET = "wallet"
    CHECK = "check"
    CASH = "cash"
    CHARGEBACK = "chargeback"
    OTHER = "other"


METHOD_ALIASES = {"cheque": "check"}
"""Other spellings of payment methods and source kinds, accepted wherever one is read
(rules, imports) and stored as the value they stand for."""


class PaymentAttempt(TenantScoped, Base):
    __tablename__ = "payment_attempts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "document_id"],
            ["documents.tenant_id", "documents.id"],
            ondelete="CASCADE",
        ),
        Index(None, "tenant_id", "customer_id", "attempted_at"),
        Index(None, "tenant_id", "document_id"),
    )

    external_id: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[int | None] = mapped_column(Integer)
    attempted_at: Mapped[datetime]
    status: Mapped[AttemptStatus] = mapped_column(enum_column(AttemptStatus, "attempt_status"))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = minor_column()
    method: Mapped[PaymentMethod | None] = mapped_column(
        enum_column(PaymentMethod, "payment_method")
    )
    gateway: Mapped[str | None] = mapped_column(String(64))
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    dunning_status: Mapped[DunningStatus | None] = mapped_column(
        enum_column(DunningStatus, "dunning_status")
    )
    attempt_number: Mapped[int] = mapped_column(SmallInteger, default=1)
    next_retry_at: Mapped[datetime | None]


class SourceKind(enum.StrEnum):
    """What the customer pays with: a card or bank account on file, or a way it pays
    without one (cash, check; chargeback: its payments come back as chargebacks)."""

    CARD = "card"
    BANK_ACCOUNT = "bank_account"
    CASH = "cash"
    CHECK = "check"
    CHARGEBACK = "chargeback"


class SourceStatus(enum.StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    EXPIRING = "expiring"
    EXPIRED = "expired"


class SourceRole(enum.StrEnum):
    PRIMARY = "primary"
    BACKUP = "backup"
    NONE = "none"


class PaymentSource(TenantScoped, Base):
    __tablename__ = "payment_sources"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            ondelete="CASCADE",
        ),
        Index(None, "tenant_id", "customer_id"),
    )

    external_id: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[SourceKind] = mapped_column(enum_column(SourceKind, "source_kind"))
    status: Mapped[SourceStatus] = mapped_column(enum_column(SourceStatus, "source_status"))
    role: Mapped[SourceRole] = mapped_column(enum_column(SourceRole, "source_role"))
    gateway: Mapped[str | None] = mapped_column(String(64))
    brand: Mapped[str | None] = mapped_column(String(32))
    last4: Mapped[str | None] = mapped_column(String(4))
    previous_last4: Mapped[str | None] = mapped_column(String(4))
    """``last4`` before the source's last update (None: never updated since it was first
    stored, or the billing system gave none); set by every import or API update that
    gives ``last4``, unless it gives ``previous_last4`` itself."""
    expiry_month: Mapped[int | None] = mapped_column(SmallInteger)
    expiry_year: Mapped[int | None] = mapped_column(SmallInteger)
