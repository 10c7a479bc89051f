"""Engagement cycles (reminder emails): the cycles and the tenant's sending settings, every
email decided (the decision and, apart from it, its delivery state), the tasks raised when
a customer cannot be emailed, and the inbound messages (replies, bounces) matched to them.

What a customer is due is derived from the ledger and from ``emails`` (what was decided
before), never from a counter: ``emails.key`` is the idempotency key of one (cycle,
reminder, customer, occurrence) and is unique per tenant, so deciding twice writes once.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
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
)
from sqlalchemy.orm import Mapped, mapped_column

from arpolicy.models.base import Base, TenantScoped, enum_column


class CycleStatus(enum.StrEnum):
    DRAFT = "draft"
    """Not run by the worker; dry runs, forecasts and backtests only."""
    TEST = "test"
    """Run, but every email goes to the tenant's internal address, marked as a test."""
    LIVE = "live"


class EngagementCycle(TenantScoped, Base):
    """One cycle: its rules at three levels and its reminders live in ``config`` (see
    :mod:`arpolicy.engagement.config`); a save increments ``version`` and is audited."""

    __tablename__ = "engagement_cycles"
    __table_args__ = (UniqueConstraint("tenant_id", "name"), UniqueConstraint("tenant_id", "id"))

    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[CycleStatus] = mapped_column(
        enum_column(CycleStatus, "cycle_status"), default=CycleStatus.DRAFT
    )
    priority: Mapped[int] = mapped_column(Integer, default=100)
    """Lower first: a customer matched by several cycles is in the first one only."""
    version: Mapped[int] = mapped_column(Integer, default=1)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(254))


class EngagementSettings(TenantScoped, Base):
    """The tenant's sending rules (daily cap, quiet days, pauses, addresses); one row."""

    __tablename__ = "engagement_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(254))


class EmailMode(enum.StrEnum):
    LIVE = "live"
    TEST = "test"
    """Sent to the internal test address instead of the customer."""
    MANUAL = "manual"
    """Sent by a person outside the cycles and recorded here (pauses the reminders)."""


class EmailStatus(enum.StrEnum):
    """Delivery state, kept apart from the decision (the row itself)."""

    QUEUED = "queued"
    SENT = "sent"
    """Accepted by the transport (the SMTP server, or written to the maildir)."""
    BOUNCED = "bounced"
    SUPPRESSED = "suppressed"
    """Decided but not sent: the address bounced or unsubscribed before dispatch, or the
    cycle was switched off."""
    FAILED = "failed"
    """The transport refused it for good (after retries)."""


