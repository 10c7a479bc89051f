"""How the emails of an engagement cycle go out, on SQLite and PostgreSQL: in the send
window of each customer's time zone, within the quiet days and the daily cap, to the
internal inbox in test mode, as a task for the finance owner when nobody can be emailed,
never for an invoice due today or disputed, and once however many schedulers run.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from arpolicy.audit import Actor
from arpolicy.engagement import admin, service
from arpolicy.engagement.config import parse_cycle
from arpolicy.engagement.policy import window_opening
from arpolicy.models import Contact, Email, EngagementTask
from tests.engagement.cycles_support import (
    CYCLE,
    DUE,
    SETTINGS,
    SIMPLE,
    _at,
    _emails,
    customer_with_invoice,
    standard_shop,
)
from tests.fixtures.factories import create_tenant, create_user


@pytest.fixture
def shop(session):
    return standard_shop(session)


def test_send_windows_across_time_zones(session, shop):
    t, actor, owner = shop
    la, _ = customer_with_invoice(session, t, owner, tz="America/Los_Angeles", email="a@la.example")
    tokyo, _ = customer_with_invoice(session, t, owner, tz="Asia/Tokyo", email="a@tokyo.example")
    day = date(2026, 3, 13)  # a Friday
    service.run(session, t, actor, as_of=day, now=_at(day, 7))  # 07:00 in Berlin, 06:00 UTC
    sent = {
        e.customer_id: e.send_after.astimezone(UTC)
        for e in session.scalars(select(Email).where(Email.tenant_id == t.id))
    }
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
    tasks = select(func.count()).select_from(EngagementTask).where(EngagementTask.tenant_id == t.id)
    assert session.scalar(tasks) == 1  # one task per step, not one a day


def test_due_today_is_not_overdue_and_disputes_stop(session, shop):
    t, actor, owner = shop
    # the customer's first email of the cycle, for its overdue invoices only (a due_date
    # reminder of offset 0 is a due-date reminder: never sent after that day)
    cycle = {
        **CYCLE,
        "name": "Overdue only",
        "priority": 1,
        "reminders": [
            {
                "name": "overdue",
                "anchor": "cycle_entry",
                "offset_days": 0,
                "when": "days_past_due > 0",
                "template": SIMPLE,
            }
        ],
    }
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
