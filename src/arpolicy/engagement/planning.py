"""Forecast (the next N days) and backtest (a past period): the decision replayed day by
day with a simulated history, writing nothing.

A forecast starts from the real history and today's ledger and assumes nothing is paid
meanwhile. It shows each email on the day it will be sent (the first opening of its send
window, as the run writes it: a day of the window, in the customer's zone), and the
tasks (customers with nobody to email) apart, once per step, on the day they are created. A backtest starts from an empty history and takes each day's balances from the
ledger (the documents issued by then, less the allocations made by then); the invoice
rules see those balances (``balance``, ``paid``), every other field (and the customer and
payment rules) today's figures, so a rule on something else that changed since (a
dispute, a customer's outstanding) is judged on today's value.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from arpolicy.engagement import facts
from arpolicy.engagement.decide import Action, History
from arpolicy.engagement.schedule import window_opening
from arpolicy.engagement.service import _mode, day_bounds, decide_all, settings_of, task_key
from arpolicy.exceptions import NotFoundError
from arpolicy.kit.clock import zone
from arpolicy.kit.gcpause import paused_gc
from arpolicy.kit.money import Money
from arpolicy.ledger.selection import invoice_records
from arpolicy.models import CycleStatus, Tenant
from arpolicy.models.engagement import EmailMode
from arpolicy.rules import to_python

MAX_DAYS = 366
MAX_LISTED = 2_000


class PastSelector(facts.Selector):
    """For backtests: invoice rules judged on each day's balances. The rule runs in Python
    over the invoices open that day (``open_on``: id -> balance in minor units), with
    ``balance`` and ``paid`` as they were; every other field reads today's ledger."""

    def __init__(
        self, session: Session, tenant: Tenant, day: date, open_on: dict[int, tuple[int, str]]
    ) -> None:
        super().__init__(session, tenant, day)
        self.open_on = open_on

    def invoices(self, bound: Any, fields: Any) -> Iterable[int]:
        matches = to_python(bound, fields)
        out = []
        for i, record in invoice_records(
            self.session, self.tenant, fields, self.day, sorted(self.open_on)
        ):
            minor, currency = self.open_on[i]
            if "balance" in record:
                record["balance"] = Money.from_minor(minor, currency)
            if "paid" in record:
                record["paid"] = minor == 0
            if matches(record):
                out.append(i)
        return out


