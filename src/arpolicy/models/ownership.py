"""Owner assignment: policies (versioned), each customer's assignment per role with its
provenance and lock, and the round-robin cursors (one row per pooled rule, also the row
that serializes concurrent assignments to that pool)."""

from __future__ import annotations

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

from arpolicy.models.base import Base, TenantScoped


class AssignmentPolicyVersion(TenantScoped, Base):
    """One saved version of a role's policy. The live policy of a role is its newest
    version; saving creates a new version (old ones stay, for audit and replay)."""

    __tablename__ = "assignment_policies"
    __table_args__ = (UniqueConstraint("tenant_id", "role", "version"),)

    role: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    """False: the role is switched off from this version on (no automatic assignment)."""
    created_by: Mapped[str] = mapped_column(String(254))
    comment: Mapped[str | None] = mapped_column(String(500))


class OwnerAssignment(TenantScoped, Base):
    """Why a customer has its owner in a role: the rule, the reason, the lock."""

    __tablename__ = "owner_assignments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "customer_id", "role"),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            ondelete="CASCADE",
        ),
        Index(None, "tenant_id", "role", "rule"),
    )

    customer_id: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(Integer)
    rule: Mapped[str | None] = mapped_column(String(100))
    """The rule that chose the owner, ``fallback``, or None (set by hand or imported)."""
    reason: Mapped[str | None] = mapped_column(Text)
    policy_version: Mapped[int | None] = mapped_column(Integer)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    assigned_at: Mapped[datetime]
    assigned_by: Mapped[str] = mapped_column(String(254))


class AssignmentCursor(TenantScoped, Base):
    __tablename__ = "assignment_cursors"
    __table_args__ = (UniqueConstraint("tenant_id", "role", "rule"),)

    role: Mapped[str] = mapped_column(String(16))
    rule: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)


__all__ = ["AssignmentCursor", "AssignmentPolicyVersion", "OwnerAssignment"]
