"""Matching an inbound message (:mod:`arpolicy.engagement.inbound`) to what it answers.

First hit wins: the message's In-Reply-To, then its References (newest first), then for
a bounce the Message-ID of the returned message, each against ``emails.message_id`` of
the tenant. Without such an email: the customer whose contact has the sender's address
(a bounce: the failed recipient's address). Nothing found: unmatched, with a note saying
why.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.engagement.inbound_parse import Parsed
from arpolicy.models import Contact, Email


@dataclass
class _Match:
    email: Email | None = None
    customer_id: int | None = None
    by: str | None = None
    note: str | None = None


def _match(session: Session, tenant_id: int, parsed: Parsed) -> _Match:
    candidates = [(i, "in_reply_to") for i in parsed.in_reply_to]
    candidates += [(i, "references") for i in reversed(parsed.references)]
    if parsed.original_message_id:  # a bounce or a delivery-delay notice
        candidates.append((parsed.original_message_id, "original_message_id"))
    emails = _emails_by_id(session, tenant_id, [c for c, _ in candidates])
    for message_id, by in candidates:
        found = emails.get(_bare(message_id))
        if found is not None:
            return _Match(email=found, customer_id=found.customer_id, by=by)
    if parsed.kind == "bounce":
        return _by_address(session, tenant_id, parsed.failed_recipients, "failed_recipient")
    sender = [parsed.from_address] if parsed.from_address else []
    return _by_address(session, tenant_id, sender, "from_address")


def _bare(message_id: str) -> str:
    return message_id.strip().strip("<>").lower()


def _emails_by_id(session: Session, tenant_id: int, ids: list[str]) -> dict[str, Email]:
    """The tenant's emails with one of ``ids`` (stored with or without angle brackets)."""
    if not ids:
        return {}
    forms = {f for i in ids for f in (f"<{i.strip('<>')}>", i.strip("<>"))}
    found = session.scalars(
        select(Email).where(Email.tenant_id == tenant_id, Email.message_id.in_(forms))
    )
    return {_bare(e.message_id): e for e in found}


def _by_address(session: Session, tenant_id: int, addresses: list[str], by: str) -> _Match:
    if not addresses:
        return _Match(note="no email of ours referenced and no address to match a contact")
    customers = sorted(
        set(
            session.scalars(
                select(Contact.customer_id).where(
                    Contact.tenant_id == tenant_id,
                    Contact.email.in_([a.lower() for a in addresses]),
                )
            )
        )
    )
    if len(customers) == 1:
        return _Match(customer_id=customers[0], by=by)
    if customers:
        return _Match(
            note=f"{', '.join(addresses)} is a contact of {len(customers)} customers "
            f"({', '.join(map(str, customers[:10]))}): not matched"
        )
    return _Match(note=f"no email of ours referenced and no contact with {', '.join(addresses)}")