@paused_gc()
def _replay(
    session: Session, tenant: Tenant, days: Sequence[date], cycles: Sequence[str] | None,
    *, statuses: Any, real_history: bool, as_of_balances: bool, now: datetime | None,
) -> dict[str, Any]:  # fmt: skip
    stored = facts.stored_cycles(session, tenant, statuses if not cycles else None, cycles)
    if cycles:
        missing = set(cycles) - {s.cycle.name for s in stored}
        if missing:
            raise NotFoundError(f"no cycle named {sorted(missing)[0]!r}",
                                fix="list cycles with arpolicy engage cycles")  # fmt: skip
    settings = settings_of(session, tenant)
    modes = {s.row.id: _mode(s.row.status) for s in stored}
    if real_history:
        histories: dict[int, History] = {}
        for mode in set(modes.values()):
            histories.update(
                facts.history(session, tenant, [i for i, m in modes.items() if m == mode], mode)
            )
    else:
        histories = {s.row.id: History() for s in stored}
        modes = dict.fromkeys(modes, EmailMode.LIVE)
    histories = copy.deepcopy(histories)
    days_out = {d: _Day(d) for d in days}
    later = _Day(days[-1])  # decided in the period, sent after it
    emails: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    task_keys: set[str] = set()
    for day in days:
        selector, past = None, None
        if as_of_balances:  # the invoice rules see the balances of that day
            past = facts.open_invoices(session, tenant, day, as_of_balances=True)
            open_on = {
                i.id: (i.balance_minor, i.currency) for items in past.values() for i in items
            }
            selector = PastSelector(session, tenant, day, open_on)
        compiled = facts.compile_cycles(session, tenant, stored, day, selector)
        at = (
            now
            if now is not None and day == days[0]
            else datetime.combine(day, time(12), tzinfo=UTC)
        )
        outcomes = decide_all(session, tenant, compiled, modes, settings, day, at,
                              histories=histories, as_of_balances=as_of_balances,
                              invoices=past)  # fmt: skip
        due = sorted((o for o in outcomes if o.action is Action.EMAIL),
                     key=lambda o: (o.due_on or day, o.customer_id))[: settings.daily_cap]  # fmt: skip
        book = facts.addresses(session, tenant, [o.customer_id for o in due])
        start = day_bounds(tenant, day)[0]
        not_before = max(now, start) if now is not None else start
        unreachable = [o for o in due if not _reachable(book.get(o.customer_id, []))]
        keys = {id(o): task_key(o, modes[o.cycle.id]) for o in unreachable if o.cycle is not None}
        if real_history:  # tasks the real runs already created are not forecast again
            task_keys |= facts.task_keys(session, tenant, list(keys.values()))
        for o in due:
            assert o.cycle is not None and o.reminder is not None and o.customer is not None
            name = o.cycle.cycle.name
            if id(o) in keys:  # nobody to email: a task for the finance owner, once per step
                if keys[id(o)] not in task_keys:
                    task_keys.add(keys[id(o)])
                    days_out[day].tasks[name] += 1
                    tasks.append({"day": day.isoformat(), "customer_id": o.customer_id,
                                  "cycle": name, "reminder": o.reminder.name, "reason": o.reason})  # fmt: skip
                continue
            names = [r.name for r in o.cycle.cycle.reminders]
            histories[o.cycle.id].add(o.customer_id, o.reminder.name, day,
                                      [(inv.id, names[s.reminder]) for inv, s in o.invoices])  # fmt: skip
            where = o.customer.timezone or tenant.timezone
            send_at, _ = window_opening(o.cycle.cycle.send_window, where, not_before, day)
            sent_on = send_at.astimezone(zone(where)).date()  # the window's day, not a weekend
            days_out.get(sent_on, later).emails[name] += 1
            emails.append({"day": sent_on.isoformat(), "decided_on": day.isoformat(),
                           "send_after": send_at.isoformat(), "customer_id": o.customer_id,
                           "cycle": name, "reminder": o.reminder.name, "occurrence": o.occurrence,
                           "invoices": [inv.number for inv, _ in o.invoices], "reason": o.reason})  # fmt: skip
    emails.sort(key=lambda e: (e["day"], e["decided_on"], e["customer_id"]))
    out_days = [d.to_json() for d in days_out.values()]
    return {"from": days[0].isoformat(), "to": days[-1].isoformat(),
            "cycles": [s.cycle.name for s in stored],
            "total": sum(d["emails"] for d in out_days), "later": sum(later.emails.values()),
            "tasks_total": len(tasks), "days": out_days, "emails": emails[:MAX_LISTED],
            "tasks": tasks[:MAX_LISTED]}  # fmt: skip


@dataclass
class _Day:
    day: date
    emails: Counter[str] = field(default_factory=Counter)
    """Emails sent that day (their send window's opening), per cycle."""
    tasks: Counter[str] = field(default_factory=Counter)
    """Tasks created that day (customers with nobody to email), per cycle."""

    def to_json(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "emails": sum(self.emails.values()),
                "per_cycle": dict(self.emails), "tasks": sum(self.tasks.values()),
                "tasks_per_cycle": dict(self.tasks)}  # fmt: skip


def _reachable(book: Sequence[facts.Address]) -> bool:
    """Someone to email: a billing contact, or else the primary one (as a run decides)."""
    return any(a.billing or a.primary for a in book)


def forecast(
    session: Session, tenant: Tenant, *, start: date, days: int, now: datetime,
    cycles: Sequence[str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """What the live and test cycles (or the named ones) will send from ``start`` on for
    ``days`` days, if nothing is paid meanwhile."""
    days = max(1, min(days, MAX_DAYS))
    span = [start + timedelta(days=k) for k in range(days)]
    return _replay(session, tenant, span, cycles, statuses=(CycleStatus.LIVE, CycleStatus.TEST),
                   real_history=True, as_of_balances=False, now=now)  # fmt: skip


def backtest(
    session: Session, tenant: Tenant, *, start: date, end: date, cycles: Sequence[str] | None = None
) -> dict[str, Any]:
    """What the cycles (all of them, drafts included, or the named ones) would have sent
    from ``start`` to ``end``."""
    n = min((end - start).days + 1, MAX_DAYS)
    span = [start + timedelta(days=k) for k in range(max(n, 1))]
    return _replay(session, tenant, span, cycles, statuses=None, real_history=False,
                   as_of_balances=True, now=None)  # fmt: skip
