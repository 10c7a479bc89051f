"""Owner assignment against the database: load the facts, decide, write the changes.

Everything happens in the caller's transaction (a request, an import, a CLI command, a
ledger hook): the owners, their provenance, the round-robin cursors, one audit event and
one ``customer.owner_changed`` webhook per change. A dry run decides the same way and
writes nothing. The service never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from arpolicy.audit import Actor, Entry, record_many
from arpolicy.kit.gcpause import paused_gc
from arpolicy.models import Tenant
from arpolicy.ownership import repository as repo
from arpolicy.ownership._snapshot import _load, _Loaded
from arpolicy.ownership.config import ROLES, parse_policy
from arpolicy.ownership.policy import Decision, decide_all
from arpolicy.rules import explain

EXPLAIN_LIMIT = 2_000
"""Runs changing more owners than this record the rule and policy version as the reason,
not each condition's value (replay them with ``arpolicy assign explain``): rendering the
explanation of 100,000 changes would take longer than deciding them."""
ALL_EXTERNALS = 30_000
"""Above this many decisions, read every customer's external id (cheaper than IN lists)."""


@dataclass
class Change:
    customer_id: int
    external_id: str
    role: str
    before: str | None
    after: str | None
    rule: str | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class RunReport:
    role: str
    policy_version: int | None
    dry_run: bool
    customers: int = 0
    kept: int = 0
    locked: int = 0
    changes: list[Change] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None
    decided: list[Change] = field(default_factory=list)
    """Every decision with its explanation (only when run with ``explain_all``)."""

    def to_json(self, limit: int | None = None) -> dict[str, Any]:
        changes = self.changes if limit is None else self.changes[:limit]
        return {
            "role": self.role,
            "policy_version": self.policy_version,
            "dry_run": self.dry_run,
            "customers": self.customers,
            "changed": len(self.changes),
            "kept": self.kept,
            "locked": self.locked,
            "gaps": self.gaps if limit is None else self.gaps[:limit],
            "gaps_total": len(self.gaps),
            "changes": [c.to_json() for c in changes],
            "note": self.note,
        }


def run_roles(
    session: Session,
    tenant: Tenant,
    actor: Actor,
    roles: Sequence[str],
    *,
    as_of: date,
    at: datetime,
    dry_run: bool = False,
    rebalance_pools: bool = False,
) -> list[RunReport]:
    """Run ``roles`` in order (sales before finance), as ``arpolicy assign run`` and
    ``POST /v1/assignment/runs`` do.

    A dry run reports exactly what the run would do. With one role it only reads. With
    several, a later role's rules may read the owner an earlier role assigns in the same
    run (a finance rule on ``sales_owner``), so the dry run makes the real run inside a
    savepoint and rolls it back: its writes, audit events and webhooks never commit. The
    session must then be a write transaction (SQLite takes its write lock at the start).
    """
    ordered = [r for r in ROLES if r in roles]
    kw: dict[str, Any] = {"as_of": as_of, "at": at, "rebalance_pools": rebalance_pools}
    if not dry_run or len(ordered) < 2:
        return [run(session, tenant, actor, role=r, dry_run=dry_run, **kw) for r in ordered]
    savepoint = session.begin_nested()
    try:
        reports = [run(session, tenant, actor, role=r, **kw) for r in ordered]
    finally:
        savepoint.rollback()
    for report in reports:
        report.dry_run = True
    return reports


def assign_customers(
    session: Session,
    tenant: Tenant,
    actor: Actor,
    customer_ids: Sequence[int],
    *,
    as_of: date,
    at: datetime,
    roles: Sequence[str] = ROLES,
) -> list[RunReport]:
    """The live policies of ``roles`` for these customers: the hook run when customers are
    created or updated, in the same transaction."""
    return [
        run(session, tenant, actor, role=r, as_of=as_of, at=at, customer_ids=customer_ids)
        for r in ROLES
        if r in roles
    ]


def assign_all(
    session: Session, tenant: Tenant, actor: Actor, *, as_of: date, at: datetime
) -> list[RunReport]:
    """Both roles for every customer (after a bulk import)."""
    return run_roles(session, tenant, actor, ROLES, as_of=as_of, at=at)


def after_import(
    session: Session,
    tenant: Tenant,
    actor: Actor,
    *,
    inserted: int,
    updated: int,
    as_of: date,
    at: datetime,
) -> list[dict[str, Any]]:
    """After customers are imported, the live policies run over every customer (owners are
    sticky: only new customers and those whose matching rule changed move). The summary of
    each role that has a live policy."""
    if not (inserted or updated):
        return []
    reports = assign_all(session, tenant, actor, as_of=as_of, at=at)
    return [r.to_json(limit=0) for r in reports if r.note is None]


