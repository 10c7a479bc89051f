"""Part of the admin room: the forecast (the next N days) and the backtest (a past period),
each day decided by :func:`~arpolicy.engagement.policy.decide_day` exactly as a run
decides it (the daily cap, the task for a customer with nobody to email), with a simulated
history, writing nothing.

A forecast starts from the real history and today's ledger and assumes nothing is paid
meanwhile; its first day counts the emails the runs already decided that day against the
cap. It shows each email on the day it will be sent (the first opening of its send window,
as the run writes it: a day of the window, in the customer's zone), and the tasks
(customers with nobody to email) apart, once per step, on the day they are created,
leaving out those the runs already created. A backtest starts from an empty history and
takes each day's balances from the ledger (the documents issued by then, less the
allocations made by then); the invoice rules see those balances (``balance``, ``paid``),
every other field (and the customer and payment rules) today's figures, so a rule on
something else that changed since (a dispute, a customer's outstanding) is judged on
today's value.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from arpolicy.engagement import repository as repo
from arpolicy.engagement.policy import (
    History,
    Outcome,
    day_bounds,
    decide_day,
    task_key,
    window_opening,
)
from arpolicy.engagement.service import load_day, mode_of, stored_cycles
from arpolicy.kit.clock import zone
from arpolicy.kit.gcpause import paused_gc
from arpolicy.models import CycleStatus, EmailMode, Tenant

MAX_DAYS = 366
MAX_LISTED = 2_000


@dataclass
class _Day:
    day: date
    emails: Counter[str] = field(default_factory=Counter)
    """Emails sent that day (their send window's opening), per cycle."""
    tasks: Counter[str] = field(default_factory=Counter)
    """Tasks created that day (customers with nobody to email), per cycle."""

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "emails": sum(self.emails.values()),
            "per_cycle": dict(self.emails),
            "tasks": sum(self.tasks.values()),
            "tasks_per_cycle": dict(self.tasks),
        }


@dataclass
class _Replay:
    """What the replay has found so far, and the state it carries from day to day."""

    tenant: Tenant
    days: dict[date, _Day]
    later: _Day
    """Emails decided in the period and sent after it."""
    modes: dict[int, EmailMode]
    histories: dict[int, History]
    task_keys: set[str] = field(default_factory=set)
    emails: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)


@paused_gc()
def replay(
    session: Session,
    tenant: Tenant,
    days: Sequence[date],
    cycles: Sequence[str] | None,
    *,
    statuses: Sequence[CycleStatus] | None,
    now: datetime | None,
    real_history: bool,
) -> dict[str, Any]:
    """``days`` decided one after the other: a forecast (``real_history``: the real
    history and today's balances) or a backtest (an empty history and each day's
    balances)."""
    stored = stored_cycles(session, tenant, statuses, cycles)
    settings = repo.settings_of(session, tenant)
    modes = {s.row.id: mode_of(s.row.status) for s in stored}
    if real_history:
        histories: dict[int, History] = {}
        for mode in set(modes.values()):
            ids = [i for i, m in modes.items() if m == mode]
            histories.update(repo.history(session, tenant, ids, mode))
    else:
        histories = {s.row.id: History() for s in stored}
        modes = dict.fromkeys(modes, EmailMode.LIVE)
    by_day = {d: _Day(d) for d in days}
    state = _Replay(tenant, by_day, _Day(days[-1]), modes, copy.deepcopy(histories))
    for day in days:
        selector, past = None, None
        if not real_history:  # the invoice rules see the balances of that day
            past = repo.open_invoices(session, tenant, day, as_of_balances=True)
            open_on = {
                i.id: (i.balance_minor, i.currency) for items in past.values() for i in items
            }
            selector = repo.PastSelector(session, tenant, day, open_on)
        compiled = repo.compile_cycles(session, tenant, stored, day, selector)
        noon = datetime.combine(day, time(12), tzinfo=UTC)
        at = now if now is not None and day == days[0] else noon
        # the first day of a forecast counts what the runs decided that day already
        sent_today = None if real_history and day == days[0] else 0
        snapshot = load_day(
            session,
            tenant,
            compiled,
            modes,
            day,
            at,
            histories=state.histories,
            invoices=past,
            as_of_balances=not real_history,
            sent_today=sent_today,
        )
        decision = decide_day(snapshot, settings, day)
        if real_history:  # tasks the real runs already created are not forecast again
            keys = [task_key(o, modes[o.cycle.id]) for o in decision.tasks if o.cycle]
            state.task_keys |= repo.task_keys(session, tenant, keys)
        start = day_bounds(tenant.timezone, day)[0]
        not_before = max(now, start) if now is not None else start
        for o in decision.tasks:
            _task(state, o, day)
        for o in decision.emails:
            _email(state, o, day, not_before)
    state.emails.sort(key=lambda e: (e["day"], e["decided_on"], e["customer_id"]))
    out_days = [d.to_json() for d in state.days.values()]
    return {
        "from": days[0].isoformat(),
        "to": days[-1].isoformat(),
        "cycles": [s.cycle.name for s in stored],
        "total": sum(d["emails"] for d in out_days),
        "later": sum(state.later.emails.values()),
        "tasks_total": len(state.tasks),
        "days": out_days,
        "emails": state.emails[:MAX_LISTED],
        "tasks": state.tasks[:MAX_LISTED],
    }


def _task(state: _Replay, o: Outcome, day: date) -> None:
    """A task for the finance owner, once per step (nobody to email)."""
    assert o.cycle is not None and o.reminder is not None
    key = task_key(o, state.modes[o.cycle.id])
    if key in state.task_keys:
        return
    state.task_keys.add(key)
    name = o.cycle.cycle.name
    state.days[day].tasks[name] += 1
    state.tasks.append(
        {
            "day": day.isoformat(),
            "customer_id": o.customer_id,
            "cycle": name,
            "reminder": o.reminder.name,
            "reason": o.reason,
        }
    )


def _email(state: _Replay, o: Outcome, day: date, not_before: datetime) -> None:
    """The email into the history the next days decide from, counted on the day it is
    sent (the send window's next opening, a day of the window in the customer's zone)."""
    assert o.cycle is not None and o.reminder is not None and o.customer is not None
    name = o.cycle.cycle.name
    names = [r.name for r in o.cycle.cycle.reminders]
    listed = [(inv.id, names[s.reminder]) for inv, s in o.invoices]
    state.histories[o.cycle.id].add(o.customer_id, o.reminder.name, day, listed)
    where = o.customer.timezone or state.tenant.timezone
    send_at, _ = window_opening(o.cycle.cycle.send_window, where, not_before, day)
    sent_on = send_at.astimezone(zone(where)).date()  # the window's day, not a weekend
    state.days.get(sent_on, state.later).emails[name] += 1
    state.emails.append(
        {
            "day": sent_on.isoformat(),
            "decided_on": day.isoformat(),
            "send_after": send_at.isoformat(),
            "customer_id": o.customer_id,
            "cycle": name,
            "reminder": o.reminder.name,
            "occurrence": o.occurrence,
            "invoices": [inv.number for inv, _ in o.invoices],
            "reason": o.reason,
        }
    )
