"""Shared by the cadence walks (repeats, merged steps, forecasts): a tenant with one cycle
and runs on given days, reading back what each run decided."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from arpolicy.audit import Actor
from arpolicy.engagement import admin, service
from arpolicy.models import Contact, Document, Email, EmailDocument
from tests.engagement.cycles_support import _at
from tests.fixtures.factories import create_customer, create_document, create_tenant, create_user

Step = tuple[str, str, date]
"""(invoice number, reminder, the step's date) of one invoice in an email."""


def shop(session: Any, cycle: dict[str, Any], settings: dict[str, Any] | None = None) -> Any:
    """A tenant in Berlin with a finance owner, default settings (unless given), the cycle."""
    t = create_tenant(session, timezone="Europe/Berlin", base_currency="USD")
    actor = Actor(t.id, "test")
    owner = create_user(session, t, email=f"fo-{t.slug}@shop.example", name="Fay Owner")
    if settings is not None:
        admin.save_settings(session, t, actor, settings, at=_at(date(2026, 1, 1)))
    admin.save_cycle(session, t, actor, cycle, at=_at(date(2026, 1, 1)))
    return t, actor, owner


def customer(
    session: Any,
    t: Any,
    owner: Any,
    *dues: date,
    amount: str = "3000.00",
    email: str | None = "ap@buyer.example",
) -> tuple[Any, list[Document]]:
    """A customer (with a billing contact unless ``email`` is None) and one invoice per
    due date, issued 30 days before it."""
    c = create_customer(
        session,
        t,
        currency="USD",
        country="US",
        language="en",
        timezone="Europe/Berlin",
        finance_owner_id=owner.id,
    )
    if email is not None:
        session.add(
            Contact(
                tenant_id=t.id,
                external_id=f"K-{c.external_id}",
                customer_id=c.id,
                name="Pat Payables",
                email=email,
                is_billing=True,
            )
        )
        session.flush()
    docs = [
        create_document(session, t, c, amount, document_date=d - timedelta(days=30), due_date=d)
        for d in dues
    ]
    return c, docs


def emails_of(session: Any, t: Any, since: int = 0) -> list[Email]:
    return list(
        session.scalars(
            select(Email).where(Email.tenant_id == t.id, Email.id > since).order_by(Email.id)
        )
    )


def steps_of(session: Any, email: Email) -> list[Step]:
    rows = session.execute(
        select(Document.number, EmailDocument.reminder, EmailDocument.due_on)
        .join(Document, Document.id == EmailDocument.document_id)
        .where(EmailDocument.email_id == email.id)
        .order_by(EmailDocument.id)
    ).all()
    return sorted((n, r, d) for n, r, d in rows)


def run_on(
    session: Any,
    t: Any,
    actor: Any,
    days: Iterable[date],
    hour: int = 7,
    each: Callable[[date], None] | None = None,
) -> list[tuple[date, str, list[Step]]]:
    """Run the cycles as of each day; per email written: (day, its reminder, its steps)."""
    out: list[tuple[date, str, list[Step]]] = []
    for day in days:
        if each is not None:
            each(day)
        last = max((e.id for e in emails_of(session, t)), default=0)
        service.run(session, t, actor, as_of=day, now=_at(day, hour))
        out += [(day, e.reminder, steps_of(session, e)) for e in emails_of(session, t, last)]
    return out


def every_day(start: date, end: date) -> list[date]:
    return [start + timedelta(days=k) for k in range((end - start).days + 1)]
