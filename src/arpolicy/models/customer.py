"""Customers (accounts in the billing system) and their contacts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKeyConstraint, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from arpolicy.models.base import Base, TenantScoped, minor_column


class Customer(TenantScoped, Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "external_id"),
        ForeignKeyConstraint(["tenant_id", "parent_id"], ["customers.tenant_id", "customers.id"]),
        ForeignKeyConstraint(["tenant_id", "finance_owner_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "sales_owner_id"], ["users.tenant_id", "users.id"]),
        Index(None, "tenant_id", "finance_owner_id"),
        Index(None, "tenant_id", "sales_owner_id"),
        Index(None, "tenant_id", "name"),  # the Customers screen's default order
    )

    external_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    country: Mapped[str | None] = mapped_column(String(2))
    """ISO 3166-1 alpha-2."""
    language: Mapped[str | None] = mapped_column(String(3))
    """ISO 639-1 (or 639-3 where there is no two-letter code)."""
    currency: Mapped[str | None] = mapped_column(String(3))
    """The customer's billing currency (ISO 4217)."""
    locale: Mapped[str | None] = mapped_column(String(16))
    region: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str | None] = mapped_column(String(64))
    segment: Mapped[str | None] = mapped_column(String(64))
    customer_group: Mapped[str | None] = mapped_column(String(64))
    parent_id: Mapped[int | None] = mapped_column(Integer)
    finance_owner_id: Mapped[int | None] = mapped_column(Integer)
    sales_owner_id: Mapped[int | None] = mapped_column(Integer)
    net_term_days: Mapped[int | None] = mapped_column(Integer)
    auto_collection: Mapped[bool] = mapped_column(Boolean, default=False)
    credit_check_exempt: Mapped[bool] = mapped_column(Boolean, default=False)
    billing_address: Mapped[dict[str, Any] | None]
    """{"line1", "line2", "city", "state", "postal_code", "country"}."""
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reported_balance_minor: Mapped[int | None] = minor_column(nullable=True)
    """Balance the billing system reports, in the customer's currency (for the mismatch figure)."""
    last_email_at: Mapped[datetime | None]
    last_reply_at: Mapped[datetime | None]


class Contact(TenantScoped, Base):
    __tablename__ = "contacts"
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
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(3))
    is_billing: Mapped[bool] = mapped_column(Boolean, default=False)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    bounced: Mapped[bool] = mapped_column(Boolean, default=False)
    unsubscribed: Mapped[bool] = mapped_column(Boolean, default=False)
