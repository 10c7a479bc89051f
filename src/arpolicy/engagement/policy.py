"""What each customer is due on a day: the whole decision, pure (no database, no clock).

:func:`decide_day` takes a :class:`DaySnapshot` (the cycles with their rules run for the
day, the customers with open invoices, their invoices, the history of what was sent, who
has an address to email, how many emails the day already has), the tenant's
:class:`~arpolicy.engagement.config.Settings` and the day, and returns a frozen
:class:`DayDecision`: every customer's outcome with its final action, the daily cap and the
"nobody to email: a task" fallback included. The run, the dry run, the forecast and the
backtest all call it, so they cannot disagree.

What is due comes from the facts and the history of what was sent (never from a
counter), so deciding twice gives the same answer and a missed day is caught up by the
next run. Each invoice has a due step (``_steps``: the latest step whose date has come,
after the last one sent; overtaken steps are skipped, not replayed; a step past its
meaning, such as a before-due reminder once the invoice is due, is dropped with its
reason). A customer whose invoices are due at several reminders on one day gets them in
one email, each invoice under its step, led by the most advanced step (whose template
renders it), when the cycle merges and that template lists ``steps``; else one email per
step. Quiet days, pauses and promises hold them back; the next run sends what is still due
then. Emails are admitted oldest due first up to the daily cap (the rest wait for the next
run); an admitted customer with no usable address gets a task instead of an email.
"""

from __future__ import annotations

import enum
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from arpolicy.engagement._calendar import day_bounds, window_opening
from arpolicy.engagement._facts import (
    CompiledCycle,
    Customer,
    History,
    Invoice,
    Step,
    matcher,
)
from arpolicy.engagement._steps import Found, Steps, due_steps, plan_of
from arpolicy.engagement.config import Reminder, Settings

if TYPE_CHECKING:
    from arpolicy.models.engagement import EmailMode

__all__ = [
    "Action",
    "CompiledCycle",
    "Customer",
    "DayDecision",
    "DaySnapshot",
    "History",
    "Invoice",
    "Outcome",
    "Step",
    "day_bounds",
    "decide_customer",
    "decide_day",
    "describe",
    "email_key",
    "matcher",
    "task_key",
    "window_opening",
]


class Action(enum.StrEnum):
    EMAIL = "email"
    TASK = "task"
    """Due, but nobody to email: a task for the finance owner."""
    WAIT = "wait"
    """Due, but held back (quiet days, another reminder first, the daily cap)."""
    PAUSED = "paused"
    NOTHING = "nothing"


@dataclass(frozen=True)
class Outcome:
    customer_id: int
    action: Action
    cycle: CompiledCycle | None = None
    reminder: Reminder | None = None
    occurrence: int = 0
    """1-based: the how-manieth email of this reminder to the customer (in the key)."""
    due_on: date | None = None
    invoices: tuple[tuple[Invoice, Step], ...] = ()
    note: str = ""
    """Why it waits or is paused (when set, the reason)."""
    held: tuple[str, ...] = ()
    """Invoices held back (promised)."""
    overtaken: Mapping[int, Steps] = field(default_factory=dict)
    dropped: tuple[tuple[Invoice, Step, str], ...] = ()
    """Due steps past their meaning, not sent: (invoice, step, why)."""
    customer: Customer | None = None
    """The customer's facts (set on emails: writing them needs the name, zone, language)."""

    @property
    def reason(self) -> str:
        """Why: the cycle, the reminder, and each invoice's step (built when asked: a run
        of 100,000 customers decides first and explains only what it writes or shows)."""
        if self.note or self.cycle is None or self.reminder is None:
            return self.note
        names = [r.name for r in self.cycle.cycle.reminders]
        parts: dict[str, list[str]] = {}
        for inv, s in self.invoices:
            name = names[s.reminder]
            parts.setdefault(name, []).append(
                f"{inv.number} ({_ordinal(s.occurrence + 1)} {name}, step of {s.on})"
            )
        steps = "; ".join(f"{name}: {', '.join(v)}" for name, v in parts.items())
        return f"cycle {self.cycle.cycle.name}, reminder {steps}"

    @property
    def skipped(self) -> list[str]:
        """The steps overtaken by the ones due, the steps dropped, and what is held back."""
        names = [r.name for r in self.cycle.cycle.reminders] if self.cycle else []

        def overtaken(inv: Invoice) -> list[str]:
            return [
                f"{inv.number}: {names[j]} of {on} overtaken"
                for on, j, _k in self.overtaken.get(inv.id, ())
            ]

        out = [line for inv, _ in self.invoices for line in overtaken(inv)]
        for inv, step, why in self.dropped:
            out += overtaken(inv)
            out.append(f"{inv.number}: {names[step.reminder]} dropped: {why}")
        return out + list(self.held)

    def steps(self) -> list[tuple[Reminder, list[tuple[Invoice, Step]]]]:
        """The email's steps, each with its invoices, the lead (``reminder``) first."""
        assert self.cycle is not None
        out: dict[int, list[tuple[Invoice, Step]]] = {}
        for inv, s in self.invoices:
            out.setdefault(s.reminder, []).append((inv, s))
        return [(self.cycle.cycle.reminders[j], pairs) for j, pairs in out.items()]


