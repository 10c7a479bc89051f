"""The worklist's own state: what a user did with one item of a worklist (done, snoozed
until a day, handed to a colleague). The items themselves are derived from the ledger and
the engagement tables (engagement/worklist.py); a mark only hides or moves one."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKeyConstraint, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from arpolicy.models.base import Base, TenantScoped


class WorklistMark(TenantScoped, Base):
    """One item's mark: the item is ``kind`` (``reply``, ``promise``, ``task``, ``dispute``,
    ``cycle_end``) and the id of its row (the inbound email, the promise, the task, the
    dispute, the cycle's last email). One row per item: a new mark replaces the old."""

    __tablename__ = "worklist_marks"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "object_id"),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "assigned_user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "assigned_user_id"),
    )

    kind: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[int] = mapped_column(Integer)
    done_at: Mapped[datetime | None]
    snoozed_until: Mapped[date | None]
    """Hidden until this day (in the tenant's zone), then shown again."""
    assigned_user_id: Mapped[int | None] = mapped_column(Integer)
    """Shown in this user's worklist instead of the customer's finance owner's."""
    updated_by: Mapped[str] = mapped_column(String(254))


__all__ = ["WorklistMark"]
