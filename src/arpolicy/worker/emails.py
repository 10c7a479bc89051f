"""Deliver queued reminder emails, each exactly once, or flagged ``in_doubt`` when the
worker cannot know.

The decision side wrote, in one transaction, an :class:`Email` (status ``queued``) and an
outbox row (``kind = "email"``, ``payload = {"email_id": ...}``, due when the send window
opens). For each claimed row (a lease, see :mod:`arpolicy.worker.claims`):

a. *prepare*, in a short transaction: reload both rows and check the claim is still ours
   (the fencing token); suppress the email when every To address is a contact of its
   customer that bounced or unsubscribed; when an earlier attempt was handed over but
   never recorded (``attempts > 0``, no ``last_error``) flag it ``in_doubt``; count the
   attempt; commit.
b. *send*: hand the message to the transport, outside any transaction.
c. *record*, in a transaction: sent (and the customer's and documents' ``last_email_at``)
   or, on a failure, the error and the next try (the webhook backoff) or the end
   (:mod:`arpolicy.worker.email_record`).

(a) commits before (b), so a worker killed anywhere loses nothing: a kill before (b) or
after (c) costs nothing, a kill between (b) and (c) hands the same message (same
Message-ID, so receivers and threading see one message) over once more, flagged in_doubt.
Every transaction is scoped to the claim's tenant (row-level security on PostgreSQL).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import structlog
from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session

from arpolicy.exceptions import ValidationError
from arpolicy.kit.clock import Clock, FixedClock
from arpolicy.kit.db import transaction
from arpolicy.mail import MailError, Transport
from arpolicy.models import Contact, Email, EmailStatus, OutboxStatus
from arpolicy.tenancy.rls import scope_tenant
from arpolicy.webhooks.schedule import SCHEDULE
from arpolicy.worker.claims import LEASE, Claim, claim_due
from arpolicy.worker.email_readahead import (
    Prepared,
    _address,
    _claim_attempt,
    _message,
    _prefetch,
    reminder_event,
)
from arpolicy.worker.email_record import (
    _close,
    _email,
    _outbox,
    _record_failure,
    _record_sent,
    _still_ours,
)
from arpolicy.worker.messages import email_message

log = structlog.get_logger("arpolicy.worker")

KIND = "email"
DEFAULT_LIMIT = 50
PER_EMAIL = timedelta(seconds=5)
"""Time a lease allows per claimed email (hand-over is one SMTP exchange)."""


@dataclass
class DispatchReport:
    """What one dispatch pass did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    """Failed for now (4xx, no connection, ...); tried again later."""
    failed: int = 0
    """Refused for good (5xx), out of retries, or unbuildable."""
    suppressed: int = 0
    in_doubt: int = 0
    """Handed over again after a worker stopped between hand-over and record (among sent,
    retried and failed)."""
    skipped: int = 0
    """No longer ours (the lease ran out, someone else recorded it) or no longer queued."""
    released: int = 0
    """Not tried: the transport was unusable, put back to be tried shortly."""


def dispatch_due(
    engine: Engine,
    transport: Transport,
    now: datetime | Clock,
    limit: int = DEFAULT_LIMIT,
    *,
    lease: timedelta | None = None,
    rand: Callable[[], float] = random.random,
) -> DispatchReport:
    """Claim up to ``limit`` due emails of any tenant and deliver them through
    ``transport`` (entered here: one connection for the batch). ``now`` is an instant, or
    a clock read at each step."""
    clock = FixedClock(now) if isinstance(now, datetime) else now
    with transaction(engine, write=True) as session:
        claims = claim_due(
            session, clock.now(), limit, kind=KIND, lease=lease or max(LEASE, limit * PER_EMAIL)
        )
    report = DispatchReport(claimed=len(claims))
    if not claims:
        return report
    with transport:
        _batch(engine, transport, clock, claims, report, rand)
    log.info("mail.pass", **{k: v for k, v in vars(report).items() if v})
    return report


Record = Callable[[Session], str]
"""Step (c) of the email handed over last, run in the transaction of the next step (a)."""


