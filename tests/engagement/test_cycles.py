"""Engagement cycles walked day by day with a fixed clock, on SQLite and PostgreSQL:
reminders on the right days and in the right window (across a DST change), stopped by
payment, paused by a promise and resumed when it breaks, paused by a reply, caught up after
a missed day, re-anchored by new facts without a step repeated or skipped. How the emails
go out: test_cycle_sending.py; configuration, forecast and backtest: test_cycle_admin.py.
"""

from __future__ import annotations

from datetime import UTC, date

import pytest
from sqlalchemy import func, select

from arpolicy.engagement import service
from arpolicy.models import AuditEvent, Document, Email, EmailDocument, OutboxMessage, PromiseStatus
from tests.engagement.cycles_support import FULL, _at, customer_with_invoice, standard_shop, walk
from tests.fixtures.factories import create_document, create_promise


@pytest.fixture
def shop(session):
    return standard_shop(session)


def test_a_whole_cycle_day_by_day(session, shop):
    t, actor, owner = shop
    c, inv = customer_with_invoice(session, t, owner)
    assert walk(session, t, actor, date(2026, 2, 20), date(2026, 5, 31)) == FULL
    emails = session.scalars(select(Email).where(Email.tenant_id == t.id).order_by(Email.id)).all()
    # sent in the window: 09:00 in Berlin, an hour earlier in UTC once DST began (03-29)
    assert [e.send_after.astimezone(UTC).hour for e in emails] == [8, 8, 8, 8, 7]
    first = emails[0]
    assert (
        first.to == ["billing@acme.example"]
        and first.from_address == "Anna Adler <" + owner.email + ">"
    )
    assert first.reply_to == owner.email and first.subject == f"friendly for {c.name}"
    # English in Germany (en_DE): German number format
    assert first.text_body == f"{inv.number} 500,00\xa0€\n" and first.documents == [inv.id]
    assert first.key == f"{first.cycle_id}:live:friendly:{c.id}:1"
    assert first.message_id.startswith("<") and first.message_id.endswith(f"@{t.slug}.arpolicy>")
    assert "friendly" in first.reason and inv.number in first.reason
    # each email has its outbox row (not before the window opens) and an audit event
    outbox = session.scalars(
        select(OutboxMessage).where(OutboxMessage.tenant_id == t.id, OutboxMessage.kind == "email")
    ).all()
    assert sorted(m.dedupe_key for m in outbox) == sorted(e.key for e in emails)
    assert all(
        m.next_attempt_at == e.send_after
        for m, e in zip(
            sorted(outbox, key=lambda m: m.dedupe_key),
            sorted(emails, key=lambda e: e.key),
            strict=True,
        )
    )
    audits = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.tenant_id == t.id, AuditEvent.action == "email.decided")
    )
    assert audits == 5


def test_running_twice_a_day_writes_once(session, shop):
    t, actor, owner = shop
    customer_with_invoice(session, t, owner)
    day = date(2026, 3, 13)
    first = service.run(session, t, actor, as_of=day, now=_at(day))
    again = service.run(session, t, actor, as_of=day, now=_at(day, 15))
    assert first.written == 1 and again.written == 0
    assert (
        session.scalar(select(func.count()).select_from(Email).where(Email.tenant_id == t.id)) == 1
    )


def test_a_missed_day_is_caught_up(session, shop):
    t, actor, owner = shop
    customer_with_invoice(session, t, owner)
    got = walk(session, t, actor, date(2026, 3, 1), date(2026, 3, 22), skip={date(2026, 3, 13)})
    assert got == [
        (date(2026, 3, 5), "friendly", 1),
        (date(2026, 3, 14), "overdue", 1),
        (date(2026, 3, 20), "overdue", 2),
    ]
    caught = session.scalars(
        select(Email).where(
            Email.tenant_id == t.id, Email.reminder == "overdue", Email.occurrence == 1
        )
    ).one()
    assert caught.due_on == date(2026, 3, 13)


def test_payment_stops_the_cycle(session, shop):
    t, actor, owner = shop
    _c, inv = customer_with_invoice(session, t, owner)

    def pay(day: date) -> None:
        if day == date(2026, 3, 15):
            inv.balance_minor = 0
            session.flush()

    assert walk(session, t, actor, date(2026, 3, 1), date(2026, 5, 1), each=pay) == FULL[:2]