@dataclass(frozen=True)
class DaySnapshot:
    """Everything one day's decision reads. The service loads it from the database; a
    forecast or backtest loads the ledger and brings its own simulated history."""

    cycles: Sequence[CompiledCycle]
    """The cycles by priority, their rules run for the day."""
    customers: Mapping[int, Customer]
    """Every customer with open invoices."""
    invoices: Mapping[int, Sequence[Invoice]]
    """Each customer's open invoices and debit notes."""
    history: Mapping[int, History]
    """What each cycle sent before (by cycle id), in the cycle's mode."""
    reachable: Container[int]
    """The customers with a usable address (a billing contact, else a primary one)."""
    sent_today: int = 0
    """Emails already decided on the day (earlier runs): they count against the cap."""


@dataclass(frozen=True)
class DayDecision:
    day: date
    outcomes: tuple[Outcome, ...]
    """Every customer's outcomes (one, or one per email when its steps are not merged), by
    customer, each with its final action."""
    emails: tuple[Outcome, ...]
    """The emails to write, oldest due first (the order the cap admitted them)."""
    tasks: tuple[Outcome, ...]
    """The admitted customers with nobody to email, in the same order."""


def decide_day(snapshot: DaySnapshot, settings: Settings, day: date) -> DayDecision:
    """Every customer's outcomes on ``day``: what is due (:func:`decide_customer`), then
    the daily cap (the oldest due first; the rest wait for the next run) and, for an
    admitted customer with no usable address, a task instead of the email."""
    memo: dict[Any, Any] = {}  # shared by the customers: the steps of common due dates
    outcomes = [
        o
        for cid in sorted(snapshot.invoices)
        for o in decide_customer(
            snapshot.cycles,
            snapshot.customers[cid],
            snapshot.invoices[cid],
            snapshot.history,
            settings,
            day,
            memo,
        )
    ]
    due = [i for i, o in enumerate(outcomes) if o.action is Action.EMAIL]
    due.sort(key=lambda i: (outcomes[i].due_on or day, outcomes[i].customer_id))
    room = max(settings.daily_cap - snapshot.sent_today, 0)
    capped = f"the daily cap of {settings.daily_cap} emails is reached: waits for the next run"
    for i in due[room:]:
        outcomes[i] = replace(outcomes[i], action=Action.WAIT, note=capped)
    for i in due[:room]:
        if outcomes[i].customer_id not in snapshot.reachable:
            outcomes[i] = replace(outcomes[i], action=Action.TASK)
    admitted = [outcomes[i] for i in due[:room]]
    return DayDecision(
        day,
        tuple(outcomes),
        tuple(o for o in admitted if o.action is Action.EMAIL),
        tuple(o for o in admitted if o.action is Action.TASK),
    )


