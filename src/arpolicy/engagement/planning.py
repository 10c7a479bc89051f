"""Forecast (the next N days) and backtest (a past period): the decision replayed day by
day with a simulated history, writing nothing.

A forecast starts from the real history and today's ledger and assumes nothing is paid
meanwhile. A backtest starts from an empty history and takes each day's balances from the
ledger (the documents issued by then, less the allocations made by then); the invoice
rules see those balances (``balance``, ``paid``), every other field (and the customer and
payment rules) today's figures, so a rule on something else that changed since (a
dispute, a customer's outstanding) is judged on today's value.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from arpolicy.engagement import facts
from arpolicy.engagement.decide import Action, History
from arpolicy.engagement.service import _mode, decide_all, settings_of
from arpolicy.exceptions import NotFoundError
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
    out_days: list[dict[str, Any]] = []
    listed: list[dict[str, Any]] = []
    total = 0
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
        per_cycle: Counter[str] = Counter()
        for o in due:
            assert o.cycle is not None and o.reminder is not None
            histories[o.cycle.id].add(
                o.customer_id, o.reminder.name, day, [inv.id for inv, _ in o.invoices]
            )
            per_cycle[o.cycle.cycle.name] += 1
            if len(listed) < MAX_LISTED:
                listed.append({"day": day.isoformat(), "customer_id": o.customer_id,
                               "cycle": o.cycle.cycle.name, "reminder": o.reminder.name,
                               "occurrence": o.occurrence,
                               "invoices": [inv.number for inv, _ in o.invoices], "reason": o.reason})  # fmt: skip
        total += len(due)
        out_days.append({"day": day.isoformat(), "emails": len(due), "per_cycle": dict(per_cycle)})
    return {"from": days[0].isoformat(), "to": days[-1].isoformat(),
            "cycles": [s.cycle.name for s in stored], "total": total, "days": out_days,
            "emails": listed}  # fmt: skip


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
