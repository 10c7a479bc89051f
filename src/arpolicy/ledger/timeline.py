"""One customer's timeline for its sheet: the emails sent to it, its replies and bounces,
tasks, the calls and notes logged, and the audit events about it, its promises and its
disputes; newest first, each source read once with a limit, then merged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from arpolicy.models import (
    AuditEvent,
    CustomerNote,
    Email,
    EngagementTask,
    InboundEmail,
)

LIMIT = 50
NOTED = ("customer.call_logged", "customer.note_logged")
"""Audit events shown by their note already."""
FAR_PAST = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    """email, reply, bounce, auto_reply, task, call, note or audit."""
    title: str
    detail: str = ""
    who: str = ""


def _emails(session: Session, tenant_id: int, customer_id: int) -> list[Entry]:
    e = Email
    stmt = (
        select(e)
        .where(e.tenant_id == tenant_id, e.customer_id == customer_id)
        .order_by(e.decided_at.desc(), e.id.desc())
        .limit(LIMIT)
    )
    out = []
    for m in session.scalars(stmt):
        state = m.status.value + (" (in doubt)" if m.in_doubt else "")
        what = f"{m.reminder} ({m.cycle})" if m.reminder else m.mode.value
        out.append(Entry(m.sent_at or m.decided_at, "email", m.subject, f"{what}: {state}"))
    return out


def _inbound(session: Session, tenant_id: int, customer_id: int) -> list[Entry]:
    i = InboundEmail
    stmt = (
        select(i)
        .where(i.tenant_id == tenant_id, i.customer_id == customer_id)
        .order_by(i.received_at.desc(), i.id.desc())
        .limit(LIMIT)
    )
    return [
        Entry(
            m.received_at,
            m.kind.value,
            m.subject or "(no subject)",
            m.detail or "",
            m.from_address or "",
        )
        for m in session.scalars(stmt)
    ]


def _tasks(session: Session, tenant_id: int, customer_id: int) -> list[Entry]:
    t = EngagementTask
    stmt = (
        select(t)
        .where(t.tenant_id == tenant_id, t.customer_id == customer_id)
        .order_by(t.id.desc())
        .limit(LIMIT)
    )
    return [
        Entry(x.created_at or FAR_PAST, "task", f"Task ({x.kind}): {x.status.value}", x.detail)
        for x in session.scalars(stmt)
    ]


def _notes(session: Session, tenant_id: int, customer_id: int) -> list[Entry]:
    n = CustomerNote
    stmt = (
        select(n)
        .where(n.tenant_id == tenant_id, n.customer_id == customer_id)
        .order_by(n.at.desc(), n.id.desc())
        .limit(LIMIT)
    )
    titles = {"call": "Call logged", "note": "Note"}
    return [
        Entry(x.at, x.kind.value, titles[x.kind.value], x.body, x.author)
        for x in session.scalars(stmt)
    ]


def _audit(
    session: Session,
    tenant_id: int,
    customer_id: int,
    promise_ids: Sequence[int],
    dispute_ids: Sequence[int],
) -> list[Entry]:
    a = AuditEvent
    about = [and_(a.entity == "customer", a.entity_id == str(customer_id))]
    if promise_ids:
        about.append(and_(a.entity == "promise", a.entity_id.in_([str(i) for i in promise_ids])))
    if dispute_ids:
        about.append(and_(a.entity == "dispute", a.entity_id.in_([str(i) for i in dispute_ids])))
    stmt = select(a).where(a.tenant_id == tenant_id, or_(*about)).order_by(a.id.desc()).limit(LIMIT)
    return [
        Entry(x.at, "audit", _title(x.action), x.reason or "", x.actor)
        for x in session.scalars(stmt)
    ]


def _title(action: str) -> str:
    """``promise.created`` -> ``Promise created``."""
    return action.replace(".", " ").replace("_", " ").capitalize()


def timeline(
    session: Session,
    tenant_id: int,
    customer_id: int,
    *,
    promise_ids: Sequence[int] = (),
    dispute_ids: Sequence[int] = (),
) -> list[Entry]:
    """The latest :data:`LIMIT` entries, newest first."""
    entries = [
        *_emails(session, tenant_id, customer_id),
        *_inbound(session, tenant_id, customer_id),
        *_tasks(session, tenant_id, customer_id),
        *_notes(session, tenant_id, customer_id),
        *_audit(session, tenant_id, customer_id, promise_ids, dispute_ids),
    ]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:LIMIT]
