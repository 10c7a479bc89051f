"""The pure day decision (``engagement.policy.decide_day``): what is due, the daily cap
(the oldest due first, the emails decided earlier that day counted), the task for a
customer with nobody to email, pauses, quiet days, merged steps. No database: the
snapshot is built by hand, as a forecast builds its simulated days."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from arpolicy.engagement.config import parse_cycle, parse_settings
from arpolicy.engagement.policy import (
    Action,
    CompiledCycle,
    Customer,
    DaySnapshot,
    History,
    Invoice,
    decide_day,
    matcher,
)

DAY = date(2026, 12, 8)  # a Tuesday
CAP_NOTE = "the daily cap of {} emails is reached: waits for the next run"
OVERDUE = {
    "name": "overdue",
    "anchor": "due_date",
    "offset_days": 7,
    "repeat": {"every_days": 7, "times": 3},
    "template": "friendly",
}


def cycle(*reminders: dict[str, Any], merge: bool = True, listing: bool = True) -> CompiledCycle:
    """A cycle every customer and invoice is in (its rules matched everything)."""
    parsed = parse_cycle(
        {"name": "Standard", "status": "live", "merge": merge, "reminders": list(reminders)}
    )
    n = len(parsed.reminders)
    return CompiledCycle(
        1, parsed, matcher(None), matcher(None), [matcher(None)] * n, [merge and listing] * n
    )


def customer(cid: int, **kw: Any) -> Customer:
    return Customer(cid, f"C{cid}", f"Customer {cid}", "DE", "Europe/Berlin", "en", **kw)


def invoice(iid: int, cid: int, due: date) -> Invoice:
    return Invoice(
        iid, cid, f"INV-{iid}", "invoice", due - timedelta(days=30), due, "EUR", 50_000, 50_000
    )


def snapshot(
    dues: dict[int, date],
    *,
    cycles: list[CompiledCycle] | None = None,
    reachable: set[int] | None = None,
    sent_today: int = 0,
    history: History | None = None,
    **customer_facts: Any,
) -> DaySnapshot:
    """Customers 1, 2, ... each with one invoice (id = 100 + customer) due on ``dues``."""
    cycles = cycles if cycles is not None else [cycle(OVERDUE)]
    return DaySnapshot(
        cycles=cycles,
        customers={cid: customer(cid, **customer_facts) for cid in dues},
        invoices={cid: [invoice(100 + cid, cid, due)] for cid, due in dues.items()},
        history={k.id: history or History() for k in cycles},
        reachable=set(dues) if reachable is None else reachable,
        sent_today=sent_today,
    )


def settings(**kw: Any) -> Any:
    return parse_settings({"from_address": "ar@shop.example", **kw})


def actions(decision: Any) -> dict[int, Action]:
    return {o.customer_id: o.action for o in decision.outcomes}


def test_an_invoice_is_emailed_on_its_step_and_not_before():
    due = DAY - timedelta(days=7)
    early = decide_day(snapshot({1: due + timedelta(days=1)}), settings(), DAY)
    assert actions(early) == {1: Action.NOTHING} and early.outcomes[0].reason == "no reminder due"
    (email,) = decide_day(snapshot({1: due}), settings(), DAY).emails
    assert (email.action, email.reminder and email.reminder.name, email.occurrence) == (
        Action.EMAIL,
        "overdue",
        1,
    )
    assert email.reason == f"cycle Standard, reminder overdue: INV-101 (1st overdue, step of {DAY})"


def test_the_history_moves_the_step_on_and_never_repeats_it():
    history = History()
    history.add(1, "overdue", DAY, [(101, "overdue")])
    again = decide_day(snapshot({1: DAY - timedelta(days=7)}, history=history), settings(), DAY)
    assert actions(again) == {1: Action.NOTHING}
    next_week = DAY + timedelta(days=7)
    week = decide_day(
        snapshot({1: DAY - timedelta(days=7)}, history=history), settings(), next_week
    )
    (email,) = week.emails
    assert email.occurrence == 2  # the customer's second "overdue" email
    assert email.invoices[0][1].occurrence == 1  # the invoice's second step (0-based)


def test_the_daily_cap_admits_the_oldest_due_first_and_the_rest_wait():
    dues = {1: DAY - timedelta(days=7), 2: DAY - timedelta(days=9), 3: DAY - timedelta(days=8)}
    decision = decide_day(snapshot(dues), settings(daily_cap=2), DAY)
    assert [o.customer_id for o in decision.emails] == [2, 3]  # the oldest step first
    assert actions(decision) == {1: Action.WAIT, 2: Action.EMAIL, 3: Action.EMAIL}
    (waiting,) = [o for o in decision.outcomes if o.action is Action.WAIT]
    assert waiting.reason == CAP_NOTE.format(2)


def test_emails_decided_earlier_that_day_count_against_the_cap():
    dues = {1: DAY - timedelta(days=7), 2: DAY - timedelta(days=7)}
    decision = decide_day(snapshot(dues, sent_today=1), settings(daily_cap=2), DAY)
    assert actions(decision) == {1: Action.EMAIL, 2: Action.WAIT}
    full = decide_day(snapshot(dues, sent_today=5), settings(daily_cap=2), DAY)
    assert full.emails == () and set(actions(full).values()) == {Action.WAIT}


def test_an_admitted_customer_with_nobody_to_email_gets_a_task_in_place_of_the_email():
    dues = {1: DAY - timedelta(days=7), 2: DAY - timedelta(days=7)}
    decision = decide_day(snapshot(dues, reachable={2}), settings(), DAY)
    (task,) = decision.tasks
    assert (task.customer_id, task.action) == (1, Action.TASK)
    assert [o.customer_id for o in decision.emails] == [2]
    # the task says which reminder and steps it stands for, as the email would have
    assert (
        task.reason == "cycle Standard, reminder overdue: INV-101 (1st overdue, step of 2026-12-08)"
    )


def test_a_task_takes_its_place_under_the_cap_and_a_capped_customer_gets_no_task():
    dues = {1: DAY - timedelta(days=9), 2: DAY - timedelta(days=8), 3: DAY - timedelta(days=7)}
    decision = decide_day(snapshot(dues, reachable={2}), settings(daily_cap=2), DAY)
    assert actions(decision) == {1: Action.TASK, 2: Action.EMAIL, 3: Action.WAIT}
    assert [o.customer_id for o in decision.tasks] == [1]  # 3 has no address either: capped


def test_quiet_days_pauses_and_promises_hold_a_customer_back():
    due = {1: DAY - timedelta(days=7)}
    history = History()
    history.add(1, "friendly", DAY - timedelta(days=1), [])
    quiet = decide_day(snapshot(due, history=history), settings(quiet_days=3), DAY)
    assert actions(quiet) == {1: Action.WAIT}
    assert quiet.outcomes[0].reason.startswith("quiet days: the last email was on 2026-12-07")
    replied = datetime(2026, 12, 5, 9, tzinfo=UTC)
    paused = decide_day(snapshot(due, last_reply_at=replied), settings(), DAY)
    assert actions(paused) == {1: Action.PAUSED}
    promised = decide_day(snapshot(due, promised_until=DAY), settings(), DAY)
    assert actions(promised) == {1: Action.PAUSED} and promised.emails == ()


def test_a_customer_in_no_cycle_is_told_so():
    nobody = dataclasses.replace(cycle(OVERDUE), customers=matcher(set()))
    decision = decide_day(snapshot({1: DAY - timedelta(days=7)}, cycles=[nobody]), settings(), DAY)
    assert [(o.action, o.reason) for o in decision.outcomes] == [(Action.NOTHING, "in no cycle")]


@pytest.mark.parametrize(("listing", "emails"), [(True, 1), (False, 2)])
def test_steps_due_the_same_day_merge_when_the_template_lists_them(listing, emails):
    first = {"name": "first", "anchor": "due_date", "offset_days": 3, "template": "friendly"}
    late = {"name": "late", "anchor": "due_date", "offset_days": 20, "template": "firm"}
    both = cycle(first, late, listing=listing)
    snap = DaySnapshot(
        [both],
        {1: customer(1)},
        {1: [invoice(101, 1, DAY - timedelta(days=3)), invoice(102, 1, DAY - timedelta(days=20))]},
        {1: History()},
        {1},
    )
    decision = decide_day(snap, settings(), DAY)
    assert len(decision.emails) == emails
    lead = decision.emails[0]
    assert lead.reminder is not None and lead.reminder.name == "late"  # the most advanced leads
    assert sorted(inv.number for o in decision.emails for inv, _ in o.invoices) == [
        "INV-101",
        "INV-102",
    ]


def test_the_decision_is_frozen_and_deciding_twice_gives_the_same_one():
    dues = {1: DAY - timedelta(days=7), 2: DAY - timedelta(days=8), 3: DAY - timedelta(days=9)}
    snap = snapshot(dues, reachable={1, 2}, sent_today=1)
    once, twice = (decide_day(snap, settings(daily_cap=2), DAY) for _ in range(2))
    assert [(o.customer_id, o.action, o.reason) for o in once.outcomes] == [
        (o.customer_id, o.action, o.reason) for o in twice.outcomes
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        once.outcomes[0].action = Action.EMAIL  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        once.emails = ()  # type: ignore[misc]
