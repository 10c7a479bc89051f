"""What the finance team records about a customer by hand: call notes and notes (the
customer sheet's timeline), and a pause of its reminders with the reason (read by the
engagement decision: a paused customer gets no reminder until it is resumed)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from arpolicy.models.base import Base, TenantScoped, enum_column


def _customer_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], ondelete="CASCADE"
    )


class NoteKind(enum.StrEnum):
    CALL = "call"
    NOTE = "note"


class CustomerNote(TenantScoped, Base):
    """A call logged or a note written about a customer, by a user of the tenant."""

    __tablename__ = "customer_notes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        _customer_fk(),
        Index(None, "tenant_id", "customer_id", "at"),
    )

    customer_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[NoteKind] = mapped_column(enum_column(NoteKind, "note_kind"))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
    author: Mapped[str] = mapped_column(String(254))
    """The actor label (``user:<email> (web)``, ``key:<prefix>``)."""
    user_id: Mapped[int | None] = mapped_column(Integer)


class ReminderPause(TenantScoped, Base):
    """A by-hand pause of a customer's reminders: live from ``paused_at`` until
    ``resumed_at`` (at most one live pause per customer)."""

    __tablename__ = "reminder_pauses"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        _customer_fk(),
        Index(None, "tenant_id", "customer_id", "resumed_at"),
    )

    customer_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    paused_at: Mapped[datetime]
    paused_by: Mapped[str] = mapped_column(String(254))
    resumed_at: Mapped[datetime | None]
    resumed_by: Mapped[str | None] = mapped_column(String(254))
    resume_reason: Mapped[str | None] = mapped_column(String(500))
