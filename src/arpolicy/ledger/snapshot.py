"""Figure snapshots (ADR 0008): the tenant-wide part of the dashboard, computed once and
read many times. Computing it scans the tenant's open items and 14 months of sales
(seconds at 1,000,000 invoices); reading it is one indexed row.

A snapshot holds :func:`~arpolicy.ledger.figures.tenant_figures` of its day, the DSO trend
(:func:`~arpolicy.ledger.dashboard.dso_trend`) and the most overdue customers
(:func:`~arpolicy.ledger.dashboard.top_overdue`), exactly as those functions return them:
money as integer minor units with its currency, DSO as decimal text. It is *fresh* while it
is of today (the tenant's day) and younger than the configured age; the worker replaces a
stale one (ledger/tasks.py), "Refresh now" recomputes it at once, and the first view of a
tenant without one computes and stores it. ``/v1/reports/figures`` never reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from arpolicy.kit.money import Money
from arpolicy.ledger.dashboard import DsoPoint, OverdueCustomer, dso_trend, top_overdue
from arpolicy.ledger.figures import Amounts, TenantFigures, tenant_figures
from arpolicy.models import FigureSnapshot, Tenant

TOP = 10
"""How many of the most overdue customers a snapshot keeps."""

_AMOUNTS = (
    "open_debits",
    "unutilised_credit",
    "unaccounted_payment",
    "overdue",
    "open_issue",
    "open_p2p",
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    as_of: date
    computed_at: datetime
    figures: TenantFigures
    trend: list[DsoPoint]
    top: list[OverdueCustomer]

    def is_fresh(self, today: date, now: datetime, max_age: timedelta) -> bool:
        """Of ``today`` and computed less than ``max_age`` before ``now``."""
        return self.as_of == today and now - self.computed_at < max_age


def compute(session: Session, tenant: Tenant, as_of: date, now: datetime) -> Snapshot:
    """The tenant's figures of ``as_of`` as they are ``now`` (not stored)."""
    figures = tenant_figures(session, tenant, as_of)
    trend = dso_trend(session, tenant, figures)
    top = top_overdue(session, tenant, as_of, limit=TOP)
    return Snapshot(as_of, now, figures, trend, top)


def store(session: Session, tenant_id: int, snap: Snapshot) -> None:
    """The tenant's row of ``snap.as_of`` becomes ``snap`` unless it holds a later one (one
    row per tenant and day, even when two writers race); rows of earlier days are dropped.
    Compute in a read transaction and store in a short write one: on SQLite a write
    transaction holds the database's one writer lock."""
    table = cast(Table, FigureSnapshot.__table__)
    dialect = session.get_bind().dialect.name
    ins = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table).values(
        tenant_id=tenant_id, as_of=snap.as_of, computed_at=snap.computed_at, data=to_json(snap)
    )
    session.execute(
        ins.on_conflict_do_update(
            index_elements=["tenant_id", "as_of"],
            set_={
                "computed_at": ins.excluded.computed_at,
                "data": ins.excluded.data,
                "updated_at": func.now(),
            },
            where=table.c.computed_at <= ins.excluded.computed_at,  # never an older one
        )
    )
    session.execute(
        delete(FigureSnapshot).where(
            FigureSnapshot.tenant_id == tenant_id, FigureSnapshot.as_of < snap.as_of
        )
    )


def latest(session: Session, tenant_id: int, today: date) -> Snapshot | None:
    """The tenant's snapshot of the latest day up to ``today``, or None."""
    row = session.execute(
        select(FigureSnapshot.as_of, FigureSnapshot.computed_at, FigureSnapshot.data)
        .where(FigureSnapshot.tenant_id == tenant_id, FigureSnapshot.as_of <= today)
        .order_by(FigureSnapshot.as_of.desc())
        .limit(1)
    ).one_or_none()
    return None if row is None else from_json(row[0], row[1], row[2])


def to_json(snap: Snapshot) -> dict[str, Any]:
    f, base = snap.figures, snap.figures.base
    return {
        "currency": base.currency,
        "bucket_labels": list(f.bucket_labels),
        "minor": {name: getattr(base, name) for name in _AMOUNTS},
        "buckets": list(base.buckets),
        "next_p2p_date": _day(f.next_p2p_date),
        "payment_attempts": f.payment_attempts,
        "attempted_documents": f.attempted_documents,
        "dso_days": _text(f.dso_days),
        "trend": [[p.on.isoformat(), _text(p.dso_days)] for p in snap.trend],
        "top": [
            [
                c.customer_id,
                c.external_id,
                c.name,
                c.overdue.minor_units(),
                c.oldest_due.isoformat(),
            ]
            for c in snap.top
        ],
    }


def from_json(as_of: date, computed_at: datetime, data: dict[str, Any]) -> Snapshot:
    ccy = data["currency"]
    minor: dict[str, Any] = {name: int(data["minor"][name]) for name in _AMOUNTS}
    base = Amounts(ccy, buckets=[int(v) for v in data["buckets"]], **minor)
    figures = TenantFigures(
        as_of=as_of,
        bucket_labels=list(data["bucket_labels"]),
        base=base,
        next_p2p_date=_date(data["next_p2p_date"]),
        payment_attempts=int(data["payment_attempts"]),
        attempted_documents=int(data["attempted_documents"]),
        dso_days=_decimal(data["dso_days"]),
    )
    trend = [DsoPoint(date.fromisoformat(on), _decimal(dso)) for on, dso in data["trend"]]
    top = [
        OverdueCustomer(i, ext, name, Money.from_minor(int(minor), ccy), date.fromisoformat(due))
        for i, ext, name, minor, due in data["top"]
    ]
    return Snapshot(as_of, computed_at, figures, trend, top)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)
