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
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache
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
    """Invoices held back (promised), and other reminders due that wait."""
    overtaken: dict[int, list[tuple[date, int, int]]] = field(default_factory=dict)
    customer: Customer | None = None
    """The customer's facts (set on emails: writing them needs the name, zone, language)."""

    @property
    def reason(self) -> str:
        """Why: the cycle, the reminder, and each invoice's step (built when asked: a run
        of 100,000 customers decides first and explains only what it writes or shows)."""
        if self.note or self.cycle is None or self.reminder is None:
            return self.note
        name = self.reminder.name
        steps = ", ".join(f"{inv.number} ({_ordinal(s.occurrence + 1)} {name}, step of {s.on})"
                          for inv, s in self.invoices)  # fmt: skip
        return f"cycle {self.cycle.cycle.name}, reminder {name}: {steps}"

    @reason.setter
    def reason(self, value: str) -> None:
        self.note = value

    @property
    def skipped(self) -> list[str]:
        """The steps overtaken by the ones sent, and what is held back."""
        names = [r.name for r in self.cycle.cycle.reminders] if self.cycle else []
        out = [f"{inv.number}: {names[j]} of {on} overtaken"
               for inv, _ in self.invoices for on, j, _k in self.overtaken.get(inv.id, ())]  # fmt: skip
        return out + self.held


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


_ANCHORS = {a: i for i, a in enumerate(Anchor)}
_DUE, _DOC, _P2P, _LAST, _ENTRY = range(5)
_LATE = 1 << 30
_ALL_TRUE = [(True,) * n for n in range(64)]


def _plan(cycle: CompiledCycle) -> list[tuple[int, str, int, int, int | None, int, bool]]:
    """The reminders as plain tuples (index, name, anchor, offset, every, times, business):
    the loop below runs for every open invoice."""
    return [(j, r.name, _ANCHORS[r.anchor], r.offset_days, r.repeat.every_days if r.repeat else None,
             r.times, r.business_days) for j, r in enumerate(cycle.cycle.reminders)]  # fmt: skip


Plan = list[tuple[int, str, int, int, int | None, int, bool]]


@lru_cache(maxsize=256)
def _traits_of(
    plan: tuple[tuple[int, str, int, int, int | None, int, bool], ...],
) -> tuple[bool, bool, bool, bool]:
    anchors = {p[2] for p in plan}
    return (
        anchors <= {_DUE, _DOC, _P2P},
        _DOC in anchors,
        _P2P in anchors,
        any(p[6] for p in plan),
    )


def _traits(plan: Plan) -> tuple[bool, bool, bool, bool]:
    """(every step depends on the invoice's dates only, uses the document date, uses a
    promise date, counts business days)."""
    return _traits_of(tuple(plan))


def steps_of(
    cycle: CompiledCycle, inv: Invoice, c: Customer, history: History, day: date,
    plan: Plan | None = None, memo: dict[Any, list[tuple[date, int, int]]] | None = None,
) -> tuple[list[tuple[date, int, int]], int]:  # fmt: skip
    """Every step of ``inv`` in the cycle whose date is known, in order, as (date,
    reminder, occurrence); and the position of the last one sent (-1: none).

    Steps anchored on the invoice's own dates depend only on those dates, the reminders
    that apply and (for business days) the country, so ``memo`` shares them between the
    invoices of a run (a tenant has a few hundred distinct due dates)."""
    plan = plan or _plan(cycle)
    oks = cycle.reminder_ok
    mask = tuple(f(inv.id) for f in oks) if cycle.filtered else _ALL_TRUE[len(oks)]
    static, uses_doc, uses_p2p, uses_business = _traits(plan)
    p2p = inv.broken_promise_on or c.broken_promise_on
    key = (cycle.id, mask, inv.due_date, inv.document_date if uses_doc else None,
           p2p if uses_p2p else None, c.country if uses_business else None)  # fmt: skip
    out = memo.get(key) if (memo is not None and static) else None
    if out is None:
        out = []
        for (j, _name, anchor_code, offset, every, times, business), ok in zip(
            plan, mask, strict=True
        ):
            if not ok:
                continue
            country = c.country if business else None
            if anchor_code == _LAST:  # only the next occurrence is known: from the last email
                anchor = history.invoice_last.get(inv.id)
                sent = history.invoice_counts.get((inv.id, _name), 0)
                if sent < times and anchor is not None:
                    out += [(on, j, sent) for on in step_dates(anchor, offset, None, 1,
                                                               business=business, country=country)]  # fmt: skip
                continue
            if anchor_code == _DUE:
                base: date | None = inv.due_date
            elif anchor_code == _DOC:
                base = inv.document_date
            elif anchor_code == _P2P:
                base = p2p
            else:
                base = history.customer_first.get(c.id, day)
            dates = step_dates(base, offset, every, times, business=business, country=country)
            out += [(on, j, k) for k, on in enumerate(dates)]
        out.sort()
        if memo is not None and static:
            memo[key] = out
    return out, position_of(out, inv.id, history, plan)


