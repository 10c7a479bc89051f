"""Part of the service room: what a run decides from, the live policy compiled as of its
day (rules bound at the tenant's rates), the customers' snapshot (records, current owners,
outstanding) and the pool state (:func:`_load`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from arpolicy.models import Tenant
from arpolicy.ownership import repository as repo
from arpolicy.ownership.config import POOLED, AssignmentPolicy, fields_read, rule_of
from arpolicy.ownership.policy import CompiledPolicy, Current, Pools, Snapshot
from arpolicy.rules import FieldSet, bind, check, to_python


@dataclass(frozen=True)
class _Loaded:
    """A run's policy, compiled as of its day, and what it decides from."""

    version: int
    policy: AssignmentPolicy
    fields: FieldSet
    bound: list[Any]
    compiled: CompiledPolicy
    snapshot: Snapshot
    pools: Pools
    recorded: frozenset[int]
    """The customers with a provenance row already."""


def _load(
    session: Session,
    tenant: Tenant,
    role: str,
    version: int,
    policy: AssignmentPolicy,
    as_of: date,
    ids: Sequence[int] | None,
    dry_run: bool,
) -> _Loaded:
    """The policy compiled as of ``as_of`` (rules bound at the tenant's rates) and the
    snapshot of the customers, with the pool state (cursors locked unless a dry run)."""
    fields = fields_read(policy, role, repo.customer_fields(session, tenant))
    fx = repo.rates(session, tenant)
    bound = [
        bind(check(rule_of(r.when), fields), as_of, tz=tenant.timezone, exchange=fx)
        if r.when is not None
        else None
        for r in policy.rules
    ]
    matchers = [to_python(b, fields) if b is not None else None for b in bound]
    compiled = CompiledPolicy.build(policy, matchers, repo.people(session, tenant.id))
    pooled = [r.name for r in policy.rules if r.assign.strategy in POOLED]
    if policy.fallback is not None and policy.fallback.strategy in POOLED:
        pooled.append("fallback")
    # locked for the rest of the transaction: this role's pools take turns
    positions = repo.lock_cursors(session, tenant.id, role, pooled, lock=not dry_run)
    pools = Pools(
        customers=repo.customer_counts(session, tenant.id, role),
        cursors={f"{role}:{k}": v for k, v in positions.items()},
    )
    owners = repo.current_owners(session, tenant.id, role, ids)
    provenance = repo.assignments(session, tenant.id, role, ids)
    records = repo.records(session, tenant, fields, as_of, ids)
    assigns = [r.assign for r in policy.rules] + [policy.fallback]
    if any(a is not None and a.by == "outstanding" for a in assigns):
        everyone = records if ids is None else None
        pools.outstanding = repo.outstanding_by_owner(
            session, tenant, role, fields, as_of, everyone
        )
    current = {}
    for cid in records:
        rule, locked = provenance.get(cid, (None, False))
        current[cid] = Current(owners.get(cid), rule, locked)
    amounts = {cid: _amount(record) for cid, record in records.items()}
    snapshot = Snapshot(records, current, amounts)
    recorded = frozenset(provenance)
    return _Loaded(version, policy, fields, bound, compiled, snapshot, pools, recorded)


def _amount(record: dict[str, Any]) -> Decimal:
    value = record.get("outstanding")
    return value.amount if value is not None else Decimal(0)
