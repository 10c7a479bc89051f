"""Reading a batch of claimed emails ahead (a few queries for the whole batch), so that
step (a) of each email is two guarded UPDATEs: the fast path of
:mod:`arpolicy.worker.emails`. Anything unusual (the claim lost, the email changed,
every recipient blocked, a message that cannot be built) is left to its careful path,
which reloads and locks the rows."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr

import structlog
from sqlalchemy import Engine, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from arpolicy.exceptions import ValidationError
from arpolicy.kit.clock import Clock
from arpolicy.kit.db import transaction
from arpolicy.models import Contact, Email, EmailStatus, OutboxMessage, OutboxStatus
from arpolicy.tenancy.rls import scope_tenant
from arpolicy.worker.claims import Claim
from arpolicy.worker.messages import email_message

log = structlog.get_logger("arpolicy.worker")


@dataclass(frozen=True)
class Prepared:
    """An email ready for hand-over, and what recording it needs."""

    claim: Claim
    email_id: int
    message: EmailMessage
    in_doubt: bool
    message_id: str
    customer_id: int
    documents: tuple[int, ...]
    attempts: int
    event: dict[str, object] | None = None
    """The ``reminder.sent`` webhook's data (None: an email sent by hand)."""


def reminder_event(email: Email) -> dict[str, object] | None:
    if email.cycle_id is None:
        return None
    return {
        "email_id": email.id,
        "customer_id": email.customer_id,
        "message_id": email.message_id,
        "cycle": email.cycle,
        "reminder": email.reminder,
        "occurrence": email.occurrence,
        "mode": str(getattr(email.mode, "value", email.mode)),
        "to": list(email.to or []),
        "documents": list(email.documents or []),
    }


@dataclass(frozen=True)
class _Ready:
    """An email read ahead for the batch (detached), deliverable as far as the read saw."""

    email: Email
    outbox_attempts: int


def _prefetch(engine: Engine, claims: list[Claim]) -> dict[tuple[int, int], _Ready]:
    """The batch's outbox rows and emails in a few queries (per tenant), keeping those that
    look deliverable: queued, and some To address not bounced or unsubscribed. Step (a)
    then only has to confirm, with guarded UPDATEs, that nothing changed meanwhile."""
    out: dict[tuple[int, int], _Ready] = {}
    by_tenant: dict[int, list[Claim]] = {}
    for c in claims:
        by_tenant.setdefault(c.tenant_id, []).append(c)
    for tenant_id, mine in by_tenant.items():
        with transaction(engine, write=False) as session:
            scope_tenant(session, tenant_id)
            rows = session.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.payload,
                    OutboxMessage.status,
                    OutboxMessage.next_attempt_at,
                    OutboxMessage.attempts,
                ).where(
                    OutboxMessage.tenant_id == tenant_id,
                    OutboxMessage.id.in_([c.message_id for c in mine]),
                )
            ).all()
            until = {c.message_id: c.until for c in mine}
            wanted = {
                r.payload.get("email_id"): r
                for r in rows
                if r.status == OutboxStatus.PENDING
                and r.next_attempt_at == until[r.id]
                and isinstance((r.payload or {}).get("email_id"), int)
            }
            emails = session.scalars(
                select(Email).where(Email.tenant_id == tenant_id, Email.id.in_(list(wanted)))
            ).all()
            blocked = _blocked_addresses(session, tenant_id, {e.customer_id for e in emails})
            session.expunge_all()
        for e in emails:
            to = {_address(a) for a in e.to if a and a.strip()}
            if e.status != EmailStatus.QUEUED or (to and to <= blocked.get(e.customer_id, set())):
                continue  # the careful path suppresses or skips it
            row = wanted[e.id]
            out[(tenant_id, row.id)] = _Ready(e, row.attempts)
    return out


def _blocked_addresses(
    session: Session, tenant_id: int, customers: set[int]
) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    if not customers:
        return found
    for cid, address in session.execute(
        select(Contact.customer_id, func.lower(Contact.email)).where(
            Contact.tenant_id == tenant_id,
            Contact.customer_id.in_(list(customers)),
            or_(Contact.bounced.is_(True), Contact.unsubscribed.is_(True)),
            Contact.email.is_not(None),
        )
    ):
        found.setdefault(cid, set()).add(address)
    return found


def _message(ready: _Ready, clock: Clock) -> EmailMessage | None:
    try:
        return email_message(ready.email, date=clock.now())
    except (ValidationError, ValueError):
        return None  # the careful path records why


_ATTEMPT_OUTBOX = (
    update(OutboxMessage)
    .where(
        OutboxMessage.tenant_id == bindparam("t"),
        OutboxMessage.id == bindparam("o"),
        OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.next_attempt_at == bindparam("until"),
    )
    .values(attempts=bindparam("n"))
    .execution_options(synchronize_session=False)
)
_ATTEMPT_EMAIL = (
    update(Email)
    .where(
        Email.tenant_id == bindparam("t"),
        Email.id == bindparam("e"),
        Email.status == EmailStatus.QUEUED,
        Email.attempts == bindparam("seen"),
    )
    .values(attempts=bindparam("n"), last_error=None, in_doubt=bindparam("doubt"))
    .execution_options(synchronize_session=False)
)


def _claim_attempt(
    session: Session, claim: Claim, ready: _Ready, message: EmailMessage
) -> Prepared | None:
    """Step (a) for an email read ahead: count the attempt (and flag it in doubt) only if
    the claim is still ours and the email unchanged since the read; else None (the careful
    path decides)."""
    e = ready.email
    in_doubt = bool(e.in_doubt) or (e.attempts > 0 and e.last_error is None)
    n = e.attempts + 1
    # The outbox row first: if the claim is no longer ours nothing has changed. If the
    # email changed meanwhile only the outbox's attempt count moved, which the careful path
    # then sets again.
    outbox_rows = session.execute(
        _ATTEMPT_OUTBOX, {"t": claim.tenant_id, "o": claim.message_id, "until": claim.until, "n": n}
    )
    if outbox_rows.rowcount != 1:  # type: ignore[attr-defined]
        return None
    email_rows = session.execute(
        _ATTEMPT_EMAIL,
        {"t": claim.tenant_id, "e": e.id, "seen": e.attempts, "n": n, "doubt": in_doubt},
    )
    if email_rows.rowcount != 1:  # type: ignore[attr-defined]
        return None
    fresh_doubt = e.attempts > 0 and e.last_error is None
    if fresh_doubt:
        log.warning(
            "mail.in_doubt",
            tenant_id=claim.tenant_id,
            email_id=e.id,
            message_id=e.message_id,
            attempts=e.attempts,
        )
    documents = tuple(d for d in e.documents or [] if isinstance(d, int))
    return Prepared(
        claim,
        e.id,
        message,
        fresh_doubt,
        e.message_id,
        e.customer_id,
        documents,
        n,
        reminder_event(e),
    )


def _address(value: str) -> str:
    """The bare address of ``Name <addr>`` or ``addr``, lower-cased."""
    return (parseaddr(value)[1] or value.strip()).lower()