@paused_gc()
def run(
    session: Session,
    tenant: Tenant,
    actor: Actor,
    *,
    role: str,
    as_of: date,
    at: datetime,
    customer_ids: Sequence[int] | None = None,
    dry_run: bool = False,
    rebalance_pools: bool = False,
    explain_all: bool = False,
) -> RunReport:
    """Assign ``role`` owners to ``customer_ids`` (all customers when None)."""
    live = repo.live_policy(session, tenant.id, role)
    if live is None or not live.active:
        note = f"no active {role} assignment policy"
        return RunReport(role, live.version if live else None, dry_run, note=note)
    policy = parse_policy(live.config)
    loaded = _load(session, tenant, role, live.version, policy, as_of, customer_ids, dry_run)
    decisions = decide_all(
        loaded.compiled, loaded.snapshot, loaded.pools, rebalance_pools=rebalance_pools
    )
    report, provenance = _report(session, tenant, role, loaded, decisions, dry_run, explain_all)
    if not dry_run:
        _persist(session, tenant, actor, role, loaded, report, provenance, at)
    return report


def _report(
    session: Session,
    tenant: Tenant,
    role: str,
    loaded: _Loaded,
    decisions: list[Decision],
    dry_run: bool,
    explain_all: bool,
) -> tuple[RunReport, list[dict[str, Any]]]:
    """The run's report (changes explained, gaps, counts) and the provenance rows to write."""
    report = RunReport(role, loaded.version, dry_run, customers=len(decisions))
    by_id = {p.id: p.email for p in loaded.compiled.people.values()}
    wanted = [d.customer_id for d in decisions if d.changed or explain_all]
    externals = repo.external_ids(
        session, tenant.id, wanted if len(decisions) < ALL_EXTERNALS else None
    )
    explain_changes = explain_all or sum(d.changed for d in decisions) <= EXPLAIN_LIMIT
    provenance: list[dict[str, Any]] = []

    def change(d: Decision, reason: str) -> Change:
        before = by_id.get(d.before) if d.before else None
        after = by_id.get(d.after) if d.after else None
        external = externals.get(d.customer_id, "")
        return Change(d.customer_id, external, role, before, after, d.rule, reason)

    for d in decisions:
        if d.gaps:
            report.gaps.append({"customer_id": d.customer_id, "gaps": list(d.gaps)})
        if explain_all:
            report.decided.append(change(d, d.reason + _why(loaded, d)))
        if d.rule == "locked":
            report.locked += 1
            continue
        if d.changed:
            why = _why(loaded, d) if explain_changes else f" (policy v{loaded.version})"
            report.changes.append(change(d, d.reason + why))
        else:
            report.kept += 1
        recorded = d.customer_id in loaded.recorded
        if d.rule is not None and (d.changed or d.rule_changed or not recorded):
            provenance.append(
                {
                    "customer_id": d.customer_id,
                    "user_id": d.after,
                    "rule": d.rule,
                    "reason": d.reason,
                    "policy_version": loaded.version,
                    "locked": False,
                }
            )
    return report, provenance


def _persist(
    session: Session,
    tenant: Tenant,
    actor: Actor,
    role: str,
    loaded: _Loaded,
    report: RunReport,
    provenance: list[dict[str, Any]],
    at: datetime,
) -> None:
    """The new owners, their provenance, the moved cursors, and the audit and webhooks."""
    people = loaded.compiled.people
    owners = {c.customer_id: people[c.after].id if c.after else None for c in report.changes}
    repo.write_owners(session, tenant.id, role, owners, at)
    repo.upsert_assignments(session, tenant.id, role, provenance, at, actor.label)
    pools = loaded.pools
    moved = {k.split(":", 1)[1]: v for k, v in pools.cursors.items() if k in pools.moved_cursors}
    repo.save_cursors(session, tenant.id, role, moved)
    record_changes(session, tenant.id, actor, report.changes, at)


def _why(loaded: _Loaded, d: Decision) -> str:
    """ " | " and the deciding rule's explanation, one condition per clause ("" when the
    rule has no condition)."""
    rules = loaded.policy.rules
    i = next((k for k, r in enumerate(rules) if r.name == d.rule), None)
    b = loaded.bound[i] if i is not None else None
    if b is None:
        return ""
    record = loaded.snapshot.records[d.customer_id]
    lines = [line.strip() for line in explain(b, record, loaded.fields).text().splitlines()]
    return " | " + "; ".join(line for line in lines if line)


def record_changes(
    session: Session, tenant_id: int, actor: Actor, changes: list[Change], at: datetime
) -> None:
    """One audit event and one customer.owner_changed webhook per change, in bulk."""
    if not changes:
        return
    shared: dict[tuple[str, str | None], dict[str, str | None]] = {}

    def owner(role: str, email: str | None) -> dict[str, str | None]:
        """One dict per (role, owner): the bulk insert serializes each object once."""
        return shared.setdefault((role, email), {f"{role}_owner": email})

    entries = [
        Entry(
            "owner.assigned",
            "customer",
            c.customer_id,
            before=owner(c.role, c.before),
            after=owner(c.role, c.after),
            reason=c.reason,
        )
        for c in changes
    ]
    record_many(session, actor, entries, at=at)
    from arpolicy.webhooks.bulk import emit_many

    events = (
        (
            f"owner:{c.customer_id}:{c.role}:{at.isoformat()}",
            {
                "customer_id": c.customer_id,
                "external_id": c.external_id,
                "role": c.role,
                "before": c.before,
                "after": c.after,
                "rule": c.rule,
            },
        )
        for c in changes
    )
    emit_many(session, tenant_id, "customer.owner_changed", events, at=at)
