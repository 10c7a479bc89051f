"""What each customer is due on a day: pure, from the facts and the history of what was
sent (never from a counter), so deciding twice gives the same answer and a missed day is
caught up by the next run.

Per invoice, the cycle's reminders give a sequence of steps (reminder, occurrence, date),
ordered by date. The history says which steps reached the invoice (how many emails of each
reminder listed it); the invoice's position is its last step sent. Its due step is the
latest step after that position whose date is on or before the day: a step missed by a day
is sent the next day, and steps overtaken by a later one that is also due are skipped (an
invoice imported 40 days late gets the reminder for 40 days late, not the friendly one for
before its due date). A change of facts moves the dates but never the position, so no step
is repeated.

A customer gets at most one email a run: for the reminder whose due step is the oldest,
listing every invoice due at that reminder. The others wait for the next run (after the
quiet days).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from arpolicy.engagement.config import Anchor, Cycle, Reminder, Settings
from arpolicy.engagement.schedule import step_dates
from arpolicy.kit.money import Money


class Action(enum.StrEnum):
    EMAIL = "email"
    TASK = "task"
    """Due, but nobody to email: a task for the finance owner."""
    WAIT = "wait"
    """Due, but held back (quiet days, another reminder first, the daily cap)."""
    PAUSED = "paused"
    NOTHING = "nothing"


@dataclass(frozen=True)
class Invoice:
    id: int
    customer_id: int
    number: str
    doc_type: str
    document_date: date
    due_date: date
    total: Money
    balance: Money
    disputed: bool = False
    promised_until: date | None = None
    """The latest date of the invoice's open promises to pay."""
    broken_promise_on: date | None = None
    """The date of its latest promise to pay that is now broken (the p2p_date anchor)."""


@dataclass(frozen=True)
class Customer:
    id: int
    external_id: str
    name: str
    country: str | None = None
    timezone: str | None = None
    language: str | None = None
    locale: str | None = None
    last_reply_at: datetime | None = None
    last_email_at: datetime | None = None
    last_manual_at: datetime | None = None
    promised_until: date | None = None
    """The latest date of its open promises not tied to one invoice."""
    broken_promise_on: date | None = None
    auto_retrying: bool = False


@dataclass
class History:
    """What was sent before, in one mode (live, or test): per invoice and reminder the
    number of emails that listed it and the last one's day; per customer and reminder the
    number of emails, and per customer its first and last email day in the cycle."""

    invoice_counts: dict[tuple[int, str], int] = field(default_factory=dict)
    invoice_last: dict[int, date] = field(default_factory=dict)
    customer_counts: dict[tuple[int, str], int] = field(default_factory=dict)
    customer_first: dict[int, date] = field(default_factory=dict)
    customer_last: dict[int, date] = field(default_factory=dict)

    def add(self, customer_id: int, reminder: str, day: date, invoice_ids: Sequence[int]) -> None:
        """Record an email (forecasts and backtests replay days with it)."""
        key = (customer_id, reminder)
        self.customer_counts[key] = self.customer_counts.get(key, 0) + 1
        self.customer_first.setdefault(customer_id, day)
        self.customer_last[customer_id] = max(day, self.customer_last.get(customer_id, day))
        for i in invoice_ids:
            self.invoice_counts[(i, reminder)] = self.invoice_counts.get((i, reminder), 0) + 1
            self.invoice_last[i] = max(day, self.invoice_last.get(i, day))


@dataclass(frozen=True)
class CompiledCycle:
    id: int
    cycle: Cycle
    customers: Callable[[int], bool]
    """Is the customer in the cycle (its customer and payment rules)?"""
    invoices: Callable[[int], bool]
    """Is the invoice one the cycle is about (its invoice rule)?"""
    reminder_ok: Sequence[Callable[[int], bool]]
    """Per reminder: does its ``when`` match the invoice?"""


@dataclass(frozen=True)
class Step:
    reminder: int
    occurrence: int
    """0-based: the how-manieth email of this reminder for the invoice."""
    on: date


@dataclass
class Outcome:
    customer_id: int
    action: Action
    cycle: CompiledCycle | None = None
    reminder: Reminder | None = None
    occurrence: int = 0
    """1-based: the how-manieth email of this reminder to the customer (in the key)."""
    due_on: date | None = None
    invoices: list[tuple[Invoice, Step]] = field(default_factory=list)
    reason: str = ""
    skipped: list[str] = field(default_factory=list)

    @property
    def key_part(self) -> str:
        assert self.cycle is not None and self.reminder is not None
        return f"{self.cycle.id}:{self.reminder.name}:{self.customer_id}:{self.occurrence}"


def _pause(c: Customer, day: date, settings: Settings) -> str | None:
    if c.last_reply_at is not None and settings.reply_pause_days:
        until = c.last_reply_at.date() + timedelta(days=settings.reply_pause_days)
        if day < until:
            return f"the customer replied on {c.last_reply_at.date()}: paused until {until}"
    if c.last_manual_at is not None and settings.manual_pause_days:
        until = c.last_manual_at.date() + timedelta(days=settings.manual_pause_days)
        if day < until:
            return f"an email was sent by hand on {c.last_manual_at.date()}: paused until {until}"
    if c.promised_until is not None and c.promised_until >= day:
        return f"an open promise to pay until {c.promised_until}: paused until it is kept or broken"
    if c.auto_retrying and settings.pause_while_auto_collection:
        return "auto collection is still retrying the payment"
    return None


