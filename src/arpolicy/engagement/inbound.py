"""Replies and bounces: :func:`receive` one raw inbound message (``POST /v1/inbound-email``,
``arpolicy mail fetch``, ``arpolicy mail receive``), match it to an email sent to a
customer and record what it means. docs/inbound-email.md describes it for users.

Matching, first hit wins (:mod:`arpolicy.engagement.inbound_match`): the message's
In-Reply-To, then its References (newest first), then for a bounce the Message-ID of the
returned message, each against ``emails.message_id`` of the tenant. Without such an email:
the customer whose contact has the sender's address (a bounce: the failed recipient's
address). Nothing found: ``unmatched``.

Effects (only the facts; the decision engine pauses reminders from them):

- reply: ``emails.replied_at`` (the first reply) and ``customers.last_reply_at`` (the
  latest), and ``documents.last_reply_at`` of the documents the email was about;
- bounce: the email's status becomes ``bounced`` and every contact of the customer whose
  address failed is marked ``bounced``;
- automatic answer (out of office, a delayed-delivery notice): recorded, nothing else.

Every message is stored once as an ``InboundEmail``: a message received again (same
Message-ID; one without gets a Message-ID derived from a hash of its bytes) is a duplicate
and changes nothing. Each effect is audited and the webhooks ``email.replied`` and
``email.bounced`` are queued in the same transaction. The caller commits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from arpolicy.audit import Actor, record
from arpolicy.engagement.inbound_match import _Match, _match
from arpolicy.engagement.inbound_parse import Parsed, clean, parse
from arpolicy.kit.clock import ensure_aware
from arpolicy.models import (
    Contact,
    Customer,
    Document,
    EmailStatus,
    InboundEmail,
    InboundKind,
    Tenant,
)
from arpolicy.webhooks.events import emit

log = structlog.get_logger("arpolicy.engagement")


@dataclass
class InboundResult:
    """What :func:`receive` did with one message."""

    inbound_email_id: int
    message_id: str
    kind: str
    customer_id: int | None
    email_id: int | None
    matched_by: str | None
    """in_reply_to, references, original_message_id, from_address, failed_recipient."""
    duplicate: bool = False
    """Received before: nothing was changed this time."""
    effects: list[str] = field(default_factory=list)
    """What changed: ``email.replied``, ``customer.replied``, ``email.bounced``,
    ``contact.bounced:<contact id>``..."""
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def receive(
    session: Session, tenant: Tenant, raw: bytes, *, at: datetime, actor: Actor
) -> InboundResult:
    """Parse, match, record and apply one raw MIME message received at ``at``."""
    at = ensure_aware(at)
    parsed = parse(raw)
    stored = _stored(session, tenant.id, parsed.message_id)
    if stored is not None:
        return _duplicate(stored)
    match = _match(session, tenant.id, parsed)
    kind = parsed.kind if match.customer_id is not None else InboundKind.UNMATCHED.value
    inbound = InboundEmail(
        tenant_id=tenant.id,
        message_id=parsed.message_id,
        kind=InboundKind(kind),
        received_at=at,
        from_address=parsed.from_address,
        subject=parsed.subject,
        customer_id=match.customer_id,
        email_id=match.email.id if match.email else None,
        matched_by=match.by,
        detail=_detail(parsed, match),
    )
    try:
        with session.begin_nested():  # claims the Message-ID (a concurrent copy waits here)
            session.add(inbound)
            session.flush()
    except IntegrityError:
        stored = _stored(session, tenant.id, parsed.message_id)
        if stored is None:
            raise
        return _duplicate(stored)
    result = InboundResult(
        inbound_email_id=inbound.id,
        message_id=inbound.message_id,
        kind=kind,
        customer_id=match.customer_id,
        email_id=inbound.email_id,
        matched_by=match.by,
        detail=inbound.detail,
    )
    record(
        session,
        actor,
        "inbound_email.received",
        "inbound_email",
        inbound.id,
        at=at,
        after={
            "kind": kind,
            "message_id": inbound.message_id,
            "from": parsed.from_address,
            "customer_id": match.customer_id,
            "email_id": result.email_id,
            "matched_by": match.by,
        },
    )
    if kind == InboundKind.REPLY:
        _replied(session, tenant, actor, parsed, match, inbound, at, result)
    elif kind == InboundKind.BOUNCE:
        _bounced(session, tenant, actor, parsed, match, inbound, at, result)
    log.info(
        "inbound_email.received",
        tenant_id=tenant.id,
        inbound_email_id=inbound.id,
        kind=kind,
        customer_id=match.customer_id,
        email_id=result.email_id,
        matched_by=match.by,
        effects=len(result.effects),
    )
    return result


def _stored(session: Session, tenant_id: int, message_id: str) -> InboundEmail | None:
    return session.scalar(
        select(InboundEmail).where(
            InboundEmail.tenant_id == tenant_id, InboundEmail.message_id == message_id
        )
    )


def _duplicate(stored: InboundEmail) -> InboundResult:
    return InboundResult(
        inbound_email_id=stored.id,
        message_id=stored.message_id,
        kind=stored.kind.value,
        customer_id=stored.customer_id,
        email_id=stored.email_id,
        matched_by=stored.matched_by,
        duplicate=True,
        detail=stored.detail,
    )


def _detail(parsed: Parsed, match: _Match) -> str | None:
    parts = []
    if parsed.kind == "bounce":
        parts.append(f"failed: {', '.join(parsed.failed_recipients) or 'unknown recipient'}")
        if parsed.diagnostic:
            parts.append(f"diagnostic: {parsed.diagnostic}")
    if parsed.why:
        parts.append(f"classified by {parsed.why}")
    if match.note:
        parts.append(match.note)
    return clean("; ".join(parts), 4000) if parts else None


def _replied(
    session: Session,
    tenant: Tenant,
    actor: Actor,
    parsed: Parsed,
    match: _Match,
    inbound: InboundEmail,
    at: datetime,
    result: InboundResult,
) -> None:
    email = match.email
    if email is not None and email.replied_at is None:
        email.replied_at = at
        record(
            session,
            actor,
            "email.replied",
            "email",
            email.id,
            at=at,
            before={"replied_at": None},
            after={"replied_at": at, "inbound_email_id": inbound.id},
        )
        result.effects.append("email.replied")
    customer = _customer(session, tenant.id, match.customer_id)
    if customer.last_reply_at is None or customer.last_reply_at < at:
        before = customer.last_reply_at
        customer.last_reply_at = at
        record(
            session,
            actor,
            "customer.replied",
            "customer",
            customer.id,
            at=at,
            before={"last_reply_at": before},
            after={"last_reply_at": at, "inbound_email_id": inbound.id},
        )
        result.effects.append("customer.replied")
    if email is not None and email.documents:
        d = Document
        session.execute(
            update(d)
            .where(
                d.tenant_id == tenant.id,
                d.customer_id == customer.id,
                d.id.in_(email.documents),
                (d.last_reply_at.is_(None)) | (d.last_reply_at < at),
            )
            .values(last_reply_at=at)
            .execution_options(synchronize_session=False)
        )
    emit(
        session,
        tenant.id,
        "email.replied",
        {
            "inbound_email_id": inbound.id,
            "customer_id": customer.id,
            "email_id": email.id if email else None,
            "matched_by": match.by,
            "from": parsed.from_address,
            "subject": parsed.subject,
            "replied_at": at.isoformat(),
        },
        key=f"email.replied:{inbound.id}",
        at=at,
    )


def _bounced(
    session: Session,
    tenant: Tenant,
    actor: Actor,
    parsed: Parsed,
    match: _Match,
    inbound: InboundEmail,
    at: datetime,
    result: InboundResult,
) -> None:
    email = match.email
    failed = set(parsed.failed_recipients)
    if not failed and email is not None and len(email.to) == 1:
        failed = {email.to[0].lower()}  # a bounce that does not say who: the one recipient
    if email is not None and email.status != EmailStatus.BOUNCED:
        before = {"status": email.status, "bounced_at": email.bounced_at}
        email.status = EmailStatus.BOUNCED
        email.bounced_at = email.bounced_at or at
        record(
            session,
            actor,
            "email.bounced",
            "email",
            email.id,
            at=at,
            before=before,
            after={
                "status": email.status,
                "bounced_at": email.bounced_at,
                "failed_recipients": sorted(failed),
                "inbound_email_id": inbound.id,
            },
        )
        result.effects.append("email.bounced")
    contacts = (
        session.scalars(
            select(Contact)
            .where(
                Contact.tenant_id == tenant.id,
                Contact.customer_id == match.customer_id,
                Contact.email.in_(sorted(failed)),
                Contact.bounced.is_(False),
            )
            .order_by(Contact.id)
        ).all()
        if failed
        else []
    )
    for contact in contacts:
        contact.bounced = True
        record(
            session,
            actor,
            "contact.bounced",
            "contact",
            contact.id,
            at=at,
            before={"bounced": False},
            after={"bounced": True, "email": contact.email, "inbound_email_id": inbound.id},
        )
        result.effects.append(f"contact.bounced:{contact.id}")
    emit(
        session,
        tenant.id,
        "email.bounced",
        {
            "inbound_email_id": inbound.id,
            "customer_id": match.customer_id,
            "email_id": email.id if email else None,
            "matched_by": match.by,
            "failed_recipients": sorted(failed),
            "contacts_bounced": [c.id for c in contacts],
            "diagnostic": parsed.diagnostic,
            "bounced_at": at.isoformat(),
        },
        key=f"email.bounced:{inbound.id}",
        at=at,
    )


def _customer(session: Session, tenant_id: int, customer_id: int | None) -> Customer:
    customer = session.scalar(
        select(Customer).where(Customer.tenant_id == tenant_id, Customer.id == customer_id)
    )
    assert customer is not None  # matched through the tenant's own rows
    return customer
