"""Engagement against the database: load a day's snapshot, decide it (the pure
:func:`~arpolicy.engagement.policy.decide_day`), then act on the decision: compose each
email (``_compose``: recipients, sender, rendering) and write the emails with their outbox
rows, the tasks and the audit events in the caller's transaction. The service never
commits; the worker sends the emails after the commit.

A run is idempotent: what a customer is due comes from what was already sent, and each
email's key (cycle, reminder, customer, occurrence) is unique, so two runs of one day (two
workers, a scheduler and a person) write each email once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from arpolicy.audit import Actor
from arpolicy.audit import record as audit_record
from arpolicy.engagement import repository as repo
from arpolicy.engagement._compose import compose, message_id
from arpolicy.engagement.policy import (
    Action,
    CompiledCycle,
    DayDecision,
    DaySnapshot,
    History,
    Invoice,
    Outcome,
    day_bounds,
    decide_day,
    describe,
    email_key,
    task_key,
)
from arpolicy.exceptions import NotFoundError
from arpolicy.kit.gcpause import paused_gc
from arpolicy.models import CycleStatus, EmailMode, Tenant

__all__ = [
    "RUN_STATUSES",
    "RunReport",
    "day_bounds",
    "email_key",
    "load_day",
    "message_id",
    "mode_of",
    "run",
    "stored_cycles",
    "task_key",
]

RUN_STATUSES = (CycleStatus.LIVE, CycleStatus.TEST)
MAX_LISTED = 2_000
"""A report lists at most this many outcomes (the counts cover all)."""


@dataclass
class RunReport:
    as_of: date
    dry_run: bool
    cycles: list[str]
    customers: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    per_cycle: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    emails: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    held: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    """Due steps dropped past their meaning (not sent), with the reason."""
    written: int = 0
    """Emails written by this run (0 in a dry run; fewer than decided when another run
    wrote some of them first)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "cycles": self.cycles,
            "customers": self.customers,
            "counts": dict(self.counts),
            "per_cycle": {k: dict(v) for k, v in self.per_cycle.items()},
            "written": self.written,
            "emails": self.emails,
            "tasks": self.tasks,
            "held": self.held,
            "skipped": self.skipped,
        }


@paused_gc()
def run(
    session: Session,
    tenant: Tenant,
    actor: Actor,
    *,
    as_of: date,
    now: datetime,
    dry_run: bool = False,
    cycles: Sequence[str] | None = None,
    customer_ids: Sequence[int] | None = None,
    include_drafts: bool = False,
) -> RunReport:
    """Decide what every customer is due on ``as_of`` and (unless ``dry_run``) write it."""
    statuses = None if (include_drafts or cycles) else RUN_STATUSES
    stored = stored_cycles(session, tenant, statuses, cycles)
    report = RunReport(as_of, dry_run, [s.cycle.name for s in stored])
    if not stored:
        return report
    if not dry_run:
        repo.serialize_runs(session, tenant)
    settings = repo.settings_of(session, tenant)
    compiled = repo.compile_cycles(session, tenant, stored, as_of)
    modes = {s.row.id: mode_of(s.row.status) for s in stored}
    snapshot = load_day(session, tenant, compiled, modes, as_of, now, customer_ids)
    decision = decide_day(snapshot, settings, as_of)
    _count(report, decision)
    planned, tasks = compose(session, tenant, decision, settings, modes, now)
    for p in planned[:MAX_LISTED]:
        report.emails.append(
            describe(p.outcome)
            | {
                "key": p.key,
                "to": p.to,
                "cc": p.cc,
                "subject": p.subject,
                "language": p.language,
                "send_after": p.send_after.isoformat(),
                "mode": p.mode.value,
                "external_id": p.customer_external_id,
            }
        )
    report.tasks = [
        {k: (v.isoformat() if isinstance(v, date) else v) for k, v in t.items()}
        for t in tasks[:MAX_LISTED]
    ]
    report.skipped = dropped_steps(decision.outcomes, MAX_LISTED)
    if not dry_run:
        report.written = repo.write(session, tenant, actor, planned, tasks, now)
        _record_dropped(session, tenant, actor, decision.outcomes, modes, now)
    return report


def stored_cycles(
    session: Session,
    tenant: Tenant,
    statuses: Sequence[CycleStatus] | None,
    names: Sequence[str] | None,
) -> list[repo.StoredCycle]:
    """The cycles a run (or forecast) takes: the named ones (each must exist), else those
    of ``statuses`` (None: all)."""
    stored = repo.stored_cycles(session, tenant, statuses if not names else None, names)
    missing = set(names or ()) - {s.cycle.name for s in stored}
    if missing:
        raise NotFoundError(
            f"no cycle named {sorted(missing)[0]!r}", fix="list cycles with arpolicy engage cycles"
        )
    return stored


