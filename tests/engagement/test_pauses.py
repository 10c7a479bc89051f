"""A customer's reminders paused by hand with a reason, then resumed (engagement.pauses,
the customer sheet's pause button): no reminder while paused, the cycle goes on after; the
pause and the resume are audited with the reason; bad input stores nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from arpolicy.engagement import pauses, service
from arpolicy.exceptions import ConflictError, NotFoundError, ValidationError
from arpolicy.models import AuditEvent, ReminderPause
from tests.engagement.cycles_support import FULL, _at, customer_with_invoice, standard_shop, walk


@pytest.fixture
def shop(session):
    return standard_shop(session)


def test_a_pause_by_hand_holds_every_reminder_until_resumed(session, shop):
    t, actor, owner = shop
    c, _inv = customer_with_invoice(session, t, owner)

    def each(day: date) -> None:
        if day == date(2026, 3, 10):
            pauses.pause(session, actor, c.id, "on holiday", at=_at(day))
        if day == date(2026, 3, 26):
            pauses.resume(session, actor, c.id, "back at work", at=_at(day))

    got = walk(session, t, actor, date(2026, 3, 1), date(2026, 4, 10), each=each)
    # nothing from the 10th to the 25th; on resuming the cycle goes on from the step due
    assert got[0] == FULL[0]
    assert all(not date(2026, 3, 10) <= day < date(2026, 3, 26) for day, _r, _n in got)
    assert got[1:] == [
        (date(2026, 3, 26), "overdue", 1),
        (date(2026, 3, 29), "overdue", 2),
        (date(2026, 4, 9), "final", 1),
    ]
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.tenant_id == t.id, AuditEvent.entity == "customer")
        .where(AuditEvent.action.like("customer.reminders_%"))
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.reason, e.entity_id) for e in events] == [
        ("customer.reminders_paused", "on holiday", str(c.id)),
        ("customer.reminders_resumed", "back at work", str(c.id)),
    ]


def test_the_day_report_says_why(session, shop):
    t, actor, owner = shop
    c, _inv = customer_with_invoice(session, t, owner)
    day = date(2026, 3, 20)
    pauses.pause(session, actor, c.id, "legal review", at=_at(day))
    report = service.run(session, t, actor, as_of=day, now=_at(day), dry_run=True)
    assert report.counts["paused"] == 1
    assert report.held[0]["reason"] == "paused by hand: legal review"


def test_bad_pauses_store_nothing(session, shop):
    t, actor, owner = shop
    c, _inv = customer_with_invoice(session, t, owner)
    at = _at(date(2026, 3, 20))
    with pytest.raises(ValidationError) as blank:
        pauses.pause(session, actor, c.id, "   ", at=at)
    assert blank.value.where == "reason"
    with pytest.raises(ConflictError):
        pauses.resume(session, actor, c.id, "nothing to resume", at=at)
    with pytest.raises(NotFoundError):
        pauses.pause(session, actor, c.id + 10_000, "no such customer", at=at)
    assert session.scalars(select(ReminderPause).where(ReminderPause.tenant_id == t.id)).all() == []
    pauses.pause(session, actor, c.id, "once", at=at)
    with pytest.raises(ConflictError):
        pauses.pause(session, actor, c.id, "twice", at=at)
