"""Figure snapshots: the tenant-wide part of the dashboard (headline figures, ageing, the DSO
trend, the most overdue customers), computed once and read many times (ADR 0008). One row
per tenant and as-of day; the worker replaces a stale one (ledger/tasks.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from arpolicy.models.base import Base, TenantScoped


class FigureSnapshot(TenantScoped, Base):
    """The figures of ``as_of`` (the tenant's day) as they were at ``computed_at``; ``data``
    holds money as integer minor units with its currency, never a float (ledger/snapshot.py)."""

    __tablename__ = "figure_snapshots"
    __table_args__ = (UniqueConstraint("tenant_id", "as_of"),)

    as_of: Mapped[date]
    computed_at: Mapped[datetime]
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


__all__ = ["FigureSnapshot"]
