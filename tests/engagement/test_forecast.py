"""The forecast on SQLite and PostgreSQL (issue 12, item 7): only emails, on the day they
will be sent (the send window's next opening: weekends and quiet days respected), tasks
apart and labelled; checked against the runs of those days, which decide each day with
the same pure function (issue 13)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from arpolicy.engagement.admin import forecast
from arpolicy.kit.clock import zone
from arpolicy.models import EngagementTask
from tests.engagement.cadence_support import customer, emails_of, every_day, run_on, shop
from tests.engagement.cycles_support import SIMPLE, _at

CYCLE = {
    "name": "Overdue",
    "status": "live",
    "reminders": [
        {
            "name": "overdue",
            "anchor": "due_date",
            "offset_days": 7,
            "repeat": {"every_days": 7, "times": 3},
            "template": SIMPLE,
        }
    ],
}
START = date(2026, 12, 7)  # a Monday


def test_the_forecast_shows_emails_on_their_sending_day_and_tasks_apart(session):
    t, actor, owner = shop(session, CYCLE)
    # steps on Saturday 12-12 and 12-19: decided on the weekend, sent on Monday
    weekend, (inv,) = customer(session, t, owner, date(2026, 12, 5))
    # no address: a task (once per step) on Thursday 12-10, never an email
    nobody, _ = customer(session, t, owner, date(2026, 12, 3), email=None)
    predicted = forecast(session, t, start=START, days=14, now=_at(START))
    by_day = {d["day"]: d for d in predicted["days"]}
    # the email of Saturday 12-19 goes out on 12-21, after the 14 days: counted as later
    assert [d for d, v in by_day.items() if v["emails"]] == ["2026-12-14"]
    assert [d for d, v in by_day.items() if v["tasks"]] == ["2026-12-10", "2026-12-17"]
    assert by_day["2026-12-12"]["emails"] == 0 and by_day["2026-12-10"]["emails"] == 0
    assert predicted["total"] == 1 and predicted["later"] == 1 and predicted["tasks_total"] == 2
    assert [(e["day"], e["decided_on"], e["customer_id"]) for e in predicted["emails"]] == [
        ("2026-12-14", "2026-12-12", weekend.id),
        ("2026-12-21", "2026-12-19", weekend.id),
    ]
    assert {task["customer_id"] for task in predicted["tasks"]} == {nobody.id}

    # the runs of those days decide the same: sent (send_after) on those Mondays
    run_on(session, t, actor, every_day(START, date(2026, 12, 20)))
    sent = [
        e.send_after.astimezone(zone("Europe/Berlin")).date().isoformat()
        for e in emails_of(session, t)
    ]
    assert sent == ["2026-12-14", "2026-12-21"]
    tasks = session.scalars(
        select(EngagementTask).where(EngagementTask.tenant_id == t.id).order_by(EngagementTask.id)
    ).all()
    assert [task.due_on.isoformat() for task in tasks] == ["2026-12-10", "2026-12-17"]
    assert inv.number in emails_of(session, t)[0].text_body


def test_the_forecast_equals_the_runs_on_a_capped_day_and_for_a_customer_without_an_address(
    session,
):
    """One pure decision for both: a forecast made after the day's first run counts that
    run's emails against the cap (the next customer waits for tomorrow, as the next run
    decides), and a customer with nobody to email takes a place under the cap for its
    task, every day it is due. The forecast's emails and tasks are those the runs write."""
    t, actor, owner = shop(session, CYCLE, {"daily_cap": 2})
    due = date(2026, 12, 1)  # steps on Tuesdays 12-08, 12-15 and 12-22
    nobody, _ = customer(session, t, owner, due, email=None)  # the oldest id: admitted first
    others = [customer(session, t, owner, due)[0] for _ in range(3)]
    first = date(2026, 12, 8)
    run_on(session, t, actor, [first], hour=7)  # the day's first run: a task and one email
    assert [e.customer_id for e in emails_of(session, t)] == [others[0].id]

    predicted = forecast(session, t, start=first, days=14, now=_at(first, 10))
    emails = sorted((e["decided_on"], e["customer_id"]) for e in predicted["emails"])
    tasks = sorted((task["day"], task["customer_id"]) for task in predicted["tasks"])
    # capped: the second customer waits until the next day, not sent in the same day's room
    assert emails[0] == ("2026-12-09", others[1].id)

    seen_emails = {e.id for e in emails_of(session, t)}
    seen_tasks = set(session.scalars(select(EngagementTask.id)))
    ran_emails: list[tuple[str, int]] = []
    ran_tasks: list[tuple[str, int]] = []
    for k, day in enumerate(every_day(first, date(2026, 12, 21))):
        run_on(session, t, actor, [day], hour=10 if k == 0 else 7)
        for e in emails_of(session, t):
            if e.id not in seen_emails:
                seen_emails.add(e.id)
                ran_emails.append((day.isoformat(), e.customer_id))
        for task in session.scalars(select(EngagementTask).where(EngagementTask.tenant_id == t.id)):
            if task.id not in seen_tasks:
                seen_tasks.add(task.id)
                ran_tasks.append((day.isoformat(), task.customer_id))
    assert emails == sorted(ran_emails)
    # the first step's task came from the day's first run; the second step's is forecast
    assert tasks == sorted(ran_tasks) == [("2026-12-15", nobody.id)]
    assert emails[-1] == ("2026-12-17", others[2].id)  # capped behind the task and the others
