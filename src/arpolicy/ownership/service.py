"""Owner assignment against the database: load the facts, decide, write the changes.

Everything happens in the caller's transaction (a request, an import, a CLI command):
the owners, their provenance, the round-robin cursors, one audit event and one
``customer.owner_changed`` webhook per change. A dry run decides the same way and writes
nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.audit import Actor
from arpolicy.kit.bulk import insert_many
from arpolicy.kit.gcpause import paused_gc
from arpolicy.ledger.catalogue import tenant_catalogue
from arpolicy.ledger.rates import exchange
from arpolicy.ledger.selection import customer_records
from arpolicy.models import AuditEvent, Customer, Tenant
from arpolicy.ownership import repository as repo
from arpolicy.ownership.config import POOLED, AssignmentPolicy, PolicyError, parse_policy
from arpolicy.ownership.policy import (
    CompiledPolicy,
    Current,
    Decision,
    Pools,
    decide,
    pool,
    rebalance,
)
from arpolicy.rules import (
    FieldSet,
    RuleError,
    bind,
    check,
    explain,
    from_json,
    parse,
    to_python,
    walk,
)
from arpolicy.rules.catalogue import Level

EXPLAIN_LIMIT = 2_000
"""Runs changing more owners than this record the rule and policy version as the reason,
not each condition's value (replay them with ``arpolicy assign explain``): rendering the
explanation of 100,000 changes would take longer than deciding them."""
ROLES = ("sales", "finance")
"""Sales first: finance rules often follow the sales owner (a paired collector, a team)."""
OWNER_FIELD = {"finance": "finance_owner", "sales": "sales_owner"}


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
            "role": self.role, "policy_version": self.policy_version, "dry_run": self.dry_run,
            "customers": self.customers, "changed": len(self.changes), "kept": self.kept,
            "locked": self.locked, "gaps": self.gaps if limit is None else self.gaps[:limit],
            "gaps_total": len(self.gaps), "changes": [c.to_json() for c in changes],
            "note": self.note,
        }  # fmt: skip


def customer_fields(session: Session, tenant: Tenant) -> FieldSet:
    return tenant_catalogue(session, tenant).level(Level.CUSTOMER)


def _rule_of(value: str | dict[str, Any]) -> Any:
    return parse(value) if isinstance(value, str) else from_json(value)


def validate(session: Session, tenant: Tenant, data: Any) -> AssignmentPolicy:
    """The policy, checked against the tenant: rules against its customer fields, users by
    e-mail, fields the strategies read. PolicyError lists every problem with its path."""
    policy = parse_policy(data)
    fields = customer_fields(session, tenant)
    emails = {p.email for p in repo.people(session, tenant.id)}
    problems: list[dict[str, str]] = []
    assigns = [(f"rules[{i}].assign", r.assign) for i, r in enumerate(policy.rules)]
    if policy.fallback is not None:
        assigns.append(("fallback", policy.fallback))
    for i, rule in enumerate(policy.rules):
        if rule.when is None:
            continue
        try:
            check(_rule_of(rule.when), fields)
        except RuleError as exc:
            problems += [
                {"where": f"rules[{i}].when {p.where}", "what": p.what, "fix": p.fix}
                for p in exc.problems
            ]
    for where, assign in assigns:
        for user in assign.users:
            if ":" not in user and user.lower() not in emails:
                problems.append({"where": f"{where}.users", "what": f"no user {user} in this tenant",
                                 "fix": "create the user first, or fix the e-mail"})  # fmt: skip
        for email in (assign.map or {}).values():
            if email.lower() not in emails:
                problems.append({"where": f"{where}.map", "what": f"no user {email} in this tenant",
                                 "fix": "create the user first, or fix the e-mail"})  # fmt: skip
        if assign.field is not None and assign.field not in fields:
            problems.append({"where": f"{where}.field", "what": f"unknown customer field {assign.field!r}",
                             "fix": "use a customer field name, e.g. sales_owner or cf.<key>"})  # fmt: skip
    if problems:
        raise PolicyError(problems)
    return policy


def _needed(policy: AssignmentPolicy, role: str, fields: FieldSet) -> FieldSet:
    """Only the fields the policy reads (so the records query joins only those)."""
    assigns = [r.assign for r in policy.rules] + ([policy.fallback] if policy.fallback else [])
    names = {OWNER_FIELD[role]} | (
        {"outstanding"} if any(a.by == "outstanding" for a in assigns) else set()
    )
    for rule in policy.rules:
        if rule.when is not None:
            names |= {n.field for _, n in walk(_rule_of(rule.when)) if hasattr(n, "field")}
    for assign in [r.assign for r in policy.rules] + ([policy.fallback] if policy.fallback else []):
        names |= {x for x in (assign.field, assign.team_of) if x}
    return FieldSet(
        fields.level, fields.base_currency, [fields[n] for n in sorted(names) if n in fields]
    )


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
        return RunReport(role, live.version if live else None, dry_run,
                         note=f"no active {role} assignment policy")  # fmt: skip
    policy = parse_policy(live.config)
    fields = _needed(policy, role, customer_fields(session, tenant))
    fx = exchange(session, tenant)  # money literals compare at the tenant's rates
    bound = [bind(check(_rule_of(r.when), fields), as_of, tz=tenant.timezone, exchange=fx)
             if r.when is not None else None for r in policy.rules]  # fmt: skip
    matchers = [to_python(b, fields) if b is not None else None for b in bound]
    compiled = CompiledPolicy.build(policy, matchers, repo.people(session, tenant.id))
    pooled = [r.name for r in policy.rules if r.assign.strategy in POOLED]
    if policy.fallback is not None and policy.fallback.strategy in POOLED:
        pooled.append("fallback")
    positions = repo.lock_cursors(
        session, tenant.id, role, pooled, lock=not dry_run
    )  # serializes this role's pools
    pools = Pools(
        customers=repo.customer_counts(session, tenant.id, role),
        cursors={f"{role}:{k}": v for k, v in positions.items()},
    )
    owners = repo.current_owners(session, tenant.id, role, customer_ids)
    provenance = repo.assignments(session, tenant.id, role, customer_ids)
    by_outstanding = any(
        a.by == "outstanding"
        for a in [r.assign for r in policy.rules] + [policy.fallback]
        if a is not None
    )
    records = dict(customer_records(session, tenant, fields, as_of, customer_ids))
    if by_outstanding:
        pools.outstanding = _outstanding_loads(
            session, tenant, fields, as_of, role, customer_ids, records
        )
    report = RunReport(role, live.version, dry_run, customers=len(records))
    decisions: list[Decision] = []
    amounts: dict[int, Decimal] = {}
    for cid, record in records.items():
        rule, locked = provenance.get(cid, (None, False))
        amount = _amount(record)
        amounts[cid] = amount
        decisions.append(
            decide(
                compiled, cid, record, Current(owners.get(cid), rule, locked), pools, amount=amount
            )
        )
    if rebalance_pools:
        decisions = _rebalanced(compiled, decisions, records, amounts, pools)
    by_id = {p.id: p.email for p in compiled.people.values()}
    externals = dict(session.execute(
        select(Customer.id, Customer.external_id).where(Customer.tenant_id == tenant.id, Customer.id.in_(
            [d.customer_id for d in decisions if d.changed or explain_all]))
    ).all()) if len(decisions) < 30000 else _all_externals(session, tenant.id)  # fmt: skip
    provenance_rows = []
    explain_changes = explain_all or sum(d.changed for d in decisions) <= EXPLAIN_LIMIT
    for d in decisions:
        if d.gaps:
            report.gaps.append({"customer_id": d.customer_id, "gaps": list(d.gaps)})
        if explain_all:
            report.decided.append(Change(d.customer_id, externals.get(d.customer_id, ""), role,
                                         by_id.get(d.before) if d.before else None,
                                         by_id.get(d.after) if d.after else None, d.rule,
                                         d.reason + _why(policy, bound, fields, d.rule, records[d.customer_id])))  # fmt: skip
        if d.rule == "locked":
            report.locked += 1
            continue
        if d.changed:
            reason = d.reason + (
                _why(policy, bound, fields, d.rule, records[d.customer_id])
                if explain_changes
                else f" (policy v{live.version})"
            )
            report.changes.append(Change(d.customer_id, externals.get(d.customer_id, ""), role,
                                         by_id.get(d.before) if d.before else None,
                                         by_id.get(d.after) if d.after else None, d.rule, reason))  # fmt: skip
        else:
            report.kept += 1
        if d.rule is not None and (d.changed or d.rule_changed or d.customer_id not in provenance):
            provenance_rows.append({"customer_id": d.customer_id, "user_id": d.after, "rule": d.rule,
                                    "reason": d.reason, "policy_version": live.version, "locked": False})  # fmt: skip
    if dry_run:
        return report
    owners_now = {c.customer_id: _id(c.after, compiled) for c in report.changes}
    repo.write_owners(session, tenant.id, role, owners_now, at)
    repo.upsert_assignments(session, tenant.id, role, provenance_rows, at, actor.label)
    moved = {k.split(":", 1)[1]: v for k, v in pools.cursors.items() if k in pools.moved_cursors}
    repo.save_cursors(session, tenant.id, role, moved)
    record_changes(session, tenant.id, actor, report.changes, at)
    return report


def _why(
    policy: AssignmentPolicy,
    bound: Sequence[Any],
    fields: FieldSet,
    rule: str | None,
    record: dict[str, Any],
) -> str:
    """ " | " and the rule's explanation, one condition per clause ("" for no condition)."""
    i = next((k for k, r in enumerate(policy.rules) if r.name == rule), None)
    b = bound[i] if i is not None else None
    if b is None:
        return ""
    lines = [line.strip() for line in explain(b, record, fields).text().splitlines()]
    return " | " + "; ".join(line for line in lines if line)


