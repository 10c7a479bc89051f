"""Tenants (merchants), their users, custom field definitions and FX rates."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKeyConstraint, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from arpolicy.kit.types import DecimalText
from arpolicy.models.base import Base, TenantScoped, enum_column

DEFAULT_AGEING_BOUNDS = [30, 60, 90, 120]


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    base_currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    locale: Mapped[str] = mapped_column(String(16), default="en_US")
    ageing_bounds: Mapped[list[int]] = mapped_column(
        JSON, default=lambda: list(DEFAULT_AGEING_BOUNDS)
    )
    """Upper bounds (days past due) of the ageing buckets after "current"; the last bucket is
    open-ended. [30, 60, 90, 120] gives current, 1-30, 31-60, 61-90, 91-120, over 120."""
    payment_link_url: Mapped[str | None] = mapped_column(String(500))
    """Where customers pay online: an https URL, ``{customer_number}`` standing for the
    customer's number (ledger.tenants.check_payment_link); reminders offer it."""
    bank_details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Account holder, IBAN, BIC and bank name for a transfer (kit.bank.BankDetails);
    reminders show them."""
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class UserRole(enum.StrEnum):
    ADMIN = "admin"
    FINANCE_MANAGER = "finance_manager"
    COLLECTOR = "collector"
    SALES = "sales"
    CUSTOMER_SUCCESS = "customer_success"
    AGENT = "agent"
    SUPERVISOR = "supervisor"


class User(TenantScoped, Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "email"),
        ForeignKeyConstraint(["tenant_id", "manager_id"], ["users.tenant_id", "users.id"]),
    )

    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[UserRole] = mapped_column(enum_column(UserRole, "user_role"))
    team: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    manager_id: Mapped[int | None] = mapped_column(Integer)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    """argon2id of the web app password (None: the user has not set one; auth.passwords)."""
    failed_sign_ins: Mapped[int] = mapped_column(Integer, server_default="0")
    """Wrong passwords in a row; reset by a successful sign-in."""
    locked_until: Mapped[datetime | None]
    """Set after too many wrong passwords: no sign-in before then (auth.signin)."""


class FieldEntity(enum.StrEnum):
    CUSTOMER = "customer"
    DOCUMENT = "document"


class FieldType(enum.StrEnum):
    STRING = "string"
    NUMBER = "number"
    MONEY = "money"
    DATE = "date"
    BOOLEAN = "boolean"
    ENUM = "enum"


class CustomFieldDefinition(TenantScoped, Base):
    """A typed custom field a tenant adds to customers or documents. Values live in the
    ``custom_fields`` JSON of the record, keyed by ``key``, in their canonical JSON form
    (numbers and money amounts as strings, dates as ISO text)."""

    __tablename__ = "custom_field_definitions"
    __table_args__ = (UniqueConstraint("tenant_id", "entity", "key"),)

    entity: Mapped[FieldEntity] = mapped_column(enum_column(FieldEntity, "field_entity"))
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    type: Mapped[FieldType] = mapped_column(enum_column(FieldType, "field_type"))
    options: Mapped[list[str] | None] = mapped_column(JSON)
    """Allowed values of an enum field."""
    currency: Mapped[str | None] = mapped_column(String(3))
    """Currency of a money field, when fixed; otherwise the value carries its own."""
    required: Mapped[bool] = mapped_column(Boolean, default=False)


class FxRate(TenantScoped, Base):
    """1 ``from_currency`` = ``rate`` ``to_currency``, valid from ``valid_on`` until the next
    rate of the pair."""

    __tablename__ = "fx_rates"
    __table_args__ = (UniqueConstraint("tenant_id", "from_currency", "to_currency", "valid_on"),)

    from_currency: Mapped[str] = mapped_column(String(3))
    to_currency: Mapped[str] = mapped_column(String(3))
    valid_on: Mapped[date]
    rate: Mapped[Decimal] = mapped_column(DecimalText)
    source: Mapped[str | None] = mapped_column(String(64))


__all__ = [
    "DEFAULT_AGEING_BOUNDS",
    "CustomFieldDefinition",
    "FieldEntity",
    "FieldType",
    "FxRate",
    "Tenant",
    "User",
    "UserRole",
]