def load_day(
    session: Session,
    tenant: Tenant,
    compiled: Sequence[CompiledCycle],
    modes: Mapping[int, EmailMode],
    day: date,
    now: datetime,
    customer_ids: Sequence[int] | None = None,
    *,
    histories: Mapping[int, History] | None = None,
    invoices: Mapping[int, list[Invoice]] | None = None,
    as_of_balances: bool = False,
    sent_today: int | None = None,
) -> DaySnapshot:
    """The snapshot :func:`~arpolicy.engagement.policy.decide_day` decides ``day`` from.
    A forecast or backtest hands in its own ``histories`` (simulated), the ``invoices``
    it has read (a past day's balances) and ``sent_today`` (its own days start empty);
    otherwise they are read: the history of each cycle in its mode, today's open
    invoices, the emails decided earlier on ``day``."""
    if invoices is None:
        invoices = repo.open_invoices(
            session, tenant, day, customer_ids, as_of_balances=as_of_balances
        )
    people = repo.customers(session, tenant, invoices.keys(), day, now)
    if histories is None:
        open_ids = {inv.id for items in invoices.values() for inv in items}
        read: dict[int, History] = {}
        for mode in set(modes.values()):
            ids = [c.id for c in compiled if modes[c.id] == mode]
            read.update(repo.history(session, tenant, ids, mode, open_ids=open_ids))
        histories = read
    if sent_today is None:
        sent_today = repo.emails_decided(session, tenant, *day_bounds(tenant.timezone, day))
    in_a_cycle = [cid for cid in invoices if any(k.customers(cid) for k in compiled)]
    reachable = repo.reachable(session, tenant, in_a_cycle)
    return DaySnapshot(compiled, people, invoices, histories, reachable, sent_today)


def _count(report: RunReport, decision: DayDecision) -> None:
    """The counts per action (and cycle), the customers, and what waits or is paused."""
    report.customers = len({o.customer_id for o in decision.outcomes})
    for o in decision.outcomes:
        report.counts[o.action.value] += 1
        if o.cycle is not None:
            report.per_cycle[o.cycle.cycle.name][o.action.value] += 1
        if o.action in (Action.WAIT, Action.PAUSED) and len(report.held) < MAX_LISTED:
            report.held.append(describe(o))


def mode_of(status: CycleStatus) -> EmailMode:
    """The emails of a cycle in test are test emails (to the internal test address)."""
    return EmailMode.TEST if status == CycleStatus.TEST else EmailMode.LIVE


# --- steps dropped past their meaning --------------------------------------------------------


def dropped_steps(outcomes: Sequence[Outcome], limit: int) -> list[dict[str, Any]]:
    """The steps dropped past their meaning (a before-due reminder once the invoice is
    due, a due-date reminder after its day), as the run's report lists them while due."""
    out: list[dict[str, Any]] = []
    for o in outcomes:
        if not o.dropped or o.cycle is None:
            continue
        names = [r.name for r in o.cycle.cycle.reminders]
        for inv, step, why in o.dropped:
            if len(out) >= limit:
                return out
            overtaken = [f"{names[j]} of {on}" for on, j, _k in o.overtaken.get(inv.id, ())]
            out.append(
                {
                    "customer_id": o.customer_id,
                    "cycle": o.cycle.cycle.name,
                    "invoice": inv.number,
                    "reminder": names[step.reminder],
                    "step": step.on.isoformat(),
                    "reason": why,
                    "overtaken": overtaken,
                }
            )
    return out


def _record_dropped(
    session: Session,
    tenant: Tenant,
    actor: Actor,
    outcomes: Sequence[Outcome],
    modes: Mapping[int, EmailMode],
    now: datetime,
) -> int:
    """An audit event (``engagement.step_dropped`` on the document) per dropped step that
    no real run recorded before; how many were new."""
    items: dict[str, tuple[Outcome, Any, Any, str]] = {}
    for o in outcomes:
        for inv, step, why in o.dropped:
            assert o.cycle is not None
            name = o.cycle.cycle.reminders[step.reminder].name
            key = f"{o.cycle.id}:{modes[o.cycle.id].value}:{name}:{inv.id}:{step.on.isoformat()}"
            items[key] = (o, inv, step, why)
    if not items:
        return 0
    ids = sorted({str(inv.id) for _o, inv, _s, _w in items.values()})
    seen = repo.dropped_keys(session, tenant, ids)
    new = [(key, v) for key, v in items.items() if key not in seen]
    for key, (o, inv, step, why) in new:
        assert o.cycle is not None
        name = o.cycle.cycle.reminders[step.reminder].name
        after = {
            "key": key,
            "cycle": o.cycle.cycle.name,
            "reminder": name,
            "step": step.on.isoformat(),
            "customer_id": o.customer_id,
        }
        reason = f"{inv.number}: {name} dropped: {why}"
        audit_record(
            session, actor, repo.DROPPED, "document", inv.id, at=now, after=after, reason=reason
        )
    return len(new)
