"""What each customer is due on a day: pure, from the facts and the history of what was
sent (never from a counter), so deciding twice gives the same answer and a missed day is
caught up by the next run.

Each invoice has a due step (``steps``: the latest step whose date has come, after the
last one sent; overtaken steps are skipped, not replayed; a step past its meaning, such as
a before-due reminder once the invoice is due, is dropped with its reason). A customer
whose invoices are due at several reminders on one day gets them in one email, each
invoice under its step, led by the most advanced step (whose template renders it), when
the cycle merges and that template lists ``steps``; else one email per step. Quiet days,
pauses and promises hold them back; the next run sends what is still due then.
"""

from __future__ import annotations

import enum
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

from arpolicy.engagement.config import Cycle, Reminder, Settings
from arpolicy.engagement.steps import (
    LATE,
    Plan,
    Steps,
    lost_meaning,
    plan_of,
    position_of,
    steps_of,
    traits,
)
from arpolicy.kit.money import Money


class Action(enum.StrEnum):
    EMAIL = "email"
    TASK = "task"
    """Due, but nobody to email: a task for the finance owner."""
    WAIT = "wait"
    """Due, but held back (quiet days, another reminder first, the daily cap)."""
    PAUSED = "paused"
    NOTHING = "nothing"


@dataclass(frozen=True, slots=True)
class Invoice:
    id: int
    customer_id: int
    number: str
    doc_type: str
    document_date: date
    due_date: date
    currency: str
    amount_minor: int
    balance_minor: int
    disputed: bool = False
    promised_until: date | None = None
    """The latest date of the invoice's open promises to pay."""
    broken_promise_on: date | None = None
    """The date of its latest promise to pay that is now broken (the p2p_date anchor)."""

    @property
    def total(self) -> Money:
        return Money.from_minor(self.amount_minor, self.currency)

    @property
    def balance(self) -> Money:
        return Money.from_minor(self.balance_minor, self.currency)


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

    def add(
        self, customer_id: int, reminder: str, day: date, listed: Sequence[tuple[int, str]]
    ) -> None:
        """Record an email of ``reminder`` (its lead) listing each (invoice id, reminder of
        its step): forecasts and backtests replay days with it."""
        key = (customer_id, reminder)
        self.customer_counts[key] = self.customer_counts.get(key, 0) + 1
        self.customer_first.setdefault(customer_id, day)
        self.customer_last[customer_id] = max(day, self.customer_last.get(customer_id, day))
        for i, name in listed:
            self.invoice_counts[(i, name)] = self.invoice_counts.get((i, name), 0) + 1
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
    listing: Sequence[bool] = ()
    """Per reminder: does its template list ``steps`` (so it can lead a merged email)?"""

    def merges(self, reminder: int) -> bool:
        return reminder < len(self.listing) and self.listing[reminder]

    @cached_property
    def filtered(self) -> bool:
        """Some reminder has a ``when``."""
        return any(f is not _always for f in self.reminder_ok)


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
    note: str = ""
    """Why it waits or is paused (when set, the reason)."""
    held: list[str] = field(default_factory=list)
    """Invoices held back (promised)."""
    overtaken: dict[int, Steps] = field(default_factory=dict)
    dropped: list[tuple[Invoice, Step, str]] = field(default_factory=list)
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

    @reason.setter
    def reason(self, value: str) -> None:
        self.note = value

    @property
    def skipped(self) -> list[str]:
        """The steps overtaken by the ones due, the steps dropped, and what is held back."""
        names = [r.name for r in self.cycle.cycle.reminders] if self.cycle else []
        out = [f"{inv.number}: {names[j]} of {on} overtaken" for inv, _ in self.invoices
               for on, j, _k in self.overtaken.get(inv.id, ())]  # fmt: skip
        for inv, step, why in self.dropped:
            out += [f"{inv.number}: {names[j]} of {on} overtaken"
                    for on, j, _k in self.overtaken.get(inv.id, ())]  # fmt: skip
            out.append(f"{inv.number}: {names[step.reminder]} dropped: {why}")
        return out + self.held

    def steps(self) -> list[tuple[Reminder, list[tuple[Invoice, Step]]]]:
        """The email's steps, each with its invoices, the lead (``reminder``) first."""
        assert self.cycle is not None
        out: dict[int, list[tuple[Invoice, Step]]] = {}
        for inv, s in self.invoices:
            out.setdefault(s.reminder, []).append((inv, s))
        return [(self.cycle.cycle.reminders[j], pairs) for j, pairs in out.items()]


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


