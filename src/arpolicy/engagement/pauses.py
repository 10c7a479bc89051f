"""A customer's reminders paused by hand, with the reason, and resumed (the customer
sheet). While a pause is live the day's decision holds every reminder of the customer
back (policy._pause), as it does after a reply or while a promise to pay runs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.audit import Actor
from arpolicy.audit import record as audit_record
from arpolicy.exceptions import ConflictError, ValidationError
from arpolicy.ledger.writing.resources import CUSTOMERS
from arpolicy.ledger.writing.service import find
from arpolicy.models import ReminderPause

MAX_REASON = 500


def _reason(text: str, where: str = "reason") -> str:
    reason = text.strip()
    if not reason:
        raise ValidationError(
            "a reason is needed", where=where, fix="say why, e.g. 'customer on holiday until 4 Jan'"
        )
    if len(reason) > MAX_REASON:
        raise ValidationError(
            f"the reason has {len(reason)} characters, more than {MAX_REASON}",
            where=where,
            fix=f"shorten it to {MAX_REASON} characters",
        )
    return reason


def live_pause(session: Session, tenant_id: int, customer_id: int) -> ReminderPause | None:
    """The customer's live by-hand pause, if any."""
    p = ReminderPause
    stmt = select(p).where(
        p.tenant_id == tenant_id, p.customer_id == customer_id, p.resumed_at.is_(None)
    )
    return session.scalars(stmt.order_by(p.id.desc()).limit(1)).first()


def live_pauses(
    session: Session, tenant_id: int, ids: Iterable[int] | None = None
) -> dict[int, str]:
    """The reason of each live pause by customer (of ``ids``, or all the tenant's)."""
    p = ReminderPause
    stmt = select(p.customer_id, p.reason).where(p.tenant_id == tenant_id, p.resumed_at.is_(None))
    if ids is not None:
        stmt = stmt.where(p.customer_id.in_(list(ids)))
    return {cid: reason for cid, reason in session.execute(stmt.order_by(p.id))}


def pause(
    session: Session, actor: Actor, customer_id: int, reason: str, *, at: datetime
) -> ReminderPause:
    """Pause the customer's reminders (409 when they are paused by hand already)."""
    find(session, actor.tenant_id, CUSTOMERS, customer_id)
    text = _reason(reason)
    if live_pause(session, actor.tenant_id, customer_id) is not None:
        raise ConflictError(
            "the reminders of this customer are paused already", fix="resume them first"
        )
    row = ReminderPause(
        tenant_id=actor.tenant_id,
        customer_id=customer_id,
        reason=text,
        paused_at=at,
        paused_by=actor.label,
    )
    session.add(row)
    session.flush()
    audit_record(
        session,
        actor,
        "customer.reminders_paused",
        "customer",
        customer_id,
        after={"pause_id": row.id},
        reason=text,
        at=at,
    )
    return row


def resume(
    session: Session, actor: Actor, customer_id: int, reason: str, *, at: datetime
) -> ReminderPause:
    """Resume the customer's reminders (409 when they are not paused by hand)."""
    find(session, actor.tenant_id, CUSTOMERS, customer_id)
    text = _reason(reason)
    row = live_pause(session, actor.tenant_id, customer_id)
    if row is None:
        raise ConflictError(
            "the reminders of this customer are not paused by hand", fix="reload the page"
        )
    row.resumed_at, row.resumed_by, row.resume_reason = at, actor.label, text
    session.flush()
    audit_record(
        session,
        actor,
        "customer.reminders_resumed",
        "customer",
        customer_id,
        before={"pause_id": row.id, "reason": row.reason},
        reason=text,
        at=at,
    )
    return row
