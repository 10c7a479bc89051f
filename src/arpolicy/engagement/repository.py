"""Every query engagement makes (all tenant-scoped): the cycles and settings, the day's
snapshot (here and in ``_snapshot``: open invoices, customers, history; ``_selection``:
the cycles' rules run as SQL), the addresses, owners and people an email needs, what a
day has decided already, and the bulk writes of a run (``_writes``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from arpolicy.engagement._selection import (
    PastSelector,
    Selector,
    catalogue,
    compile_cycles,
    rule_of,
)
from arpolicy.engagement._snapshot import (
    CHUNK,
    WHOLE_TABLE,
    chunks,
    customers,
    fetch,
    history,
    open_invoices,
)
from arpolicy.engagement._writes import PlannedEmail, write
from arpolicy.engagement.config import Cycle, Settings, parse_cycle, parse_settings
from arpolicy.models import (
    AuditEvent,
    Contact,
    CycleStatus,
    Email,
    EmailMode,
    EngagementCycle,
    EngagementSettings,
    EngagementTask,
    Tenant,
    User,
)
from arpolicy.models import Customer as CustomerRow

__all__ = [
    "CHUNK",
    "Address",
    "PastSelector",
    "Person",
    "PlannedEmail",
    "Selector",
    "StoredCycle",
    "addresses",
    "catalogue",
    "compile_cycles",
    "customers",
    "cycle_named",
    "dropped_keys",
    "emails_decided",
    "has_emails",
    "history",
    "open_invoices",
    "owners",
    "people",
    "reachable",
    "recipients",
    "rule_of",
    "serialize_runs",
    "settings_of",
    "settings_row",
    "stored_cycles",
    "task_keys",
    "tenant_runs",
    "test_cycles",
    "write",
]

ADVISORY_KEY = 6_0001
"""The first key of the engagement runs' advisory locks (the second is the tenant id)."""
DROPPED = "engagement.step_dropped"
"""The audit action of a step dropped past its meaning."""


# --- cycles and settings ---------------------------------------------------------------------


@dataclass(frozen=True)
class StoredCycle:
    row: EngagementCycle
    cycle: Cycle


def stored_cycles(
    session: Session,
    tenant: Tenant,
    statuses: Iterable[CycleStatus] | None = None,
    names: Sequence[str] | None = None,
) -> list[StoredCycle]:
    """The tenant's cycles by priority (then name), filtered by status or name."""
    stmt = select(EngagementCycle).where(EngagementCycle.tenant_id == tenant.id)
    if statuses is not None:
        stmt = stmt.where(EngagementCycle.status.in_(list(statuses)))
    if names is not None:
        stmt = stmt.where(EngagementCycle.name.in_(list(names)))
    rows = session.scalars(stmt.order_by(EngagementCycle.priority, EngagementCycle.name)).all()
    return [StoredCycle(r, parse_cycle(r.config)) for r in rows]


def cycle_named(session: Session, tenant: Tenant, name: str) -> EngagementCycle | None:
    return session.scalar(
        select(EngagementCycle).where(
            EngagementCycle.tenant_id == tenant.id, EngagementCycle.name == name
        )
    )


def test_cycles(session: Session, tenant: Tenant) -> Sequence[str]:
    """The names of the cycles in test."""
    return session.scalars(
        select(EngagementCycle.name).where(
            EngagementCycle.tenant_id == tenant.id, EngagementCycle.status == CycleStatus.TEST
        )
    ).all()


def has_emails(session: Session, tenant: Tenant, cycle_id: int) -> bool:
    """Whether the cycle has decided any email (its history)."""
    stmt = select(Email.id).where(Email.tenant_id == tenant.id, Email.cycle_id == cycle_id)
    return session.scalar(stmt.limit(1)) is not None


def tenant_runs(session: Session, tenant_id: int, statuses: Iterable[CycleStatus]) -> bool:
    """Whether the tenant has a cycle in one of ``statuses`` (one the scheduler runs)."""
    stmt = select(EngagementCycle.id).where(
        EngagementCycle.tenant_id == tenant_id, EngagementCycle.status.in_(list(statuses))
    )
    return session.scalar(stmt.limit(1)) is not None


def settings_row(session: Session, tenant: Tenant) -> EngagementSettings | None:
    return session.scalar(
        select(EngagementSettings).where(EngagementSettings.tenant_id == tenant.id)
    )


def settings_of(session: Session, tenant: Tenant) -> Settings:
    """The tenant's sending settings (the defaults until saved)."""
    row = settings_row(session, tenant)
    return parse_settings(row.config if row else {})


# --- runs ---------------------------------------------------------------------------------------