def decide(
    cycles: Sequence[CompiledCycle],
    c: Customer,
    invoices: Sequence[Invoice],
    history: Mapping[int, History],
    settings: Settings,
    day: date,
    memo: dict[Any, Any] | None = None,
) -> list[Outcome]:
    """The customer's outcomes on ``day`` (before the daily cap and recipients): one email
    (merged), one per step (``merge: false``, or a template that does not list ``steps``),
    or one outcome saying why nothing goes. ``memo``: one dict per run, shared by the
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
    found = _due(cycle, c, invoices, hist, day, plan, memo)
    if not found.due:
        note = "no reminder due" if not found.dropped else "nothing to send: " + "; ".join(
            f"{inv.number}: {cycle.cycle.reminders[s.reminder].name} {why}"
            for inv, s, why in found.dropped)  # fmt: skip
        return [Outcome(c.id, Action.NOTHING, cycle, note=note, held=found.held,
                        overtaken=found.overtaken, dropped=found.dropped)]  # fmt: skip
    lead = max(found.due)
    merged = cycle.cycle.merge and cycle.merges(lead)
    groups = [sorted(found.due)[::-1]] if merged else [[j] for j in sorted(found.due, reverse=True)]
    outcomes = [_email(cycle, c, hist, found, js) for js in groups]
    outcomes[0].held, outcomes[0].dropped = found.held, found.dropped
    quiet = _quiet(c, hist, settings, day)
    for o in outcomes:
        if quiet:
            o.action, o.note = Action.WAIT, quiet
    return outcomes


@dataclass
class _Found:
    due: dict[int, list[tuple[Invoice, Step]]] = field(default_factory=dict)
    held: list[str] = field(default_factory=list)
    overtaken: dict[int, Steps] = field(default_factory=dict)
    dropped: list[tuple[Invoice, Step, str]] = field(default_factory=list)


def _due(
    cycle: CompiledCycle, c: Customer, invoices: Sequence[Invoice], hist: History, day: date,
    plan: Plan, memo: dict[Any, Any] | None,
) -> _Found:  # fmt: skip
    """Each invoice's due step, by reminder; the held, overtaken and dropped."""
    out = _Found()
    in_cycle = cycle.invoices
    static, uses_doc, uses_p2p, uses_business = traits(plan)
    # The common case: steps that depend on the due date alone (and the country, for
    # business days): one list per distinct due date, shared by every invoice of the run.
    by_due: dict[date, Steps] | None = None
    if memo is not None and static and not uses_doc and not uses_p2p and not cycle.filtered:
        by_due = memo.setdefault(("due", cycle.id, c.country if uses_business else None), {})
    sent_before = hist.invoice_last
    for inv in invoices:
        if inv.balance_minor <= 0 or inv.disputed or not in_cycle(inv.id):
            continue  # paid, fully credited, disputed: stopped
        if inv.promised_until is not None and inv.promised_until >= day:
            out.held.append(f"{inv.number}: promised until {inv.promised_until}")
            continue
        if by_due is not None:
            steps = by_due.get(inv.due_date)
            if steps is None:
                steps = by_due[inv.due_date] = steps_of(cycle, inv, c, hist, day, plan, memo)[0]
            position = -1 if inv.id not in sent_before else position_of(steps, inv.id, hist, plan)
        else:
            steps, position = steps_of(cycle, inv, c, hist, day, plan, memo)
        end = bisect_right(steps, (day, LATE, LATE))
        if end <= position + 1:
            continue  # nothing due (yet, or any more)
        on, j, k = steps[end - 1]
        if end - 1 > position + 1:
            out.overtaken[inv.id] = steps[position + 1 : end - 1]
        step = Step(j, k, on)
        why = lost_meaning(plan[j], inv.due_date, on, day) if on < day else None
        if why is not None:
            out.dropped.append((inv, step, why))
        else:
            out.due.setdefault(j, []).append((inv, step))
    return out


def _email(
    cycle: CompiledCycle, c: Customer, hist: History, found: _Found, reminders: list[int]
) -> Outcome:
    """One email: the steps of ``reminders`` (the most advanced first: it leads)."""
    pairs: list[tuple[Invoice, Step]] = []
    for j in reminders:
        group = found.due[j]
        if len(group) > 1:
            group.sort(key=lambda x: (x[1].on, x[0].due_date, x[0].id))
        pairs += group
    lead = cycle.cycle.reminders[reminders[0]]
    ids = {inv.id for inv, _ in pairs}
    return Outcome(
        c.id, Action.EMAIL, cycle, lead, hist.customer_counts.get((c.id, lead.name), 0) + 1,
        min(s.on for _, s in pairs), pairs, customer=c,
        overtaken={i: v for i, v in found.overtaken.items() if i in ids},
    )  # fmt: skip


def _quiet(c: Customer, hist: History, settings: Settings, day: date) -> str | None:
    last = hist.customer_last.get(c.id)
    if c.last_email_at is not None:
        emailed = c.last_email_at.date()
        last = emailed if last is None or emailed > last else last
    if (
        last is not None
        and settings.quiet_days
        and day < last + timedelta(days=settings.quiet_days)
    ):
        return (f"quiet days: the last email was on {last}; "
                f"next possible on {last + timedelta(days=settings.quiet_days)}")  # fmt: skip
    return None


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _always(_i: int) -> bool:
    return True


def matcher(ids: set[int] | None) -> Callable[[int], bool]:
    """Membership in a selected set (None: everything matches)."""
    if ids is None:
        return _always
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
