"""Subscriptions, promises to pay, disputes and sales orders."""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import ForeignKeyConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from arpolicy.models.base import Base, TenantScoped, enum_column, minor_column


def _customer_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], ondelete="CASCADE"
    )


def _document_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "document_id"], ["documents.tenant_id", "documents.id"], ondelete="CASCADE"
    )


class SubscriptionStatus(enum.StrEnum):
    FUTURE = "future"
    IN_TRIAL = "in_trial"
    ACTIVE = "active"
    NON_RENEWING = "non_renewing"
    PAUSED = "paused"
    CANCELLED = "cancelled"


class Subscription(TenantScoped, Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "external_id"),
        _customer_fk(),
        Index(None, "tenant_id", "customer_id"),
    )

    external_id: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[SubscriptionStatus] = mapped_column(
        enum_column(SubscriptionStatus, "subscription_status")
    )
    plan: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str | None] = mapped_column(String(3))
    mrr_minor: Mapped[int | None] = minor_column(nullable=True)
    started_on: Mapped[date | None]
    trial_end_on: Mapped[date | None]
    next_billing_on: Mapped[date | None]
    cancelled_on: Mapped[date | None]


class PromiseStatus(enum.StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"


class PromiseToPay(TenantScoped, Base):
    """A customer's promise to pay ``amount`` by ``promised_on`` (for one document or the
    account). Open promises feed the open P2P amount and the next P2P date."""

    __tablename__ = "promises_to_pay"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        _customer_fk(),
        _document_fk(),
        Index(None, "tenant_id", "customer_id"),
        Index(None, "tenant_id", "document_id"),
    )

    external_id: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = minor_column()
    base_amount_minor: Mapped[int] = minor_column()
    promised_on: Mapped[date]
    status: Mapped[PromiseStatus] = mapped_column(enum_column(PromiseStatus, "promise_status"))
    note: Mapped[str | None] = mapped_column(Text)


class DisputeStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    REJECTED = "rejected"


class Dispute(TenantScoped, Base):
    __tablename__ = "disputes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        _customer_fk(),
        _document_fk(),
        Index(None, "tenant_id", "customer_id"),
        Index(None, "tenant_id", "document_id"),
    )

    external_id: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = minor_column()
    base_amount_minor: Mapped[int] = minor_column()
    reason: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[DisputeStatus] = mapped_column(enum_column(DisputeStatus, "dispute_status"))
    opened_on: Mapped[date]
    resolved_on: Mapped[date | None]


class OrderStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ON_HOLD = "on_hold"
    APPROVED = "approved"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"


class SalesOrder(TenantScoped, Base):
    __tablename__ = "sales_orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        _customer_fk(),
        Index(None, "tenant_id", "customer_id"),
    )

    external_id: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = minor_column()
    status: Mapped[OrderStatus] = mapped_column(enum_column(OrderStatus, "order_status"))
    ordered_on: Mapped[date]
    expected_ship_on: Mapped[date | None]
