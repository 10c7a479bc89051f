"""Deliver queued notifications (emails to the tenant's users), each exactly once, or
flagged ``in_doubt`` when the worker cannot know: the protocol of reminder emails
(:mod:`arpolicy.worker.emails`), on the ``notifications`` table.

:func:`arpolicy.notifications.notify` wrote a :class:`Notification` (``queued``) and an
outbox row (``kind = "notification"``, ``payload = {"notification_id": ...}``). For each
claimed row: (a) *prepare* in a transaction (the claim still ours; suppressed when the
user was deactivated meanwhile; in doubt when an earlier attempt was handed over but never
recorded; the attempt counted), committed; (b) hand the message over, outside any
transaction; (c) *record* sent, or the error and the next try (the webhook schedule), in
a transaction. Every transaction is scoped to the claim's tenant.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from functools import partial
from typing import TypeVar

import structlog
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from arpolicy.exceptions import ValidationError
from arpolicy.kit.clock import Clock, FixedClock
from arpolicy.kit.db import transaction
from arpolicy.mail import MailError, Transport
from arpolicy.models import Notification, NotificationStatus, OutboxStatus, User
from arpolicy.tenancy.rls import scope_tenant
from arpolicy.webhooks.schedule import after_attempt
from arpolicy.worker.claims import LEASE, Claim, claim_due
from arpolicy.worker.email_record import _close, _outbox, _still_ours
from arpolicy.worker.emails import PER_EMAIL, DispatchReport, _count, _release
from arpolicy.worker.messages import notification_message

log = structlog.get_logger("arpolicy.worker")

T = TypeVar("T")
KIND = "notification"
DEFAULT_SENDER = "arpolicy <arpolicy@localhost>"


@dataclass(frozen=True)
class _Prepared:
    claim: Claim
    notification_id: int
    message: EmailMessage
    in_doubt: bool


def dispatch_notifications(
    engine: Engine,
    transport: Transport,
    now: datetime | Clock,
    limit: int,
    *,
    sender: str = DEFAULT_SENDER,
    lease: timedelta | None = None,
    rand: Callable[[], float] = random.random,
) -> DispatchReport:
    """Claim up to ``limit`` due notifications of any tenant and send them from
    ``sender`` through ``transport`` (entered here: one connection for the batch)."""
    clock = FixedClock(now) if isinstance(now, datetime) else now
    with transaction(engine, write=True) as session:
        claims = claim_due(
            session, clock.now(), limit, kind=KIND, lease=lease or max(LEASE, limit * PER_EMAIL)
        )
    report = DispatchReport(claimed=len(claims))
    if not claims:
        return report
    with transport:
        for i, claim in enumerate(claims):
            if clock.now() >= claim.until:
                report.skipped += 1
                continue
            prepared = _in_tenant(
                engine, claim.tenant_id, partial(_prepare, clock=clock, claim=claim, sender=sender)
            )
            if isinstance(prepared, str):
                _count(report, prepared)
                continue
            report.in_doubt += prepared.in_doubt
            try:
                transport.send(prepared.message)
            except MailError as exc:
                failed = partial(_failed, clock=clock, prepared=prepared, error=exc, u=rand())
                _count(report, _in_tenant(engine, claim.tenant_id, failed))
                if exc.connection:  # the transport is unusable: put the rest back
                    report.released += _release(engine, clock, claims[i + 1 :])
                    break
                continue
            sent = partial(_sent, clock=clock, prepared=prepared)
            _count(report, _in_tenant(engine, claim.tenant_id, sent))
    if report.claimed:
        log.info("notification.pass", **{k: v for k, v in vars(report).items() if v})
    return report


def _in_tenant(engine: Engine, tenant_id: int, step: Callable[[Session], T]) -> T:
    with transaction(engine, write=True) as session:
        scope_tenant(session, tenant_id)
        return step(session)


def _prepare(session: Session, *, clock: Clock, claim: Claim, sender: str) -> _Prepared | str:
    """Step (a): what to hand over, or what became of the notification instead."""
    now = clock.now()
    row = _outbox(session, claim)
    if row is None or not _still_ours(row, claim):
        return "skipped"
    n = _notification(session, row.tenant_id, (row.payload or {}).get("notification_id"))
    context = {"tenant_id": claim.tenant_id, "outbox_id": row.id}
    if n is None:
        _close(row, OutboxStatus.FAILED, now, "the notification row is gone")
        log.error("notification.missing", **context)
        return "failed"
    if n.status != NotificationStatus.QUEUED:
        _close(row, OutboxStatus.DELIVERED, now)
        return "suppressed" if n.status == NotificationStatus.SUPPRESSED else "skipped"
    active = session.scalar(
        select(User.active).where(User.tenant_id == n.tenant_id, User.id == n.user_id)
    )
    if not active:
        n.status = NotificationStatus.SUPPRESSED
        n.last_error = "the user is inactive"
        _close(row, OutboxStatus.DELIVERED, now)
        log.info("notification.suppressed", notification_id=n.id, **context)
        return "suppressed"
    n.from_address = n.from_address or sender  # a repeat goes out as the first did
    try:
        message = notification_message(n, sender=n.from_address, date=now)
    except (ValidationError, ValueError) as exc:
        n.status = NotificationStatus.FAILED
        n.last_error = f"cannot build the message: {exc}"
        _close(row, OutboxStatus.FAILED, now, n.last_error)
        log.error("notification.unbuildable", error=str(exc), notification_id=n.id, **context)
        return "failed"
    in_doubt = n.attempts > 0 and n.last_error is None
    if in_doubt:
        n.in_doubt = True
        log.warning("notification.in_doubt", notification_id=n.id, attempts=n.attempts, **context)
    n.attempts += 1
    n.last_error = None
    row.attempts = n.attempts
    return _Prepared(claim, n.id, message, in_doubt)


def _sent(session: Session, *, clock: Clock, prepared: _Prepared) -> str:
    """Step (c) after a hand-over: sent, recorded even when the lease ran out meanwhile."""
    now, claim = clock.now(), prepared.claim
    n = _notification(session, claim.tenant_id, prepared.notification_id)
    row = _outbox(session, claim)
    if row is not None and row.status == OutboxStatus.PENDING:
        _close(row, OutboxStatus.DELIVERED, now)
    if n is None:
        return "sent"
    if n.status != NotificationStatus.QUEUED:  # recorded by a later claim: it went twice
        n.in_doubt = True
        log.warning("notification.sent_twice", tenant_id=claim.tenant_id, notification_id=n.id)
        return "sent"
    n.status, n.sent_at = NotificationStatus.SENT, now
    log.info(
        "notification.sent",
        tenant_id=claim.tenant_id,
        notification_id=n.id,
        message_id=n.message_id,
        attempts=n.attempts,
        in_doubt=prepared.in_doubt,
    )
    return "sent"


def _failed(
    session: Session, *, clock: Clock, prepared: _Prepared, error: MailError, u: float
) -> str:
    """Step (c) after a refusal: ``failed`` (permanent, or the last try) or ``retried``."""
    now, claim = clock.now(), prepared.claim
    row = _outbox(session, claim)
    if row is None or not _still_ours(row, claim):
        return "skipped"
    n = _notification(session, claim.tenant_id, prepared.notification_id)
    if n is None or n.status != NotificationStatus.QUEUED:
        return "skipped"
    n.last_error = row.last_error = error.detail
    context = {
        "tenant_id": claim.tenant_id,
        "notification_id": n.id,
        "attempts": n.attempts,
        "error": error.detail,
    }
    step = after_attempt(n.attempts, False, now, u)
    if error.permanent or step.status == OutboxStatus.FAILED:
        n.status = NotificationStatus.FAILED
        _close(row, OutboxStatus.FAILED, now, error.detail)
        log.error("notification.failed", permanent=error.permanent, **context)
        return "failed"
    row.next_attempt_at = step.next_attempt_at
    log.warning(
        "notification.retrying", next_attempt_at=step.next_attempt_at.isoformat(), **context
    )
    return "retried"


def _notification(session: Session, tenant_id: int, notification_id: object) -> Notification | None:
    if not isinstance(notification_id, int):
        return None
    return session.scalar(
        select(Notification)
        .where(Notification.tenant_id == tenant_id, Notification.id == notification_id)
        .with_for_update()
    )


__all__ = ["DEFAULT_SENDER", "KIND", "dispatch_notifications"]