def _id(email: str | None, compiled: CompiledPolicy) -> int | None:
    return compiled.people[email].id if email else None


def _amount(record: dict[str, Any]) -> Decimal:
    value = record.get("outstanding")
    return value.amount if value is not None else Decimal(0)


def _all_externals(session: Session, tenant_id: int) -> dict[int, str]:
    session.flush()  # Core rows (no ORM overhead) see pending changes too
    rows = session.connection().execute(
        select(Customer.id, Customer.external_id).where(Customer.tenant_id == tenant_id)
    )
    return dict(rows.all())


def _outstanding_loads(
    session: Session,
    tenant: Tenant,
    fields: FieldSet,
    as_of: date,
    role: str,
    ids: Sequence[int] | None,
    records: dict[int, dict[str, Any]],
) -> dict[int, Decimal]:
    """Outstanding (base currency) owned by each user in ``role``, over all customers."""
    everyone = (
        records if ids is None else dict(customer_records(session, tenant, fields, as_of, None))
    )
    owners = repo.current_owners(session, tenant.id, role, None)
    loads: dict[int, Decimal] = {}
    for cid, record in everyone.items():
        owner = owners.get(cid)
        if owner is not None:
            loads[owner] = loads.get(owner, Decimal(0)) + _amount(record)
    return loads


