"""Engagement cycles walked day by day with a fixed clock, on SQLite and PostgreSQL:
reminders on the right days and in the right windows (across time zones and a DST change),
stopped by payment, paused by a promise and resumed when it breaks, paused by a reply,
caught up after a missed day, re-anchored by new facts without a step repeated or skipped.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from arpolicy.audit import Actor
from arpolicy.engagement import admin, service
from arpolicy.engagement.config import CycleError, parse_cycle
from arpolicy.engagement.policy import window_opening
from arpolicy.models import (
    AuditEvent,
    Contact,
    Document,
    Email,
    EmailDocument,
    EngagementTask,
    OutboxMessage,
    PromiseStatus,
)
from tests.fixtures.factories import (
    create_customer,
    create_document,
    create_promise,
    create_tenant,
    create_user,
)

BERLIN = ZoneInfo("Europe/Berlin")
DUE = date(2026, 3, 10)  # a Tuesday; DST starts in Berlin on Sunday 2026-03-29

SIMPLE = {"en": {"subject": "{{ reminder }} for {{ customer_name }}",
                 "text": "{% for i in invoices %}{{ i.number }} {{ money(i.balance) }}\n{% endfor %}"}}  # fmt: skip
CYCLE = {
    "name": "Standard", "status": "live", "priority": 10,
    "invoice": "balance > 0 EUR",
    "reminders": [
        {"name": "friendly", "anchor": "due_date", "offset_days": -5, "template": SIMPLE},
        {"name": "overdue", "anchor": "due_date", "offset_days": 3,
         "repeat": {"every_days": 7, "times": 3}, "template": SIMPLE},
        {"name": "final", "anchor": "due_date", "offset_days": 30, "template": SIMPLE},
    ],
}  # fmt: skip
SETTINGS = {"quiet_days": 3, "reply_pause_days": 7, "manual_pause_days": 5, "daily_cap": 1000,
            "from_address": "ar@shop.example", "test_address": "qa@shop.example"}  # fmt: skip


@pytest.fixture
def shop(session):
    t = create_tenant(session, timezone="Europe/Berlin", base_currency="EUR")
    actor = Actor(t.id, "test")
    owner = create_user(session, t, email=f"anna-{t.slug}@shop.example", name="Anna Adler")
    admin.save_settings(session, t, actor, SETTINGS, at=_at(date(2026, 1, 1)))
    admin.save_cycle(session, t, actor, CYCLE, at=_at(date(2026, 1, 1)))
    return t, actor, owner


def _at(day: date, hour: int = 7, tz: ZoneInfo = BERLIN) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)


def customer_with_invoice(session, t, owner, *, tz="Europe/Berlin", due=DUE, amount="500.00",
                          email="billing@acme.example", **kw):  # fmt: skip
    c = create_customer(session, t, currency="EUR", country="DE", language="en", timezone=tz,
                        finance_owner_id=owner.id, **kw)  # fmt: skip
    session.add(Contact(tenant_id=t.id, external_id=f"K-{c.external_id}", customer_id=c.id,
                        name="Bea Billing", email=email, is_billing=True))  # fmt: skip
    session.flush()
    inv = create_document(
        session, t, c, amount, document_date=due - timedelta(days=30), due_date=due
    )
    return c, inv


def walk(session, t, actor, start: date, end: date, *, skip: set[date] = frozenset(),
         hour: int = 7, each=None) -> list[tuple[date, str, int]]:  # fmt: skip
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
    outbox = session.scalars(select(OutboxMessage).where(OutboxMessage.tenant_id == t.id,
                                                         OutboxMessage.kind == "email")).all()  # fmt: skip
    assert sorted(m.dedupe_key for m in outbox) == sorted(e.key for e in emails)
    assert all(
        m.next_attempt_at == e.send_after
        for m, e in zip(
            sorted(outbox, key=lambda m: m.dedupe_key),
            sorted(emails, key=lambda e: e.key),
            strict=True,
        )
    )
    audits = session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.tenant_id == t.id, AuditEvent.action == "email.decided"))  # fmt: skip
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
    assert got == [(date(2026, 3, 5), "friendly", 1), (date(2026, 3, 14), "overdue", 1),
                   (date(2026, 3, 20), "overdue", 2)]  # fmt: skip
    caught = session.scalars(select(Email).where(Email.tenant_id == t.id, Email.reminder == "overdue",
                                                 Email.occurrence == 1)).one()  # fmt: skip
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
    assert got == [(date(2026, 3, 5), "friendly", 1), (date(2026, 3, 13), "overdue", 1),
                   (date(2026, 3, 25), "overdue", 2), (date(2026, 3, 28), "overdue", 3)]  # fmt: skip


def test_a_kept_promise_and_a_customer_level_promise(session, shop):
    t, actor, owner = shop
    c, _inv = customer_with_invoice(session, t, owner)
    create_promise(session, t, c, "500.00", date(2026, 3, 30), currency="EUR")  # the customer
    got = walk(session, t, actor, date(2026, 3, 11), date(2026, 4, 2))
    assert got == [(date(2026, 3, 31), "overdue", 1)]  # the latest due step, not three
    report = service.run(session, t, actor, as_of=date(2026, 3, 20), now=_at(date(2026, 3, 20)),
                         dry_run=True)  # fmt: skip
    assert report.counts["paused"] == 1 and "promise" in report.held[0]["reason"]
    kept = create_promise(session, t, c, "1.00", date(2026, 4, 30), currency="EUR",
                          status=PromiseStatus.KEPT)  # fmt: skip
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
    assert got == [(date(2026, 3, 5), "friendly", 1), (date(2026, 3, 13), "overdue", 1),
                   (date(2026, 3, 21), "overdue", 2), (date(2026, 3, 27), "overdue", 3)]  # fmt: skip


def test_new_facts_reanchor_without_repeating_or_skipping(session, shop):
    t, actor, owner = shop
    c, inv = customer_with_invoice(session, t, owner)
    older: list[Document] = []

    def facts(day: date) -> None:
        if day == date(2026, 3, 16):
            inv.balance_minor = 20_000  # a partial payment: 300 of 500 paid
            older.append(create_document(session, t, c, "80.00", document_date=date(2026, 1, 1),
                                         due_date=date(2026, 2, 1)))  # fmt: skip
            session.flush()

    got = walk(session, t, actor, date(2026, 3, 1), date(2026, 4, 12), each=facts)
    # the older invoice is 43 days late: it gets the final notice at once (the steps it
    # missed are overtaken, not replayed); the first invoice keeps its own steps
    assert got == [(date(2026, 3, 5), "friendly", 1), (date(2026, 3, 13), "overdue", 1),
                   (date(2026, 3, 16), "final", 1), (date(2026, 3, 20), "overdue", 2),
                   (date(2026, 3, 27), "overdue", 3), (date(2026, 4, 9), "final", 2)]  # fmt: skip
    second = session.scalars(select(Email).where(Email.tenant_id == t.id, Email.reminder == "overdue",
                                                 Email.occurrence == 2)).one()  # fmt: skip
    assert second.documents == [inv.id] and "200,00\xa0€" in second.text_body
    per_doc = dict(session.execute(select(EmailDocument.document_id, func.count()).where(
        EmailDocument.tenant_id == t.id).group_by(EmailDocument.document_id)).all())  # fmt: skip
    assert per_doc == {inv.id: 5, older[0].id: 1}


def test_send_windows_across_time_zones(session, shop):
    t, actor, owner = shop
    la, _ = customer_with_invoice(session, t, owner, tz="America/Los_Angeles", email="a@la.example")
    tokyo, _ = customer_with_invoice(session, t, owner, tz="Asia/Tokyo", email="a@tokyo.example")
    day = date(2026, 3, 13)  # a Friday
    service.run(session, t, actor, as_of=day, now=_at(day, 7))  # 07:00 in Berlin, 06:00 UTC
    sent = {e.customer_id: e.send_after.astimezone(UTC) for e in
            session.scalars(select(Email).where(Email.tenant_id == t.id))}  # fmt: skip
    # Los Angeles (PDT since the US change of 03-08, UTC-7): it is 23:00 on Thursday there,
    # so the email waits for Friday 09:00 PDT
    assert sent[la.id] == datetime(2026, 3, 13, 16, 0, tzinfo=UTC)
    # Tokyo: 15:00 on Friday, inside the window: it may go at once
    assert sent[tokyo.id] == datetime(2026, 3, 13, 6, 0, tzinfo=UTC)
    # decided at 18:00 in Berlin (02:00 on Saturday in Tokyo): Monday 09:00 JST
    window = parse_cycle(CYCLE).send_window
    opening, _ = window_opening(window, "Asia/Tokyo", _at(day, 18), day)
    assert opening == datetime(2026, 3, 16, 0, 0, tzinfo=UTC)


def test_quiet_days_and_the_daily_cap(session, shop):
    t, actor, owner = shop
    admin.save_settings(session, t, actor, {**SETTINGS, "daily_cap": 1}, at=_at(DUE))
    a, _ = customer_with_invoice(session, t, owner, email="a@a.example")
    b, _ = customer_with_invoice(session, t, owner, email="b@b.example")
    day = date(2026, 3, 5)
    first = service.run(session, t, actor, as_of=day, now=_at(day))
    assert first.written == 1 and first.counts["wait"] == 1
    assert "daily cap" in first.held[0]["reason"]
    nxt = service.run(
        session, t, actor, as_of=day + timedelta(days=1), now=_at(day + timedelta(days=1))
    )
    assert nxt.written == 1
    assert {
        e.customer_id for e in session.scalars(select(Email).where(Email.tenant_id == t.id))
    } == {a.id, b.id}


def test_test_mode_addresses_the_internal_inbox(session, shop):
    t, actor, owner = shop
    admin.set_status(session, t, actor, "Standard", "test", at=_at(DUE))
    customer_with_invoice(session, t, owner)
    service.run(session, t, actor, as_of=date(2026, 3, 5), now=_at(date(2026, 3, 5)))
    e = session.scalars(select(Email).where(Email.tenant_id == t.id)).one()
    assert (
        e.to == ["qa@shop.example"] and e.subject.startswith("[TEST] ") and e.mode.value == "test"
    )
    # going live starts the live history from the start: test emails do not count
    admin.set_status(session, t, actor, "Standard", "live", at=_at(DUE))
    service.run(session, t, actor, as_of=date(2026, 3, 5), now=_at(date(2026, 3, 5), 8))
    live = session.scalars(select(Email).where(Email.tenant_id == t.id, Email.mode == "live")).one()
    assert live.to == ["billing@acme.example"]


def test_no_usable_address_becomes_a_task_for_the_finance_owner(session, shop):
    t, actor, owner = shop
    c, _ = customer_with_invoice(session, t, owner)
    contact = session.scalars(select(Contact).where(Contact.customer_id == c.id)).one()
    contact.bounced = True
    session.flush()
    report = service.run(session, t, actor, as_of=date(2026, 3, 5), now=_at(date(2026, 3, 5)))
    assert report.written == 0 and report.counts["task"] == 1
    task = session.scalars(select(EngagementTask).where(EngagementTask.tenant_id == t.id)).one()
    assert task.user_id == owner.id and "no usable billing address" in task.detail
    service.run(session, t, actor, as_of=date(2026, 3, 6), now=_at(date(2026, 3, 6)))
    assert session.scalar(select(func.count()).select_from(EngagementTask).where(
        EngagementTask.tenant_id == t.id)) == 1  # one task per step, not one a day  # fmt: skip


def test_due_today_is_not_overdue_and_disputes_stop(session, shop):
    t, actor, owner = shop
    # the customer's first email of the cycle, for its overdue invoices only (a due_date
    # reminder of offset 0 is a due-date reminder: never sent after that day)
    cycle = {**CYCLE, "name": "Overdue only", "priority": 1, "reminders": [
        {"name": "overdue", "anchor": "cycle_entry", "offset_days": 0, "when": "days_past_due > 0",
         "template": SIMPLE}]}  # fmt: skip
    admin.save_cycle(session, t, actor, cycle, at=_at(DUE))
    _c, inv = customer_with_invoice(session, t, owner)
    _d, disputed = customer_with_invoice(session, t, owner, email="d@d.example")
    disputed.disputed = True
    session.flush()
    on_due = service.run(session, t, actor, as_of=DUE, now=_at(DUE), dry_run=True)
    assert on_due.counts["email"] == 0
    after = service.run(
        session, t, actor, as_of=DUE + timedelta(days=1), now=_at(DUE), dry_run=True
    )
    assert [e["invoices"] for e in after.emails] == [[inv.number]]
    assert (
        session.scalar(select(func.count()).select_from(Email).where(Email.tenant_id == t.id)) == 0
    )


def test_an_invalid_cycle_lists_every_problem(session, shop):
    t, actor, _ = shop
    bad = {"name": "Bad", "invoice": "balanse > 0 EUR", "reminders": [
        {"name": "x", "template": {"en": {"subject": "{{ nope }}", "text": "{% if %}"}}},
        {"name": "x", "template": "nonexistent"}]}  # fmt: skip
    with pytest.raises(CycleError) as exc:
        admin.save_cycle(session, t, actor, bad, at=_at(DUE))
    wheres = [e["where"] for e in exc.value.errors]
    assert any(w.startswith("reminders[1].name") for w in wheres)  # duplicate name
    with pytest.raises(CycleError) as exc:
        admin.save_cycle(session, t, actor, {**bad, "reminders": bad["reminders"][:1]}, at=_at(DUE))
    wheres = [e["where"] for e in exc.value.errors]
    assert wheres[0].startswith("invoice") and any("reminders[0]" in w for w in wheres)


def _emails(session: Any, t: Any) -> int:
    return int(
        session.scalar(select(func.count()).select_from(Email).where(Email.tenant_id == t.id))
    )


def test_concurrent_runs_write_each_email_once(db_engine):
    """Two schedulers running the same day at once (PostgreSQL: an advisory lock per
    tenant; SQLite: BEGIN IMMEDIATE) write every email once."""
    import threading

    from arpolicy.kit.db import transaction
    from arpolicy.models import Tenant

    with transaction(db_engine) as s:
        t = create_tenant(s, timezone="Europe/Berlin", base_currency="EUR")
        actor = Actor(t.id, "test")
        owner = create_user(s, t, email=f"o-{t.slug}@shop.example")
        admin.save_settings(s, t, actor, SETTINGS, at=_at(DUE))
        admin.save_cycle(s, t, actor, CYCLE, at=_at(DUE))
        for k in range(20):
            customer_with_invoice(s, t, owner, email=f"b{k}@x.example")
        tenant_id = t.id
    barrier, errors, written = threading.Barrier(4), [], []

    def one() -> None:
        try:
            barrier.wait()
            with transaction(db_engine) as s:
                tenant = s.get(Tenant, tenant_id)
                day = date(2026, 3, 13)
                written.append(
                    service.run(s, tenant, Actor(tenant_id, "w"), as_of=day, now=_at(day)).written
                )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    assert sorted(written) == [0, 0, 0, 20]
    with transaction(db_engine, write=False) as s:
        assert _emails(s, s.get(Tenant, tenant_id)) == 20


def test_the_documented_example_is_the_one_the_demo_installs(session):
    """docs/engagement.md shows example.yaml verbatim, and it loads on a fresh tenant."""
    from pathlib import Path

    from arpolicy.engagement.config import example_text, load_yaml

    doc = (Path(__file__).parents[2] / "docs" / "engagement.md").read_text(encoding="utf-8")
    block = doc.split("```yaml\n", 1)[1].split("\n```", 1)[0]
    assert block == example_text().rstrip()
    t = create_tenant(session)
    cycles, settings = load_yaml(example_text())
    admin.save_settings(session, t, Actor(t.id, "t"), settings.model_dump(mode="json"), at=_at(DUE))
    for c in cycles:
        admin.save_cycle(session, t, Actor(t.id, "t"), c.model_dump(mode="json"), at=_at(DUE))
    assert [c.name for c in cycles] == ["Standard", "Key accounts"]


def test_the_forecast_predicts_what_the_runs_then_decide(session, shop):
    from arpolicy.engagement.admin import forecast

    t, actor, owner = shop
    customer_with_invoice(session, t, owner)
    predicted = forecast(session, t, start=date(2026, 2, 20), days=100, now=_at(date(2026, 2, 20)))
    days = [
        (date.fromisoformat(d["day"]), d["per_cycle"]) for d in predicted["days"] if d["emails"]
    ]
    assert days == [(d, {"Standard": 1}) for d, _, _ in FULL]
    assert [
        (date.fromisoformat(e["day"]), e["reminder"], e["occurrence"]) for e in predicted["emails"]
    ] == FULL
    assert _emails(session, t) == 0  # a forecast writes nothing
    assert walk(session, t, actor, date(2026, 2, 20), date(2026, 5, 31)) == FULL


def test_a_backtest_replays_the_past_balances(session, shop):
    from arpolicy.engagement.admin import backtest
    from tests.fixtures.factories import create_payment

    t, _actor, owner = shop
    c, inv = customer_with_invoice(session, t, owner)
    create_payment(session, t, c, "500.00", currency="EUR", received_on=date(2026, 3, 16),
                   allocations={inv: "500.00"})  # fmt: skip
    inv.balance_minor = 0  # paid today: a live run would send nothing
    session.flush()
    replay = backtest(session, t, start=date(2026, 3, 1), end=date(2026, 4, 30))
    got = [(date.fromisoformat(e["day"]), e["reminder"], e["occurrence"]) for e in replay["emails"]]
    assert got == FULL[:2]  # friendly and the first overdue; the payment of the 16th stops it
    assert replay["cycles"] == ["Standard"] and _emails(session, t) == 0