def serialize_runs(session: Session, tenant: Tenant) -> None:
    """One real run per tenant at a time: on PostgreSQL a transaction-scoped advisory lock
    (a second run waits, then decides from what the first wrote); SQLite's write
    transaction (BEGIN IMMEDIATE) already serializes them."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:k, :t)"), {"k": ADVISORY_KEY, "t": tenant.id}
        )


def emails_decided(session: Session, tenant: Tenant, start: datetime, end: datetime) -> int:
    """Emails the cycles decided from ``start`` to ``end`` (not those sent by hand)."""
    e = Email
    stmt = (
        select(func.count())
        .select_from(e)
        .where(
            e.tenant_id == tenant.id,
            e.mode != EmailMode.MANUAL,
            e.decided_at >= start,
            e.decided_at < end,
        )
    )
    return int(session.connection().execute(stmt).scalar() or 0)


def task_keys(session: Session, tenant: Tenant, keys: Sequence[str]) -> set[str]:
    """Which of these task keys the runs already created."""
    t = EngagementTask
    out: set[str] = set()
    for k in range(0, len(keys), CHUNK):
        stmt = select(t.key).where(t.tenant_id == tenant.id, t.key.in_(keys[k : k + CHUNK]))
        out |= {r[0] for r in fetch(session, stmt)}
    return out


def dropped_keys(session: Session, tenant: Tenant, document_ids: Sequence[str]) -> set[str]:
    """The keys of the dropped steps already recorded on these documents."""
    a = AuditEvent
    seen: set[str] = set()
    for k in range(0, len(document_ids), CHUNK):
        rows = session.execute(
            select(a.after).where(
                a.tenant_id == tenant.id,
                a.entity == "document",
                a.action == DROPPED,
                a.entity_id.in_(document_ids[k : k + CHUNK]),
            )
        ).scalars()
        seen |= {str(after.get("key")) for after in rows if after}
    return seen


# --- whom an email goes to, and from --------------------------------------------------------


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    name: str | None


def people(session: Session, tenant: Tenant) -> dict[int, Person]:
    u = User
    stmt = select(u.id, u.email, u.name).where(u.tenant_id == tenant.id)
    return {i: Person(i, e, n) for i, e, n in fetch(session, stmt)}


def owners(session: Session, tenant: Tenant, ids: Sequence[int]) -> dict[int, tuple[Any, Any]]:
    """Each customer's (finance owner id, sales owner id)."""
    row = CustomerRow
    out: dict[int, tuple[Any, Any]] = {}
    for chunk in chunks(list(ids)):
        stmt = select(row.id, row.finance_owner_id, row.sales_owner_id).where(
            row.tenant_id == tenant.id, row.id.in_(chunk or [])
        )
        out.update({i: (f, s) for i, f, s in fetch(session, stmt)})
    return out


@dataclass(frozen=True)
class Address:
    email: str
    name: str | None
    language: str | None
    billing: bool
    primary: bool


def addresses(session: Session, tenant: Tenant, ids: Sequence[int]) -> dict[int, list[Address]]:
    """Each customer's usable addresses (an e-mail, not bounced, not unsubscribed)."""
    k = Contact
    out: dict[int, list[Address]] = defaultdict(list)
    for chunk in chunks(list(ids)):
        stmt = (
            select(k.customer_id, k.email, k.name, k.language, k.is_billing, k.is_primary)
            .where(
                k.tenant_id == tenant.id,
                k.customer_id.in_(chunk or []),
                k.email.is_not(None),
                k.bounced.is_(False),
                k.unsubscribed.is_(False),
            )
            .order_by(k.customer_id, k.id)
        )
        for cid, email, name, lang, billing, primary in fetch(session, stmt):
            if email and email.strip():
                out[cid].append(Address(email.strip(), name, lang, bool(billing), bool(primary)))
    return out


def recipients(book: Sequence[Address]) -> list[Address]:
    """Whom an email goes to: the billing contacts, else the primary ones."""
    return [a for a in book if a.billing] or [a for a in book if a.primary]


def reachable(session: Session, tenant: Tenant, ids: Iterable[int]) -> set[int]:
    """The customers among ``ids`` with someone to email (:func:`recipients` finds one):
    a usable billing or primary address. Read over the whole table for many ids."""
    k = Contact
    wanted = set(ids)
    stmt = select(k.customer_id, k.email).where(
        k.tenant_id == tenant.id,
        k.email.is_not(None),
        k.bounced.is_(False),
        k.unsubscribed.is_(False),
        k.is_billing.is_(True) | k.is_primary.is_(True),
    )
    out: set[int] = set()
    whole = len(wanted) > WHOLE_TABLE
    for chunk in [None] if whole else chunks(sorted(wanted)):
        q = stmt if chunk is None else stmt.where(k.customer_id.in_(chunk))
        out |= {cid for cid, email in fetch(session, q) if email and email.strip()}
    return out & wanted
