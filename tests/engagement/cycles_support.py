"""Shared by the engagement cycle tests (test_cycles.py, test_cycle_sending.py,
test_cycle_admin.py and others): a shop in Berlin with the standard cycle and settings, a
customer with one invoice, and a walk that runs the cycles day by day with a fixed clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from arpolicy.audit import Actor
from arpolicy.engagement import admin, service
from arpolicy.models import Contact, Email
from tests.fixtures.factories import create_customer, create_document, create_tenant, create_user

BERLIN = ZoneInfo("Europe/Berlin")


DUE = date(2026, 3, 10)  # a Tuesday; DST starts in Berlin on Sunday 2026-03-29


SIMPLE = {
    "en": {
        "subject": "{{ reminder }} for {{ customer_name }}",
        "text": "{% for i in invoices %}{{ i.number }} {{ money(i.balance) }}\n{% endfor %}",
    }
}


CYCLE = {
    "name": "Standard",
    "status": "live",
    "priority": 10,
    "invoice": "balance > 0 EUR",
    "reminders": [
        {"name": "friendly", "anchor": "due_date", "offset_days": -5, "template": SIMPLE},
        {
            "name": "overdue",
            "anchor": "due_date",
            "offset_days": 3,
            "repeat": {"every_days": 7, "times": 3},
            "template": SIMPLE,
        },
        {"name": "final", "anchor": "due_date", "offset_days": 30, "template": SIMPLE},
    ],
}


SETTINGS = {
    "quiet_days": 3,
    "reply_pause_days": 7,
    "manual_pause_days": 5,
    "daily_cap": 1000,
    "from_address": "ar@shop.example",
    "test_address": "qa@shop.example",
}


def _at(day: date, hour: int = 7, tz: ZoneInfo = BERLIN) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)


def customer_with_invoice(
    session,
    t,
    owner,
    *,
    tz="Europe/Berlin",
    due=DUE,
    amount="500.00",
    email="billing@acme.example",
    **kw,
):
    c = create_customer(
        session,
        t,
        currency="EUR",
        country="DE",
        language="en",
        timezone=tz,
        finance_owner_id=owner.id,
        **kw,
    )
    session.add(
        Contact(
            tenant_id=t.id,
            external_id=f"K-{c.external_id}",
            customer_id=c.id,
            name="Bea Billing",
            email=email,
            is_billing=True,
        )
    )
    session.flush()
    inv = create_document(
        session, t, c, amount, document_date=due - timedelta(days=30), due_date=due
    )
    return c, inv


def walk(
    session,
    t,
    actor,
    start: date,
    end: date,
    *,
    skip: set[date] = frozenset(),
    hour: int = 7,
    each=None,
) -> list[tuple[date, str, int]]:
    """Run the cycles every day from start to end (not on ``skip``); the emails decided."""
    out: list[tuple[date, str, int]] = []
    day = start
    while day <= end:
        if each:
            each(day)
        if day not in skip:
            before = {e.id for e in session.scalars(select(Email).where(Email.tenant_id == t.id))}
            service.run(session, t, actor, as_of=day, now=_at(day, hour))
            for e in session.scalars(
                select(Email).where(Email.tenant_id == t.id).order_by(Email.id)
            ):
                if e.id not in before:
                    out.append((day, e.reminder, e.occurrence))
        day += timedelta(days=1)
    return out


FULL = [
    (date(2026, 3, 5), "friendly", 1),
    (date(2026, 3, 13), "overdue", 1),
    (date(2026, 3, 20), "overdue", 2),
    (date(2026, 3, 27), "overdue", 3),
    (date(2026, 4, 9), "final", 1),
]


def _emails(session: Any, t: Any) -> int:
    return int(
        session.scalar(select(func.count()).select_from(Email).where(Email.tenant_id == t.id))
    )


def standard_shop(session: Any) -> tuple[Any, Actor, Any]:
    """A tenant in Berlin with a finance owner, the settings and the standard cycle."""
    t = create_tenant(session, timezone="Europe/Berlin", base_currency="EUR")
    actor = Actor(t.id, "test")
    owner = create_user(session, t, email=f"anna-{t.slug}@shop.example", name="Anna Adler")
    admin.save_settings(session, t, actor, SETTINGS, at=_at(date(2026, 1, 1)))
    admin.save_cycle(session, t, actor, CYCLE, at=_at(date(2026, 1, 1)))
    return t, actor, owner
