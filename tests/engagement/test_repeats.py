"""Repeats walked day by day on SQLite and PostgreSQL (issue 12, items 5 and 8): a repeat's
occurrence is the latest one whose date has come; an overtaken occurrence is skipped, never
replayed, and quiet days delay a step without making the count catch up. A repeat without
``times`` goes on until the invoice is paid."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from arpolicy.engagement.config import CycleError, parse_cycle
from tests.engagement.cadence_support import customer, every_day, run_on, shop
from tests.engagement.cycles_support import SIMPLE


def _weekly(times: int | None = 52, **extra: object) -> dict[str, object]:
    repeat: dict[str, object] = {"every_days": 7}
    if times is not None:
        repeat["times"] = times
    return {
        "name": "Weekly",
        "status": "live",
        "reminders": [
            {
                "name": "overdue",
                "anchor": "due_date",
                "offset_days": 7,
                "repeat": repeat,
                "template": SIMPLE,
                **extra,
            }
        ],
    }


DUE = date(2026, 11, 16)  # a Monday: the weekly steps fall on Mondays 11-23, 11-30, 12-07...


def test_an_overtaken_occurrence_is_skipped_not_replayed(session):
    """The runs of 12-07, 10, 13, 16, 19 and 22 (default settings, three quiet days): the
    3rd weekly step on 12-07 (the 1st and 2nd are overtaken), then the 4th on 12-16 (its
    step of 12-14 waited for a run) and the 5th on 12-22: weekly, never every three days."""
    t, actor, owner = shop(session, _weekly())
    _c, (inv,) = customer(session, t, owner, DUE)
    runs = [date(2026, 12, d) for d in (7, 10, 13, 16, 19, 22)]
    got = run_on(session, t, actor, runs)
    assert got == [
        (date(2026, 12, 7), "overdue", [(inv.number, "overdue", date(2026, 12, 7))]),
        (date(2026, 12, 16), "overdue", [(inv.number, "overdue", date(2026, 12, 14))]),
        (date(2026, 12, 22), "overdue", [(inv.number, "overdue", date(2026, 12, 21))]),
    ]


def test_daily_runs_send_each_occurrence_once_a_week(session):
    t, actor, owner = shop(session, _weekly())
    _c, (inv,) = customer(session, t, owner, DUE)
    got = run_on(session, t, actor, every_day(date(2026, 11, 16), date(2026, 12, 31)))
    weekly = [date(2026, 11, 23) + timedelta(weeks=k) for k in range(6)]
    assert got == [(d, "overdue", [(inv.number, "overdue", d)]) for d in weekly]


def test_quiet_days_delay_a_step_but_the_count_does_not_catch_up(session):
    """A reply on 12-05 pauses the customer a week (to 12-12): the step of 12-07 goes out
    on 12-12, the next one on its own day (12-14, two days later: the quiet days of three
    hold it to 12-15), and from then on weekly again."""
    t, actor, owner = shop(session, _weekly())
    c, _ = customer(session, t, owner, DUE)

    def reply(day: date) -> None:
        if day == date(2026, 12, 5):
            c.last_reply_at = _noon(day)
            session.flush()

    got = run_on(session, t, actor, every_day(date(2026, 11, 20), date(2026, 12, 29)), each=reply)
    assert [(d, s[0][2]) for d, _r, s in got] == [
        (date(2026, 11, 23), date(2026, 11, 23)),
        (date(2026, 11, 30), date(2026, 11, 30)),
        (date(2026, 12, 12), date(2026, 12, 7)),  # held by the pause, sent when it ends
        (date(2026, 12, 15), date(2026, 12, 14)),  # the quiet days delay it a day
        (date(2026, 12, 21), date(2026, 12, 21)),  # weekly again: no catching up
        (date(2026, 12, 28), date(2026, 12, 28)),
    ]


def _noon(day: date):
    from datetime import UTC, datetime, time

    return datetime.combine(day, time(12), tzinfo=UTC)


def test_a_repeat_without_times_goes_on_until_the_invoice_is_paid(session):
    """No ``times``: weekly for as long as the invoice is open (past the 100 a bounded
    repeat may have), and not once it is paid."""
    t, actor, owner = shop(session, _weekly(times=None))
    _c, (inv,) = customer(session, t, owner, DUE)
    mondays = [date(2026, 11, 23) + timedelta(weeks=k) for k in range(110)]

    def pay(day: date) -> None:
        if day == mondays[105]:
            inv.balance_minor = 0
            session.flush()

    got = run_on(session, t, actor, mondays, each=pay)
    assert [d for d, _r, _s in got] == mondays[:105]
    assert got[-1][2] == [(inv.number, "overdue", mondays[104])]


@pytest.mark.parametrize("repeat", [{"every_days": 7}, {"every_days": 7, "times": None}])
def test_an_open_ended_repeat_validates(repeat):
    cycle = parse_cycle(
        {**_weekly(), "reminders": [{**_weekly()["reminders"][0], "repeat": repeat}]}
    )  # type: ignore[index]
    assert cycle.reminders[0].repeat is not None and cycle.reminders[0].repeat.times is None


@pytest.mark.parametrize(
    ("repeat", "where", "what"),
    [
        ({"every_days": 7, "times": 0}, "reminders[0].repeat.times", "times is 0"),
        ({"every_days": 7, "times": 101}, "reminders[0].repeat.times", "times is 101"),
        ({"times": 3}, "reminders.0.repeat.every_days", "Field required"),
    ],
)
def test_a_bad_repeat_says_what_where_and_how_to_fix(repeat, where, what):
    with pytest.raises(CycleError) as exc:
        parse_cycle({**_weekly(), "reminders": [{**_weekly()["reminders"][0], "repeat": repeat}]})  # type: ignore[index]
    (problem,) = exc.value.errors
    assert problem["where"] == where and what in problem["what"]
    if "times" in repeat and repeat.get("every_days"):
        assert "leave times out" in problem["fix"]


def test_a_last_email_reminder_needs_an_offset_after_the_last_email():
    """Steps on or before the invoice's last email count as done: a last_email reminder of
    offset 0 would never come, so saving it is refused with how to fix it."""
    chained = {"name": "again", "anchor": "last_email", "offset_days": 0, "template": SIMPLE}
    with pytest.raises(CycleError) as exc:
        parse_cycle({**_weekly(), "reminders": [*_weekly()["reminders"], chained]})  # type: ignore[misc]
    (problem,) = exc.value.errors
    assert problem["where"] == "reminders[1].offset_days" and "at least 1" in problem["fix"]
