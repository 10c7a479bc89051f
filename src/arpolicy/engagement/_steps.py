"""Part of the policy room (pure): an invoice's steps in a cycle, where it stands in them,
and which step is due on a day.

Per invoice, the cycle's reminders give a sequence of steps (reminder, occurrence, date),
ordered by date. Every step on or before the invoice's last email in the cycle was sent or
overtaken that day; the invoice's due step is the latest step after that position whose
date has come. A repeat's occurrence is thus computed from the day (the latest one whose
date has come), never from a count of emails: an occurrence overtaken by a later one is
skipped, never replayed, and a step held back by quiet days or a pause goes out late
without the count catching up. The number of emails of each reminder that listed the
invoice still counts (a change of facts that moves dates later repeats no occurrence).

A step keeps the meaning its date gives it: one dated before the invoice's due date is for
before it, one of a ``due_date`` reminder with ``offset_days: 0`` is for the due date
itself. Held back past that moment, it is not sent late: :func:`lost_meaning` says why.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from arpolicy.engagement._calendar import add_days, step_dates
from arpolicy.engagement._facts import CompiledCycle, Customer, History, Invoice, Step
from arpolicy.engagement.config import Anchor

_ANCHORS = {a: i for i, a in enumerate(Anchor)}
DUE, DOC, P2P, LAST, ENTRY = range(5)
LATE = 1 << 30
_ALL_TRUE = [(True,) * n for n in range(64)]

PlanRow = tuple[int, str, int, int, int | None, int | None, bool]
"""A reminder as a plain tuple: (index, name, anchor, offset, every, times, business);
times None: an open-ended repeat."""
Plan = list[PlanRow]
Steps = list[tuple[date, int, int]]
"""(date, reminder index, occurrence), in order."""


def plan_of(cycle: CompiledCycle) -> Plan:
    """The reminders as plain tuples: the loop below runs for every open invoice."""
    return [
        (
            j,
            r.name,
            _ANCHORS[r.anchor],
            r.offset_days,
            r.repeat.every_days if r.repeat else None,
            r.times,
            r.business_days,
        )
        for j, r in enumerate(cycle.cycle.reminders)
    ]


@lru_cache(maxsize=256)
def _traits_of(plan: tuple[PlanRow, ...]) -> tuple[bool, bool, bool, bool]:
    anchors = {p[2] for p in plan}
    return (anchors <= {DUE, DOC, P2P}, DOC in anchors, P2P in anchors, any(p[6] for p in plan))


def traits(plan: Plan) -> tuple[bool, bool, bool, bool]:
    """(every step depends on the invoice's dates only, uses the document date, uses a
    promise date, counts business days)."""
    return _traits_of(tuple(plan))


def _dates(base: date | None, row: PlanRow, day: date, country: str | None) -> tuple[date, ...]:
    """The dates of a reminder's occurrences from ``base``; an open-ended repeat's up to
    ``day`` (the later ones do not matter yet)."""
    _j, _name, _anchor, offset, every, times, business = row
    if base is None:
        return ()
    if times is None and every is not None:
        first = add_days(base, offset, business=business, country=country)
        # business days are at least as far apart as calendar days: an upper bound
        times = max((day - first).days // every + 1, 1)
    return step_dates(
        base, offset, every, 1 if times is None else times, business=business, country=country
    )


def steps_of(
    cycle: CompiledCycle,
    inv: Invoice,
    c: Customer,
    history: History,
    day: date,
    plan: Plan | None = None,
    memo: dict[Any, Steps] | None = None,
) -> tuple[Steps, int]:
    """Every step of ``inv`` in the cycle whose date is known, in order; and the position
    of the last one sent or overtaken (-1: none).

    Steps anchored on the invoice's own dates depend only on those dates, the reminders
    that apply and (for business days) the country, so ``memo`` shares them between the
    invoices of a run (a tenant has a few hundred distinct due dates)."""
    plan = plan or plan_of(cycle)
    oks: list[Callable[[int], bool]] = list(cycle.reminder_ok)
    mask = tuple(f(inv.id) for f in oks) if cycle.filtered else _ALL_TRUE[len(oks)]
    static, uses_doc, uses_p2p, uses_business = traits(plan)
    p2p = inv.broken_promise_on or c.broken_promise_on
    key = (
        cycle.id,
        mask,
        inv.due_date,
        inv.document_date if uses_doc else None,
        p2p if uses_p2p else None,
        c.country if uses_business else None,
    )
    out = memo.get(key) if (memo is not None and static) else None
    if out is None:
        out = []
        for row, ok in zip(plan, mask, strict=True):
            if not ok:
                continue
            j, name, anchor_code, offset, _every, times, business = row
            country = c.country if business else None
            if anchor_code == LAST:  # only the next occurrence is known: from the last email
                anchor = history.invoice_last.get(inv.id)
                sent = history.invoice_counts.get((inv.id, name), 0)
                if (times is None or sent < times) and anchor is not None:
                    out += [
                        (on, j, sent)
                        for on in step_dates(
                            anchor, offset, None, 1, business=business, country=country
                        )
                    ]
                continue
            if anchor_code == DUE:
                base: date | None = inv.due_date
            elif anchor_code == DOC:
                base = inv.document_date
            elif anchor_code == P2P:
                base = p2p
            else:
                base = history.customer_first.get(c.id, day)
            out += [(on, j, k) for k, on in enumerate(_dates(base, row, day, country))]
        out.sort()
        if memo is not None and static:
            memo[key] = out
    return out, position_of(out, inv.id, history, plan)


def position_of(steps: Steps, invoice_id: int, history: History, plan: Plan) -> int:
    """The index in ``steps`` of the invoice's last step sent or overtaken (-1: none):
    every step on or before its last email (that email sent the latest of them), and any
    later one whose occurrence was already sent (facts that moved dates later)."""
    last = history.invoice_last.get(invoice_id)
    if last is None:
        return -1
    done = bisect_right(steps, (last, LATE, LATE)) - 1
    counts = history.invoice_counts
    for i in range(len(steps) - 1, done, -1):
        _on, j, k = steps[i]
        if plan[j][2] != LAST and k < counts.get((invoice_id, plan[j][1]), 0):
            return i
    return done


def lost_meaning(row: PlanRow, due_date: date, on: date, day: date) -> str | None:
    """Why a step of ``on``, sent on ``day``, would no longer say what it was for (None:
    it still does): a step before the due date once the invoice is due, a due-date step
    after its day."""
    if on < due_date <= day:
        return (
            f"its step of {on} was for before the due date, and the invoice is due "
            f"since {due_date}: not sent late"
        )
    if row[2] == DUE and row[3] == 0 and on < day:
        return f"its step of {on} was for the due date: no longer due today, not sent late"
    return None


@dataclass
class Found:
    """A customer's invoices on a day: the due steps by reminder, and the held, the
    overtaken and the dropped."""

    due: dict[int, list[tuple[Invoice, Step]]] = field(default_factory=dict)
    held: list[str] = field(default_factory=list)
    overtaken: dict[int, Steps] = field(default_factory=dict)
    dropped: list[tuple[Invoice, Step, str]] = field(default_factory=list)


def due_steps(
    cycle: CompiledCycle,
    c: Customer,
    invoices: Sequence[Invoice],
    hist: History,
    day: date,
    plan: Plan,
    memo: dict[Any, Any] | None,
) -> Found:
    """Each invoice's due step, by reminder; the held, overtaken and dropped."""
    out = Found()
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
