"""Where one customer stands in the reminder cycles (the customer sheet): the cycle it is
in, what today's run decides for it and why (a pause, a promise, a reminder due), and the
next reminder if nothing changes. The same decision as the run (``decide_customer`` on
the day's snapshot of that customer), nothing written.

Also the members of a cycle, for the customer list's ``cycle`` filter: a customer is in
the first live or test cycle whose customer and payment rules it matches, as the run
takes it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from arpolicy.engagement import repository as repo
from arpolicy.engagement._selection import Selector
from arpolicy.engagement.pauses import live_pause
from arpolicy.engagement.policy import Action, decide_customer
from arpolicy.engagement.service import RUN_STATUSES, load_day, mode_of, stored_cycles
from arpolicy.exceptions import ValidationError
from arpolicy.ledger.selection import records
from arpolicy.models import ReminderPause, Tenant
from arpolicy.rules import to_python
from arpolicy.rules.ast import DecisionTable
from arpolicy.rules.catalogue import Level

LOOK_AHEAD_DAYS = 14


class OneCustomer(Selector):
    """The cycles' rules judged for one customer and its open documents only: in Python
    (``to_python``) on the records the SQL selection reads (``records``), which the rule
    language tests to agree with the SQL. Running them over the whole tenant, as the run
    does, costs seconds at 100,000 customers; a sheet needs one customer."""

    def __init__(
        self, session: Session, tenant: Tenant, day: date, customer_id: int, documents: list[int]
    ) -> None:
        super().__init__(session, tenant, day)
        self.customer_id, self.documents = customer_id, sorted(documents)

    def matching(self, level: Level, bound: Any, fields: Any) -> Iterable[int]:
        if isinstance(bound.rule, DecisionTable):
            return super().matching(level, bound, fields)
        wanted = self.documents if level is Level.INVOICE else [self.customer_id]
        matches = to_python(bound, fields)
        found = records(self.session, self.tenant, fields, self.day, wanted) if wanted else []
        return [i for i, record in found if matches(record)]


@dataclass(frozen=True)
class CustomerReminders:
    cycle: str | None
    """The cycle the customer is in (None: in none)."""
    action: str
    """Today's decision: email, task, wait, paused or nothing."""
    reason: str
    next_reminder: str | None = None
    next_on: date | None = None
    """The next reminder if nothing changes (within LOOK_AHEAD_DAYS)."""
    pause: ReminderPause | None = None
    """A live by-hand pause (with its reason, who and when)."""

    @property
    def paused(self) -> bool:
        return self.action == Action.PAUSED.value or self.pause is not None


def customer_reminders(
    session: Session, tenant: Tenant, customer_id: int, day: date, now: datetime
) -> CustomerReminders:
    pause = live_pause(session, tenant.id, customer_id)
    stored = stored_cycles(session, tenant, RUN_STATUSES, None)
    if not stored:
        return CustomerReminders(None, Action.NOTHING.value, "no live cycle", pause=pause)
    settings = repo.settings_of(session, tenant)
    open_now = repo.open_invoices(session, tenant, day, [customer_id])
    mine = [inv.id for inv in open_now.get(customer_id, [])]
    one = OneCustomer(session, tenant, day, customer_id, mine)
    compiled = repo.compile_cycles(session, tenant, stored, day, one)
    cycle = next((k for k in compiled if k.customers(customer_id)), None)
    name = cycle.cycle.name if cycle else None
    modes = {s.row.id: mode_of(s.row.status) for s in stored}
    snap = load_day(session, tenant, compiled, modes, day, now, [customer_id], invoices=open_now)
    facts = snap.customers.get(customer_id)
    if facts is None:
        return CustomerReminders(name, Action.NOTHING.value, "nothing open to remind", pause=pause)
    invoices = snap.invoices[customer_id]
    today = decide_customer(compiled, facts, invoices, snap.history, settings, day)[0]
    if cycle is None:
        return CustomerReminders(None, today.action.value, today.note or "in no cycle", pause=pause)
    for k in range(LOOK_AHEAD_DAYS + 1):
        on = day + timedelta(days=k)
        first = decide_customer(compiled, facts, invoices, snap.history, settings, on)[0]
        if first.action is Action.EMAIL and first.reminder is not None:
            return CustomerReminders(
                name, today.action.value, today.reason, first.reminder.name, on, pause
            )
    return CustomerReminders(name, today.action.value, today.reason, pause=pause)


@dataclass(frozen=True)
class Members:
    """The customers of a cycle: in ``include`` (None: any) and not in ``exclude``."""

    include: set[int] | None
    exclude: set[int]


def cycle_members(session: Session, tenant: Tenant, name: str, day: date) -> Members:
    """The customers in the live or test cycle ``name`` on ``day`` (a validation error
    located at ``cycle`` when no such cycle runs)."""
    stored = stored_cycles(session, tenant, RUN_STATUSES, None)
    sel = Selector(session, tenant, day)
    earlier: set[int] | None = set()  # None: an earlier cycle took everyone
    for s in stored:
        c = s.cycle
        if earlier is None:
            if c.name == name:
                return Members(set(), set())
            continue
        customers, payment = sel.ids(Level.CUSTOMER, c.customer), sel.ids(Level.PAYMENT, c.payment)
        both = customers if payment is None else customers & payment if customers else payment
        if c.name == name:
            return Members(None if both is None else both - earlier, earlier)
        earlier = None if both is None else earlier | both
    raise ValidationError(
        f"no live or test cycle named {name!r}",
        where="cycle",
        fix="choose a cycle from the list (the Reminders screen lists them)",
    )
