"""Recording an email sent by hand outside arpolicy (``POST
/v1/customers/{customer_id}/manual-emails`` in :mod:`arpolicy.api.routes.emails`): the email
row, its audit, and the customer's ``last_email_at``."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from pydantic import Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.api.context import Api
from arpolicy.api.ledger import tenant_of
from arpolicy.api.schemas import Input
from arpolicy.api.types import NO_NUL, Email, Instant, Note
from arpolicy.engagement.service import message_id
from arpolicy.exceptions import ValidationError
from arpolicy.models import Contact, Customer
from arpolicy.models import Email as EmailRow
from arpolicy.models.engagement import EmailMode, EmailStatus

Subject = Annotated[str, StringConstraints(min_length=1, max_length=998, pattern=NO_NUL)]
FUTURE_SLACK = timedelta(minutes=5)


class ManualEmailCreate(Input):
    subject: Subject
    sent_at: Instant | None = Field(None, description="When it was sent (default: now).")
    note: Note | None = Field(None, description="What it said, or a note about it.")
    from_address: Email | None = Field(None, description="Default: the caller's address.")
    to: list[Email] | None = Field(
        None, max_length=50, description="Default: the customer's billing contacts."
    )


def manual_email(session: Session, api: Api, customer: Customer, body: ManualEmailCreate) -> Any:
    now = api.now()
    sent_at = body.sent_at or now
    if sent_at > now + FUTURE_SLACK:
        raise ValidationError(
            "sent_at is in the future",
            where="body.sent_at",
            fix="give the time the email was sent, or leave it out for now",
        )
    to = body.to if body.to is not None else _billing_addresses(session, customer)
    key = f"manual:{uuid.uuid4()}"
    email = EmailRow(
        tenant_id=api.tenant_id,
        customer_id=customer.id,
        key=key,
        message_id=message_id(key, tenant_of(session, api)),
        mode=EmailMode.MANUAL,
        status=EmailStatus.SENT,
        occurrence=1,
        decided_at=sent_at,
        sent_at=sent_at,
        from_address=(body.from_address or api.user_email).lower(),
        to=[a.lower() for a in to],
        cc=[],
        subject=body.subject,
        text_body=body.note or "",
        documents=[],
        reason=f"sent by hand; recorded by {api.actor.label}",
        in_doubt=False,
        attempts=0,
        language=customer.language,
    )
    session.add(email)
    session.flush()
    api.audit(
        session,
        "email.recorded",
        "email",
        email.id,
        after={
            "customer_id": customer.id,
            "subject": email.subject,
            "sent_at": sent_at,
            "to": email.to,
            "mode": "manual",
        },
    )
    if customer.last_email_at is None or customer.last_email_at < sent_at:
        before = customer.last_email_at
        customer.last_email_at = sent_at
        api.audit(
            session,
            "customer.emailed",
            "customer",
            customer.id,
            before={"last_email_at": before},
            after={"last_email_at": sent_at, "email_id": email.id},
        )
    session.flush()
    session.refresh(email)
    return email


def _billing_addresses(session: Session, customer: Customer) -> list[str]:
    c = Contact
    found = session.scalars(
        select(c.email)
        .where(
            c.tenant_id == customer.tenant_id,
            c.customer_id == customer.id,
            c.is_billing.is_(True),
            c.email.is_not(None),
        )
        .order_by(c.id)
    )
    return [a for a in found if a]