def _batch(
    engine: Engine,
    transport: Transport,
    clock: Clock,
    claims: list[Claim],
    report: DispatchReport,
    rand: Callable[[], float],
) -> None:
    """One claim after another. Step (c) of an email and step (a) of the next share one
    transaction (one commit per email instead of two): the record still commits before
    the next hand-over, so the protocol, and what a kill costs, are unchanged."""
    carry: tuple[int, Record] | None = None
    rest: list[Claim] = []
    ready = _prefetch(engine, claims)
    for i, claim in enumerate(claims):
        if clock.now() >= claim.until:
            log.warning("mail.lease_expired", tenant_id=claim.tenant_id, outbox_id=claim.message_id)
            report.skipped += 1
            continue
        fast = ready.get((claim.tenant_id, claim.message_id))
        message = _message(fast, clock) if fast is not None else None
        with transaction(engine, write=True) as session:
            if carry is not None:
                _count(report, _run(session, carry))
                carry = None
            scope_tenant(session, claim.tenant_id)
            quick = None
            if fast is not None and message is not None:
                quick = _claim_attempt(session, claim, fast, message)
            # anything unusual takes the careful path (rows reloaded and locked)
            prepared = quick if quick is not None else _prepare(session, clock, claim)
        if isinstance(prepared, str):
            _count(report, prepared)
            continue
        report.in_doubt += prepared.in_doubt
        try:
            note = transport.send(prepared.message)
        except MailError as exc:
            carry = (
                claim.tenant_id,
                partial(_record_failure, clock=clock, prepared=prepared, error=exc, u=rand()),
            )
            if exc.connection:  # the transport is unusable: put the rest back
                rest = claims[i + 1 :]
                break
            continue
        carry = (claim.tenant_id, partial(_record_sent, clock=clock, prepared=prepared, note=note))
    if carry is not None:
        with transaction(engine, write=True) as session:
            _count(report, _run(session, carry))
    report.released += _release(engine, clock, rest)


def _run(session: Session, carry: tuple[int, Record]) -> str:
    tenant_id, record = carry
    scope_tenant(session, tenant_id)
    return record(session)


def _count(report: DispatchReport, outcome: str) -> None:
    setattr(report, outcome, getattr(report, outcome) + 1)


def prepare(engine: Engine, clock: Clock, claim: Claim) -> Prepared | str:
    """Step (a) in a transaction of its own (see :func:`_prepare`)."""
    with transaction(engine, write=True) as session:
        scope_tenant(session, claim.tenant_id)
        return _prepare(session, clock, claim)


def _prepare(session: Session, clock: Clock, claim: Claim) -> Prepared | str:
    """Step (a): what to hand over for ``claim``, or what became of it instead
    (``skipped``, ``suppressed``, ``failed``). The session is scoped to the tenant."""
    now = clock.now()
    row = _outbox(session, claim)
    if row is None or not _still_ours(row, claim):
        return "skipped"
    email = _email(session, row)
    context = {"tenant_id": claim.tenant_id, "outbox_id": row.id}
    if email is None:
        _close(row, OutboxStatus.FAILED, now, "the email row is gone")
        log.error("mail.email_missing", **context)
        return "failed"
    context["email_id"] = email.id
    if email.status != EmailStatus.QUEUED:  # suppressed or sent meanwhile by other means
        _close(row, OutboxStatus.DELIVERED, now)
        return "suppressed" if email.status == EmailStatus.SUPPRESSED else "skipped"
    if _all_blocked(session, email):
        email.status = EmailStatus.SUPPRESSED
        email.last_error = "every recipient bounced or unsubscribed"
        _close(row, OutboxStatus.DELIVERED, now)
        log.info("mail.suppressed", **context)
        return "suppressed"
    try:
        message = email_message(email, date=now)
    except (ValidationError, ValueError) as exc:
        email.status = EmailStatus.FAILED
        email.last_error = f"cannot build the message: {exc}"
        _close(row, OutboxStatus.FAILED, now, email.last_error)
        log.error("mail.unbuildable", error=str(exc), **context)
        return "failed"
    in_doubt = email.attempts > 0 and email.last_error is None
    if in_doubt:
        email.in_doubt = True
        log.warning(
            "mail.in_doubt", message_id=email.message_id, attempts=email.attempts, **context
        )
    email.attempts += 1
    email.last_error = None  # cleared: an attempt that is never recorded stays visible
    row.attempts = email.attempts
    documents = tuple(d for d in email.documents or [] if isinstance(d, int))
    return Prepared(
        claim,
        email.id,
        message,
        in_doubt,
        email.message_id,
        email.customer_id,
        documents,
        email.attempts,
        reminder_event(email),
    )


def _release(engine: Engine, clock: Clock, claims: list[Claim]) -> int:
    """Put back claims not tried (the transport is unusable): due again after the first
    retry delay, attempts unchanged."""
    released = 0
    again = clock.now() + SCHEDULE[0]
    for claim in claims:
        with transaction(engine, write=True) as session:
            scope_tenant(session, claim.tenant_id)
            row = _outbox(session, claim)
            if row is not None and _still_ours(row, claim):
                row.next_attempt_at = again
                released += 1
    return released


def _all_blocked(session: Session, email: Email) -> bool:
    """Whether every To address is a contact of the email's customer that bounced or
    unsubscribed (case-insensitive). Cc addresses are copies and do not count."""
    addresses = {_address(a) for a in email.to if a and a.strip()}
    if not addresses:
        return False
    blocked = set(
        session.scalars(
            select(func.lower(Contact.email)).where(
                Contact.tenant_id == email.tenant_id,
                Contact.customer_id == email.customer_id,
                or_(Contact.bounced.is_(True), Contact.unsubscribed.is_(True)),
                func.lower(Contact.email).in_(addresses),
            )
        )
    )
    return addresses <= blocked


__all__ = ["DispatchReport", "Prepared", "dispatch_due", "prepare"]
