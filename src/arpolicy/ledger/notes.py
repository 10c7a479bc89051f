"""Call notes and notes about a customer, logged by a user (the customer sheet's
timeline): validated, stored and audited in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.audit import Actor
from arpolicy.audit import record as audit_record
from arpolicy.exceptions import ValidationError
from arpolicy.ledger.writing.resources import CUSTOMERS
from arpolicy.ledger.writing.service import find
from arpolicy.models import CustomerNote, NoteKind

MAX_BODY = 5000


def log_note(
    session: Session,
    actor: Actor,
    customer_id: int,
    kind: str,
    body: str,
    *,
    at: datetime,
) -> CustomerNote:
    """Log a call (``kind`` call) or a note about the customer (404 for another tenant's)."""
    find(session, actor.tenant_id, CUSTOMERS, customer_id)
    try:
        chosen = NoteKind(kind)
    except ValueError:
        raise ValidationError(
            f"{kind!r} is not a kind of note",
            where="kind",
            fix="choose call or note",
        ) from None
    text = body.strip()
    if not text:
        raise ValidationError(
            "the note is empty", where="body", fix="write what was said or agreed"
        )
    if len(text) > MAX_BODY:
        raise ValidationError(
            f"the note has {len(text)} characters, more than {MAX_BODY}",
            where="body",
            fix=f"shorten it to {MAX_BODY} characters",
        )
    note = CustomerNote(
        tenant_id=actor.tenant_id,
        customer_id=customer_id,
        kind=chosen,
        body=text,
        at=at,
        author=actor.label,
        user_id=actor.user_id,
    )
    session.add(note)
    session.flush()
    audit_record(
        session,
        actor,
        f"customer.{chosen.value}_logged",
        "customer",
        customer_id,
        after={"note_id": note.id, "kind": chosen.value, "body": text},
        at=at,
    )
    return note


def notes_of(
    session: Session, tenant_id: int, customer_id: int, limit: int
) -> Sequence[CustomerNote]:
    """The customer's latest notes, newest first."""
    n = CustomerNote
    stmt = (
        select(n)
        .where(n.tenant_id == tenant_id, n.customer_id == customer_id)
        .order_by(n.at.desc(), n.id.desc())
        .limit(limit)
    )
    return session.scalars(stmt).all()
