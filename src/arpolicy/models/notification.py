"""Notifications: messages to the tenant's own users (an owner, an approver, a manager),
apart from the emails to customers.

A notification is one row per recipient, written with its outbox row (``kind =
"notification"``) in the transaction of the change it is about; the worker sends it as an
email, exactly once, like a reminder (docs/notifications.md). ``key`` is the caller's
idempotency key and the user's id: notifying the same key again writes nothing. Kept out of
``emails``, which is the history of what each customer was sent (caps, replies and
bounces are counted from it): docs/adr/0005-notifications-table.md.
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
)
from sqlalchemy.orm import Mapped, mapped_column

from arpolicy.models.base import Base, TenantScoped, enum_column


class NotificationStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    """Accepted by the transport (the SMTP server, or written to the maildir)."""
    SUPPRESSED = "suppressed"
    """Not sent: the user was deactivated before it went."""
    FAILED = "failed"
    """The transport refused it for good (after retries)."""


class Notification(TenantScoped, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "key"),
        UniqueConstraint("tenant_id", "message_id"),
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "user_id", "decided_at"),
    )

    user_id: Mapped[int] = mapped_column(Integer)
    topic: Mapped[str] = mapped_column(String(64))
    """What it is about: ``approval.requested``, ``credit.hold``..."""
    key: Mapped[str] = mapped_column(String(255))
    """``<the caller's key>:<user id>``: unique, so a repeat writes nothing."""
    message_id: Mapped[str] = mapped_column(String(255))
    decided_at: Mapped[datetime]
    to_address: Mapped[str] = mapped_column(String(320))
    """The user's address when notified."""
    from_address: Mapped[str | None] = mapped_column(String(320))
    """The sender it went out with (the worker's ``ARPOLICY_NOTIFY_FROM``), set at the
    first hand-over so a repeat goes out the same."""
    subject: Mapped[str] = mapped_column(String(998))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What the templates were given (and the ``notification.created`` webhook carries)."""
    actor: Mapped[str] = mapped_column(String(254))
    status: Mapped[NotificationStatus] = mapped_column(
        enum_column(NotificationStatus, "notification_status"), default=NotificationStatus.QUEUED
    )
    sent_at: Mapped[datetime | None]
    in_doubt: Mapped[bool] = mapped_column(Boolean, default=False)
    """Handed over again after a worker stopped between hand-over and record: it may have
    arrived twice (with the same Message-ID)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


__all__ = ["Notification", "NotificationStatus"]