def position_of(
    steps: list[tuple[date, int, int]], invoice_id: int, history: History, plan: Plan
) -> int:
    """The index in ``steps`` of the invoice's last step sent (-1: none)."""
    if invoice_id not in history.invoice_last:
        return -1
    counts = history.invoice_counts
    for i in range(len(steps) - 1, -1, -1):
        _on, j, k = steps[i]
        if plan[j][2] != _LAST and k < counts.get((invoice_id, plan[j][1]), 0):
            return i
    return -1


def due_step(
    cycle: CompiledCycle, inv: Invoice, c: Customer, history: History, day: date,
    plan: Plan | None = None, memo: dict[Any, list[tuple[date, int, int]]] | None = None,
) -> tuple[Step | None, list[tuple[date, int, int]]]:  # fmt: skip
    """(the invoice's due step or None, the due steps it overtakes as (date, reminder,
    occurrence))."""
    steps, position = steps_of(cycle, inv, c, history, day, plan, memo)
    end = bisect_right(steps, (day, _LATE, _LATE))
    if end <= position + 1:
        return None, []
    on, j, k = steps[end - 1]
    return Step(j, k, on), steps[position + 1 : end - 1]


def decide(
    cycles: Sequence[CompiledCycle],
    c: Customer,
    invoices: Sequence[Invoice],
    history: Mapping[int, History],
    settings: Settings,
    day: date,
    memo: dict[Any, Any] | None = None,
) -> Outcome:
    """The customer's outcome on ``day`` (before the daily cap and recipients). ``memo``:
    one dict per run, shared by the customers (the steps of common dates)."""
    cycle = next((k for k in cycles if k.customers(c.id)), None)
    if cycle is None:
        return Outcome(c.id, Action.NOTHING, note="in no cycle")
    hist = history[cycle.id]
    paused = _pause(c, day, settings)
    if paused:
        return Outcome(c.id, Action.PAUSED, cycle, note=paused)
    reminders = cycle.cycle.reminders
    plan = memo.get(("plan", cycle.id)) if memo is not None else None
    if plan is None:
        plan = _plan(cycle)
        if memo is not None:
            memo[("plan", cycle.id)] = plan
    due: dict[int, list[tuple[Invoice, Step]]] = {}
    held: list[str] = []
    overtaken_of: dict[int, list[tuple[date, int, int]]] = {}
    in_cycle = cycle.invoices
    first: dict[int, date] = {}
    static, uses_doc, uses_p2p, uses_business = _traits(plan)
    # The common case: steps that depend on the due date alone (and the country, for
    # business days): one list per distinct due date, shared by every invoice of the run.
    by_due: dict[date, list[tuple[date, int, int]]] | None = None
    if memo is not None and static and not uses_doc and not uses_p2p and not cycle.filtered:
        by_due = memo.setdefault(("due", cycle.id, c.country if uses_business else None), {})
    sent_before = hist.invoice_last
    for inv in invoices:
        if inv.balance_minor <= 0 or inv.disputed or not in_cycle(inv.id):
            continue  # paid, fully credited, disputed: stopped
        if inv.promised_until is not None and inv.promised_until >= day:
            held.append(f"{inv.number}: promised until {inv.promised_until}")
            continue
        if by_due is not None:
            steps = by_due.get(inv.due_date)
            if steps is None:
                steps = by_due[inv.due_date] = steps_of(cycle, inv, c, hist, day, plan, memo)[0]
            position = -1 if inv.id not in sent_before else position_of(steps, inv.id, hist, plan)
        else:
            steps, position = steps_of(cycle, inv, c, hist, day, plan, memo)
        end = bisect_right(steps, (day, _LATE, _LATE))
        if end <= position + 1:
            continue  # nothing due (yet, or any more)
        on, j, k = steps[end - 1]
        if end - 1 > position + 1:
            overtaken_of[inv.id] = steps[position + 1 : end - 1]
        pair = (inv, Step(j, k, on))
        if j in due:
            due[j].append(pair)
            if on < first[j]:
                first[j] = on
        else:
            due[j], first[j] = [pair], on
    if not due:
        return Outcome(c.id, Action.NOTHING, cycle, note="no reminder due", held=held)
    if len(due) == 1:
        (j,) = due
    else:
        j = min(due, key=lambda k: (first[k], -k))
        held += [f"{reminders[k].name}: waits for a later run" for k in due if k != j]
    chosen = due[j]
    if len(chosen) > 1:
        chosen.sort(key=lambda x: (x[1].on, x[0].due_date, x[0].id))
    reminder = reminders[j]
    outcome = Outcome(
        c.id, Action.EMAIL, cycle, reminder, hist.customer_counts.get((c.id, reminder.name), 0) + 1,
        first[j], chosen,
        held=held, overtaken=overtaken_of, customer=c,
    )  # fmt: skip
    last = hist.customer_last.get(c.id)
    if c.last_email_at is not None:
        emailed = c.last_email_at.date()
        last = emailed if last is None or emailed > last else last
    if (
        last is not None
        and settings.quiet_days
        and day < last + timedelta(days=settings.quiet_days)
    ):
        outcome.action = Action.WAIT
        outcome.note = (f"quiet days: the last email was on {last}; "
                        f"next possible on {last + timedelta(days=settings.quiet_days)}")  # fmt: skip
    return outcome


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