def test_a_promise_pauses_until_it_breaks(session, shop):
    t, actor, owner = shop
    c, inv = customer_with_invoice(session, t, owner)

    def promise(day: date) -> None:
        if day == date(2026, 3, 15):  # promised for the 24th; nobody marks it kept
            create_promise(session, t, c, "500.00", date(2026, 3, 24), document=inv, currency="EUR")

    got = walk(session, t, actor, date(2026, 3, 1), date(2026, 4, 1), each=promise)
    # the promise holds through the 24th (its whole day); on the 25th it is broken: resume
    assert got == [
        (date(2026, 3, 5), "friendly", 1),
        (date(2026, 3, 13), "overdue", 1),
        (date(2026, 3, 25), "overdue", 2),
        (date(2026, 3, 28), "overdue", 3),
    ]


def test_a_kept_promise_and_a_customer_level_promise(session, shop):
    t, actor, owner = shop
    c, _inv = customer_with_invoice(session, t, owner)
    create_promise(session, t, c, "500.00", date(2026, 3, 30), currency="EUR")  # the customer
    got = walk(session, t, actor, date(2026, 3, 11), date(2026, 4, 2))
    assert got == [(date(2026, 3, 31), "overdue", 1)]  # the latest due step, not three
    report = service.run(
        session, t, actor, as_of=date(2026, 3, 20), now=_at(date(2026, 3, 20)), dry_run=True
    )
    assert report.counts["paused"] == 1 and "promise" in report.held[0]["reason"]
    kept = create_promise(
        session, t, c, "1.00", date(2026, 4, 30), currency="EUR", status=PromiseStatus.KEPT
    )
    assert kept.status is PromiseStatus.KEPT  # kept promises never pause


def test_a_reply_pauses(session, shop):
    t, actor, owner = shop
    c, _inv = customer_with_invoice(session, t, owner)

    def reply(day: date) -> None:
        if day == date(2026, 3, 14):
            c.last_reply_at = _at(day, 11)
            session.flush()

    got = walk(session, t, actor, date(2026, 3, 1), date(2026, 3, 30), each=reply)
    # paused for 7 days from the reply (the 14th): overdue #2 (due the 20th) goes on the 21st
    assert got == [
        (date(2026, 3, 5), "friendly", 1),
        (date(2026, 3, 13), "overdue", 1),
        (date(2026, 3, 21), "overdue", 2),
        (date(2026, 3, 27), "overdue", 3),
    ]


def test_new_facts_reanchor_without_repeating_or_skipping(session, shop):
    t, actor, owner = shop
    c, inv = customer_with_invoice(session, t, owner)
    older: list[Document] = []

    def facts(day: date) -> None:
        if day == date(2026, 3, 16):
            inv.balance_minor = 20_000  # a partial payment: 300 of 500 paid
            older.append(
                create_document(
                    session,
                    t,
                    c,
                    "80.00",
                    document_date=date(2026, 1, 1),
                    due_date=date(2026, 2, 1),
                )
            )
            session.flush()

    got = walk(session, t, actor, date(2026, 3, 1), date(2026, 4, 12), each=facts)
    # the older invoice is 43 days late: it gets the final notice at once (the steps it
    # missed are overtaken, not replayed); the first invoice keeps its own steps
    assert got == [
        (date(2026, 3, 5), "friendly", 1),
        (date(2026, 3, 13), "overdue", 1),
        (date(2026, 3, 16), "final", 1),
        (date(2026, 3, 20), "overdue", 2),
        (date(2026, 3, 27), "overdue", 3),
        (date(2026, 4, 9), "final", 2),
    ]
    second = session.scalars(
        select(Email).where(
            Email.tenant_id == t.id, Email.reminder == "overdue", Email.occurrence == 2
        )
    ).one()
    assert second.documents == [inv.id] and "200,00\xa0€" in second.text_body
    per_doc = dict(
        session.execute(
            select(EmailDocument.document_id, func.count())
            .where(EmailDocument.tenant_id == t.id)
            .group_by(EmailDocument.document_id)
        ).all()
    )
    assert per_doc == {inv.id: 5, older[0].id: 1}
