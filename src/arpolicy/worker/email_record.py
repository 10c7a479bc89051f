"""Step (c) of delivering a reminder email (:mod:`arpolicy.worker.emails`): recording what
became of the hand-over, sent (the customer's and the documents' ``last_email_at`` moved
on, the ``reminder.sent`` webhook) or refused (the error, and the next try or the end);
and the claimed rows each step reloads under lock, with the fencing check that they are
still the claim's."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import Engine, bindparam, or_, select, update
from sqlalchemy.orm import Session

from arpolicy.kit.clock import Clock
from arpolicy.kit.db import transaction
from arpolicy.mail import MailError
from arpolicy.models import Customer, Document, Email, EmailStatus, OutboxMessage, OutboxStatus
from arpolicy.tenancy.rls import scope_tenant
from arpolicy.webhooks.events import emit
from arpolicy.webhooks.schedule import after_attempt
from arpolicy.worker.claims import Claim
from arpolicy.worker.email_readahead import Prepared

log = structlog.get_logger("arpolicy.worker")


def record_sent(engine: Engine, clock: Clock, prepared: Prepared, note: str | None) -> str:
    """Step (c) after a hand-over, in a transaction of its own (see :func:`_record_sent`)."""
    with transaction(engine, write=True) as session:
        scope_tenant(session, prepared.claim.tenant_id)
        return _record_sent(session, clock=clock, prepared=prepared, note=note)


def record_failure(
    engine: Engine, clock: Clock, prepared: Prepared, error: MailError, u: float
) -> str:
    """Step (c) after a refusal, in a transaction of its own (see :func:`_record_failure`)."""
    with transaction(engine, write=True) as session:
        scope_tenant(session, prepared.claim.tenant_id)
        return _record_failure(session, clock=clock, prepared=prepared, error=error, u=u)


def _record_sent(session: Session, *, clock: Clock, prepared: Prepared, note: str | None) -> str:
    """Step (c) after a hand-over: the email sent, its outbox row delivered, the
    customer's and the documents' ``last_email_at`` moved on. Recorded even when the
    lease ran out meanwhile (the message did go; a later claim then finds it done).
    Plain UPDATEs: this runs once per email and nothing needs loading."""
    claim, now = prepared.claim, clock.now()
    session.execute(_SENT_OUTBOX, {"t": claim.tenant_id, "o": claim.message_id, "now": now})
    mine = (Email.tenant_id == claim.tenant_id) & (Email.id == prepared.email_id)
    sent = session.execute(
        _SENT_EMAIL, {"t": claim.tenant_id, "e": prepared.email_id, "now": now, "note": note}
    )
    if not sent.rowcount:  # type: ignore[attr-defined]
        # Recorded already by a worker that claimed it after our lease ran out (it went
        # twice), or no longer queued (suppressed meanwhile: it went all the same).
        session.execute(
            update(Email)
            .where(mine)
            .values(in_doubt=True)
            .execution_options(synchronize_session=False)
        )
        log.warning("mail.sent_twice", tenant_id=claim.tenant_id, email_id=prepared.email_id)
        return "sent"
    _touch(session, claim.tenant_id, prepared.customer_id, prepared.documents, now)
    if prepared.event is not None:
        emit(
            session,
            claim.tenant_id,
            "reminder.sent",
            {**prepared.event, "sent_at": now.isoformat(), "in_doubt": prepared.in_doubt},
            key=f"reminder.sent:{prepared.email_id}",
            at=now,
        )
    log.info(
        "mail.sent",
        tenant_id=claim.tenant_id,
        email_id=prepared.email_id,
        message_id=prepared.message_id,
        attempts=prepared.attempts,
        in_doubt=prepared.in_doubt,
        refused=note,
    )
    return "sent"


_SENT_OUTBOX = (
    update(OutboxMessage)
    .where(
        OutboxMessage.tenant_id == bindparam("t"),
        OutboxMessage.id == bindparam("o"),
        OutboxMessage.status == OutboxStatus.PENDING,
    )
    .values(
        status=OutboxStatus.DELIVERED,
        delivered_at=bindparam("now"),
        next_attempt_at=bindparam("now"),
        last_error=None,
    )
    .execution_options(synchronize_session=False)
)


_SENT_EMAIL = (
    update(Email)
    .where(
        Email.tenant_id == bindparam("t"),
        Email.id == bindparam("e"),
        Email.status == EmailStatus.QUEUED,
    )
    .values(status=EmailStatus.SENT, sent_at=bindparam("now"), last_error=bindparam("note"))
    .execution_options(synchronize_session=False)
)
"""Prebuilt statements (SQLAlchemy compiles each once): step (c) runs once per email."""


def _record_failure(
    session: Session, *, clock: Clock, prepared: Prepared, error: MailError, u: float
) -> str:
    """Step (c) after a refusal: ``failed`` for a permanent error or the last retry,
    otherwise ``retried`` (pending until the next try of the webhook schedule)."""
    claim, now = prepared.claim, clock.now()
    row = _outbox(session, claim)
    if row is None or not _still_ours(row, claim):
        return "skipped"  # a newer claim owns it now: it records its own attempt
    email = _email(session, row)
    if email is None or email.status != EmailStatus.QUEUED:
        return "skipped"
    email.last_error = error.detail
    row.last_error = error.detail
    context = {
        "tenant_id": claim.tenant_id,
        "email_id": email.id,
        "attempts": email.attempts,
        "error": error.detail,
    }
    step = after_attempt(email.attempts, False, now, u)
    if error.permanent or step.status == OutboxStatus.FAILED:
        email.status = EmailStatus.FAILED
        _close(row, OutboxStatus.FAILED, now, error.detail)
        log.error("mail.failed", permanent=error.permanent, **context)
        return "failed"
    row.next_attempt_at = step.next_attempt_at
    log.warning("mail.retrying", next_attempt_at=step.next_attempt_at.isoformat(), **context)
    return "retried"


def _outbox(session: Session, claim: Claim) -> OutboxMessage | None:
    return session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.tenant_id == claim.tenant_id, OutboxMessage.id == claim.message_id)
        .with_for_update()
    )


def _email(session: Session, row: OutboxMessage) -> Email | None:
    email_id = (row.payload or {}).get("email_id")
    if not isinstance(email_id, int):
        return None
    return session.scalar(
        select(Email)
        .where(Email.tenant_id == row.tenant_id, Email.id == email_id)
        .with_for_update()
    )


def _still_ours(row: OutboxMessage, claim: Claim) -> bool:
    return row.status == OutboxStatus.PENDING and row.next_attempt_at == claim.until


def _close(
    row: OutboxMessage, status: OutboxStatus, now: datetime, error: str | None = None
) -> None:
    row.status = status
    row.next_attempt_at = now
    row.last_error = error
    if status == OutboxStatus.DELIVERED:
        row.delivered_at = now


def _touch(
    session: Session, tenant_id: int, customer_id: int, documents: tuple[int, ...], now: datetime
) -> None:
    """``last_email_at`` of the customer and of the documents the email is about: moved
    forward to ``now``, never back."""
    session.execute(_TOUCH_CUSTOMER, {"t": tenant_id, "c": customer_id, "now": now})
    if documents:
        session.execute(
            update(Document)
            .where(
                Document.tenant_id == tenant_id,
                Document.id.in_(documents),
                or_(Document.last_email_at.is_(None), Document.last_email_at < now),
            )
            .values(last_email_at=now)
            .execution_options(synchronize_session=False)
        )


_TOUCH_CUSTOMER = (
    update(Customer)
    .where(
        Customer.tenant_id == bindparam("t"),
        Customer.id == bindparam("c"),
        or_(Customer.last_email_at.is_(None), Customer.last_email_at < bindparam("now")),
    )
    .values(last_email_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)