def _rebalanced(
    compiled: CompiledPolicy,
    decisions: list[Decision],
    records: dict[int, dict[str, Any]],
    amounts: dict[int, Decimal],
    pools: Pools,
) -> list[Decision]:
    from dataclasses import replace

    out = {d.customer_id: d for d in decisions}
    for rule in compiled.rules:
        if rule.assign.strategy not in POOLED or rule.assign.team_of is not None:
            continue
        mine = [d for d in decisions if d.rule == rule.name and d.after is not None]
        if not mine:
            continue
        members, _ = pool(compiled, rule.assign, records[mine[0].customer_id])
        owned = [(d.customer_id, d.after or 0, amounts[d.customer_id]) for d in mine]
        moves = rebalance(owned, members, rule.assign)
        for cid, to in moves.items():
            d = out[cid]
            pools.move(d.after, to, amounts[cid])
            out[cid] = replace(d, after=to, reason=f"{rule.name}: rebalanced over {len(members)}")
    return [out[d.customer_id] for d in decisions]


def record_changes(
    session: Session, tenant_id: int, actor: Actor, changes: list[Change], at: datetime
) -> None:
    """One audit event and one customer.owner_changed webhook per change, in bulk."""
    if not changes:
        return
    columns = [
        "tenant_id",
        "at",
        "actor",
        "action",
        "entity",
        "entity_id",
        "before",
        "after",
        "reason",
        "request_id",
    ]
    shared: dict[tuple[str, str | None], dict[str, str | None]] = {}

    def owner(role: str, email: str | None) -> dict[str, str | None]:
        """One dict per (role, owner): the bulk insert serializes each object once."""
        return shared.setdefault((role, email), {f"{role}_owner": email})

    insert_many(session, AuditEvent, columns, [
        (tenant_id, at, actor.label, "owner.assigned", "customer", str(c.customer_id),
         owner(c.role, c.before), owner(c.role, c.after), c.reason, actor.request_id)
        for c in changes
    ])  # fmt: skip
    from arpolicy.webhooks.bulk import emit_many

    emit_many(
        session,
        tenant_id,
        "customer.owner_changed",
        (
            (f"owner:{c.customer_id}:{c.role}:{at.isoformat()}",
             {"customer_id": c.customer_id, "external_id": c.external_id, "role": c.role,
              "before": c.before, "after": c.after, "rule": c.rule})
            for c in changes
        ),
        at=at,
    )  # fmt: skip
