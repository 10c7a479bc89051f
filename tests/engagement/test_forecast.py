"""The forecast on SQLite and PostgreSQL (issue 12, item 7): only emails, on the day they
will be sent (the send window's next opening: weekends and quiet days respected), tasks
apart and labelled; checked against the runs of those days."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from arpolicy.engagement.admin import forecast
from arpolicy.kit.clock import zone
from arpolicy.models import EngagementTask
from tests.engagement.cadence_support import customer, emails_of, every_day, run_on, shop
from tests.engagement.test_cycles import SIMPLE, _at

CYCLE = {"name": "Overdue", "status": "live", "reminders": [
    {"name": "overdue", "anchor": "due_date", "offset_days": 7,
     "repeat": {"every_days": 7, "times": 3}, "template": SIMPLE}]}  # fmt: skip
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
    sent = [e.send_after.astimezone(zone("Europe/Berlin")).date().isoformat()
            for e in emails_of(session, t)]  # fmt: skip
    assert sent == ["2026-12-14", "2026-12-21"]
    tasks = session.scalars(select(EngagementTask).where(EngagementTask.tenant_id == t.id)
                            .order_by(EngagementTask.id)).all()  # fmt: skip
    assert [task.due_on.isoformat() for task in tasks] == ["2026-12-10", "2026-12-17"]
    assert inv.number in emails_of(session, t)[0].text_body