def steps_of(
    cycle: CompiledCycle, inv: Invoice, c: Customer, history: History, day: date
) -> list[Step]:
    """Every step of ``inv`` in the cycle whose date is known, in order."""
    out: list[Step] = []
    for j, r in enumerate(cycle.cycle.reminders):
        if not cycle.reminder_ok[j](inv.id):
            continue
        every = r.repeat.every_days if r.repeat else None
        sent = history.invoice_counts.get((inv.id, r.name), 0)
        anchor: date | None
        chained = False
        if r.anchor is Anchor.DUE_DATE:
            anchor = inv.due_date
        elif r.anchor is Anchor.DOCUMENT_DATE:
            anchor = inv.document_date
        elif r.anchor is Anchor.P2P_DATE:
            anchor = inv.broken_promise_on or c.broken_promise_on
        elif r.anchor is Anchor.LAST_EMAIL:
            anchor, chained = history.invoice_last.get(inv.id), True
        else:
            anchor = history.customer_first.get(c.id, day)
        if chained:  # only the next occurrence is known: from the last email
            if sent < r.times and anchor is not None:
                (on,) = step_dates(anchor, r.offset_days, None, 1, business=r.business_days,
                                   country=c.country)  # fmt: skip
                out.append(Step(j, sent, on))
            out += [Step(j, k, date.min) for k in range(sent)]  # the ones sent, for the position
            continue
        dates = step_dates(anchor, r.offset_days, every, r.times, business=r.business_days,
                           country=c.country)  # fmt: skip
        out += [Step(j, k, on) for k, on in enumerate(dates)]
    out.sort(key=lambda s: (s.on, s.reminder, s.occurrence))
    return out


def due_step(
    cycle: CompiledCycle, inv: Invoice, c: Customer, history: History, day: date
) -> tuple[Step | None, list[Step]]:
    """(the invoice's due step or None, the due steps it overtakes)."""
    steps = steps_of(cycle, inv, c, history, day)
    names = [r.name for r in cycle.cycle.reminders]
    sent = [
        i for i, s in enumerate(steps)
        if s.occurrence < history.invoice_counts.get((inv.id, names[s.reminder]), 0)
    ]  # fmt: skip
    position = max(sent) if sent else -1
    due = [s for s in steps[position + 1 :] if s.on <= day and s.on != date.min]
    if not due:
        return None, []
    return due[-1], due[:-1]


def decide(
    cycles: Sequence[CompiledCycle],
    c: Customer,
    invoices: Sequence[Invoice],
    history: Mapping[int, History],
    settings: Settings,
    day: date,
) -> Outcome:
    """The customer's outcome on ``day`` (before the daily cap and recipients)."""
    cycle = next((k for k in cycles if k.customers(c.id)), None)
    if cycle is None:
        return Outcome(c.id, Action.NOTHING, reason="in no cycle")
    hist = history[cycle.id]
    paused = _pause(c, day, settings)
    if paused:
        return Outcome(c.id, Action.PAUSED, cycle, reason=paused)
    reminders = cycle.cycle.reminders
    due: dict[int, list[tuple[Invoice, Step]]] = {}
    skipped: list[str] = []
    for inv in invoices:
        if not cycle.invoices(inv.id) or inv.balance.amount <= 0 or inv.disputed:
            continue  # paid, fully credited, disputed: stopped
        if inv.promised_until is not None and inv.promised_until >= day:
            skipped.append(f"{inv.number}: promised until {inv.promised_until}")
            continue
        step, overtaken = due_step(cycle, inv, c, hist, day)
        if step is None:
            continue
        skipped += [f"{inv.number}: {reminders[s.reminder].name} of {s.on} overtaken"
                    for s in overtaken]  # fmt: skip
        due.setdefault(step.reminder, []).append((inv, step))
    if not due:
        return Outcome(c.id, Action.NOTHING, cycle, reason="no reminder due", skipped=skipped)
    j = min(due, key=lambda k: (min(s.on for _, s in due[k]), -k))
    chosen = sorted(due[j], key=lambda x: (x[1].on, x[0].due_date, x[0].id))
    reminder = reminders[j]
    step_day = min(s.on for _, s in chosen)
    others = [reminders[k].name for k in due if k != j]
    last = max(
        [d for d in (hist.customer_last.get(c.id),
                     c.last_email_at.date() if c.last_email_at else None) if d is not None],
        default=None,
    )  # fmt: skip
    outcome = Outcome(
        c.id, Action.EMAIL, cycle, reminder, hist.customer_counts.get((c.id, reminder.name), 0) + 1,
        step_day, chosen, skipped=skipped + [f"{n}: waits for a later run" for n in others],
    )  # fmt: skip
    if (
        last is not None
        and settings.quiet_days
        and day < last + timedelta(days=settings.quiet_days)
    ):
        outcome.action = Action.WAIT
        outcome.reason = (f"quiet days: the last email was on {last}; "
                          f"next possible on {last + timedelta(days=settings.quiet_days)}")  # fmt: skip
        return outcome
    occurrences = ", ".join(
        f"{inv.number} ({_ordinal(s.occurrence + 1)} {reminder.name}, step of {s.on})"
        for inv, s in chosen
    )
    outcome.reason = f"cycle {cycle.cycle.name}, reminder {reminder.name}: {occurrences}"
    return outcome


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def matcher(ids: set[int] | None) -> Callable[[int], bool]:
    """Membership in a selected set (None: everything matches)."""
    if ids is None:
        return lambda _i: True
    return ids.__contains__


def describe(outcome: Outcome) -> dict[str, Any]:
    return {
        "customer_id": outcome.customer_id,
        "action": outcome.action.value,
        "cycle": outcome.cycle.cycle.name if outcome.cycle else None,
        "reminder": outcome.reminder.name if outcome.reminder else None,
        "occurrence": outcome.occurrence or None,
        "due_on": outcome.due_on.isoformat() if outcome.due_on else None,
        "invoices": [inv.number for inv, _ in outcome.invoices],
        "reason": outcome.reason,
        "skipped": outcome.skipped,
    }