class Email(TenantScoped, Base):
    __tablename__ = "emails"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key"),
        UniqueConstraint("tenant_id", "message_id"),
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            ondelete="CASCADE",
        ),
        Index(None, "tenant_id", "customer_id", "decided_at"),
        Index(None, "tenant_id", "cycle_id", "reminder"),
        Index(None, "tenant_id", "status"),
        Index(None, "tenant_id", "mode", "customer_id"),
    )

    customer_id: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(255))
    """``<cycle id>:<reminder>:<customer id>:<occurrence>`` (``manual:<uuid>`` by hand)."""
    message_id: Mapped[str] = mapped_column(String(255))
    """The RFC 5322 Message-ID, derived from ``key``; replies are matched on it."""
    mode: Mapped[EmailMode] = mapped_column(enum_column(EmailMode, "email_mode"))
    status: Mapped[EmailStatus] = mapped_column(
        enum_column(EmailStatus, "email_status"), default=EmailStatus.QUEUED
    )
    cycle_id: Mapped[int | None] = mapped_column(Integer)
    cycle: Mapped[str | None] = mapped_column(String(100))
    reminder: Mapped[str | None] = mapped_column(String(100))
    occurrence: Mapped[int] = mapped_column(Integer, default=1)
    due_on: Mapped[date | None]
    """The day the reminder step fell due (a caught-up step keeps its own day)."""
    decided_at: Mapped[datetime]
    send_after: Mapped[datetime | None]
    """The start of the send window in the customer's time zone; not sent before."""
    language: Mapped[str | None] = mapped_column(String(16))
    from_address: Mapped[str] = mapped_column(String(320))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    to: Mapped[list[str]] = mapped_column(JSON)
    cc: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(998))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    documents: Mapped[list[int]] = mapped_column(JSON, default=list)
    """The ids of the documents (invoices, debit notes) the email is about."""
    reason: Mapped[str | None] = mapped_column(Text)
    """Why it was decided: the cycle's and reminder's rules, explained."""
    sent_at: Mapped[datetime | None]
    in_doubt: Mapped[bool] = mapped_column(Boolean, default=False)
    """The worker stopped after handing it to the transport and before recording it: it
    was handed over again (with the same Message-ID) and may have arrived twice."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    bounced_at: Mapped[datetime | None]
    replied_at: Mapped[datetime | None]


class EmailDocument(TenantScoped, Base):
    """Which documents an email was about, at which reminder: the history each invoice's
    schedule is derived from (how many times each reminder reached it)."""

    __tablename__ = "email_documents"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email_id", "document_id"),
        ForeignKeyConstraint(
            ["tenant_id", "email_id"], ["emails.tenant_id", "emails.id"], ondelete="CASCADE"
        ),
        Index(
            "ix_email_documents_history",
            "tenant_id",
            "cycle_id",
            "mode",
            "document_id",
            "reminder",
            "decided_on",
        ),
    )

    email_id: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[int] = mapped_column(Integer)
    cycle_id: Mapped[int | None] = mapped_column(Integer)
    mode: Mapped[EmailMode] = mapped_column(enum_column(EmailMode, "email_mode"))
    reminder: Mapped[str | None] = mapped_column(String(100))
    due_on: Mapped[date | None]
    decided_on: Mapped[date | None]
    """The day (in the tenant's zone) the email was decided: the invoice's last email."""


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


class EngagementTask(TenantScoped, Base):
    """Work for a person instead of an email: a customer the cycle reached but could not
    email (no usable billing address), for its finance owner."""

    __tablename__ = "engagement_tasks"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key"),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            ondelete="CASCADE",
        ),
        Index(None, "tenant_id", "status", "user_id"),
    )

    customer_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(Integer)
    """The finance owner (None when the customer has none: the tenant's admins see it)."""
    key: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    """``no_address``."""
    cycle: Mapped[str | None] = mapped_column(String(100))
    reminder: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(Text)
    status: Mapped[TaskStatus] = mapped_column(
        enum_column(TaskStatus, "task_status"), default=TaskStatus.OPEN
    )
    due_on: Mapped[date | None]


class InboundKind(enum.StrEnum):
    REPLY = "reply"
    BOUNCE = "bounce"
    AUTO_REPLY = "auto_reply"
    """Out of office and other automatic answers: recorded, no pause."""
    UNMATCHED = "unmatched"


class InboundEmail(TenantScoped, Base):
    """A message received (``POST /v1/inbound-email``, ``arpolicy mail fetch``)."""

    __tablename__ = "inbound_emails"
    __table_args__ = (
        UniqueConstraint("tenant_id", "message_id"),
        Index(None, "tenant_id", "customer_id"),
    )

    message_id: Mapped[str] = mapped_column(String(255))
    """Its own Message-ID (a message received twice is stored once)."""
    kind: Mapped[InboundKind] = mapped_column(enum_column(InboundKind, "inbound_kind"))
    received_at: Mapped[datetime]
    from_address: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(998))
    customer_id: Mapped[int | None] = mapped_column(Integer)
    email_id: Mapped[int | None] = mapped_column(Integer)
    """The email it answers (matched on In-Reply-To / References / the bounced Message-ID)."""
    matched_by: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    """For a bounce: the failed recipient and the diagnostic."""


__all__ = [
    "CycleStatus",
    "Email",
    "EmailDocument",
    "EmailMode",
    "EmailStatus",
    "EngagementCycle",
    "EngagementSettings",
    "EngagementTask",
    "InboundEmail",
    "InboundKind",
    "TaskStatus",
]
