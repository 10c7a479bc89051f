"""Side effects waiting for delivery after commit: webhook endpoints, the outbox, attempts.

A change and the messages it causes are written in one transaction; the worker delivers
them afterwards (claiming rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL). Email
reminders use the same outbox with ``kind = "email"``.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from arpolicy.models.base import Base, TenantScoped, enum_column


class WebhookEndpoint(TenantScoped, Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (UniqueConstraint("tenant_id", "id"),)

    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(200))
    events: Mapped[list[str]] = mapped_column(JSON)
    """Event types this endpoint receives (``*`` for all)."""
    secret: Mapped[str] = mapped_column(String(100))
    """Standard Webhooks signing secret (``whsec_...``). Kept retrievable, since signing needs
    it; shown to the tenant once, at creation."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    """Gave up after the last retry."""


class OutboxMessage(TenantScoped, Base):
    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "dedupe_key"),
        ForeignKeyConstraint(
            ["tenant_id", "endpoint_id"],
            ["webhook_endpoints.tenant_id", "webhook_endpoints.id"],
            ondelete="CASCADE",
        ),
        Index(None, "status", "next_attempt_at"),
        Index(None, "tenant_id", "endpoint_id"),
    )

    kind: Mapped[str] = mapped_column(String(16))
    """``webhook`` or ``email``."""
    event_type: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(64))
    """The stable id a receiver deduplicates on (``webhook-id``)."""
    dedupe_key: Mapped[str] = mapped_column(String(255))
    """Unique per tenant: writing the same effect twice is a no-op (exactly once)."""
    endpoint_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    in_doubt: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """A webhook attempt was handed over but its outcome never recorded (the worker
    stopped): the receiver may have the event more than once (same ``event_id``)."""


class DeliveryAttempt(TenantScoped, Base):
    __tablename__ = "delivery_attempts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "message_id"], ["outbox.tenant_id", "outbox.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "message_id"),
    )

    message_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)


__all__ = ["DeliveryAttempt", "OutboxMessage", "OutboxStatus", "WebhookEndpoint"]