def decide_customer(
    cycles: Sequence[CompiledCycle],
    c: Customer,
    invoices: Sequence[Invoice],
    history: Mapping[int, History],
    settings: Settings,
    day: date,
    memo: dict[Any, Any] | None = None,
) -> list[Outcome]:
    """The customer's outcomes on ``day`` before the daily cap and the addresses: one email
    (merged), one per step (``merge: false``, or a template that does not list ``steps``),
    or one outcome saying why nothing goes. ``memo``: one dict per day, shared by the
    customers (the steps of common dates)."""
    cycle = next((k for k in cycles if k.customers(c.id)), None)
    if cycle is None:
        return [Outcome(c.id, Action.NOTHING, note="in no cycle")]
    hist = history[cycle.id]
    paused = _pause(c, day, settings)
    if paused:
        return [Outcome(c.id, Action.PAUSED, cycle, note=paused)]
    plan = memo.get(("plan", cycle.id)) if memo is not None else None
    if plan is None:
        plan = plan_of(cycle)
        if memo is not None:
            memo[("plan", cycle.id)] = plan
    found = due_steps(cycle, c, invoices, hist, day, plan, memo)
    if not found.due:
        note = "no reminder due"
        if found.dropped:
            names = [r.name for r in cycle.cycle.reminders]
            note = "nothing to send: " + "; ".join(
                f"{inv.number}: {names[s.reminder]} {why}" for inv, s, why in found.dropped
            )
        nothing = Outcome(
            c.id,
            Action.NOTHING,
            cycle,
            note=note,
            held=tuple(found.held),
            overtaken=found.overtaken,
            dropped=tuple(found.dropped),
        )
        return [nothing]
    lead = max(found.due)
    merged = cycle.cycle.merge and cycle.merges(lead)
    ordered = sorted(found.due, reverse=True)
    groups = [ordered] if merged else [[j] for j in ordered]
    quiet = _quiet(c, hist, settings, day)
    return [
        _email(cycle, c, hist, found, js, first=n == 0, quiet=quiet) for n, js in enumerate(groups)
    ]


def email_key(o: Outcome, mode: EmailMode) -> str:
    """An email's idempotency key: unique per tenant, so a day run twice writes it once."""
    assert o.cycle is not None and o.reminder is not None
    return f"{o.cycle.id}:{mode.value}:{o.reminder.name}:{o.customer_id}:{o.occurrence}"


def task_key(o: Outcome, mode: EmailMode) -> str:
    """A task is made once per step: the email's key and its latest step's date (no email
    goes, so the email's occurrence stays the same from one step to the next)."""
    return f"{email_key(o, mode)}:{max(s.on for _, s in o.invoices).isoformat()}"


def _pause(c: Customer, day: date, settings: Settings) -> str | None:
    if c.paused_by_hand is not None:
        return f"paused by hand: {c.paused_by_hand}"
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


def _email(
    cycle: CompiledCycle,
    c: Customer,
    hist: History,
    found: Found,
    reminders: list[int],
    *,
    first: bool,
    quiet: str | None,
) -> Outcome:
    """One email: the steps of ``reminders`` (the most advanced first: it leads). The
    first email of the customer carries what is held back and dropped; quiet days make
    every one of them wait."""
    pairs: list[tuple[Invoice, Step]] = []
    for j in reminders:
        group = found.due[j]
        if len(group) > 1:
            group.sort(key=lambda x: (x[1].on, x[0].due_date, x[0].id))
        pairs += group
    lead = cycle.cycle.reminders[reminders[0]]
    ids = {inv.id for inv, _ in pairs}
    return Outcome(
        c.id,
        Action.WAIT if quiet else Action.EMAIL,
        cycle,
        lead,
        hist.customer_counts.get((c.id, lead.name), 0) + 1,
        min(s.on for _, s in pairs),
        tuple(pairs),
        note=quiet or "",
        held=tuple(found.held) if first else (),
        overtaken={i: v for i, v in found.overtaken.items() if i in ids},
        dropped=tuple(found.dropped) if first else (),
        customer=c,
    )


def _quiet(c: Customer, hist: History, settings: Settings, day: date) -> str | None:
    last = hist.customer_last.get(c.id)
    if c.last_email_at is not None:
        emailed = c.last_email_at.date()
        last = emailed if last is None or emailed > last else last
    if last is None or not settings.quiet_days:
        return None
    after = last + timedelta(days=settings.quiet_days)
    if day < after:
        return f"quiet days: the last email was on {last}; next possible on {after}"
    return None


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


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
