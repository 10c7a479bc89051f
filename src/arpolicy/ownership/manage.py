"""Owner assignment by hand and by configuration: saving policies (versioned, audited),
setting and locking an owner, and explaining a customer's owners."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.audit import Actor
from arpolicy.audit import record as audit_record
from arpolicy.exceptions import NotFoundError, ValidationError
from arpolicy.models import AssignmentPolicyVersion, Customer, OwnerAssignment, Tenant
from arpolicy.ownership import repository as repo
from arpolicy.ownership.service import ROLES, Change, RunReport, record_changes, run, validate


def save_policy(
    session: Session,
    tenant: Tenant,
    actor: Actor,
    data: Any,
    *,
    at: datetime,
    comment: str | None = None,
    active: bool = True,
) -> AssignmentPolicyVersion:
    """Validate ``data`` and store it as the role's new live version (audited)."""
    policy = validate(session, tenant, data)
    live = repo.live_policy(session, tenant.id, policy.role)
    config = policy.model_dump(mode="json", exclude_none=True)
    row = AssignmentPolicyVersion(
        tenant_id=tenant.id, role=policy.role, version=(live.version + 1) if live else 1,
        config=config, active=active, created_by=actor.label, comment=comment,
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit_record(
        session, actor, "assignment_policy.saved", "assignment_policy", f"{policy.role}:v{row.version}",
        before={"version": live.version, "config": live.config, "active": live.active} if live else None,
        after={"version": row.version, "config": config, "active": active}, reason=comment, at=at,
    )  # fmt: skip
    return row


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


def mark_set_by_hand(
    session: Session,
    tenant: Tenant,
    actor: Actor,
    customer_id: int,
    role: str,
    *,
    at: datetime,
    reason: str,
) -> None:
    """Record that ``role``'s current owner was set by hand (a customer written with its
    owner given): the provenance says so, and a lock already on it stays."""
    owner = repo.current_owners(session, tenant.id, role, [customer_id]).get(customer_id)
    _, locked = repo.assignments(session, tenant.id, role, [customer_id]).get(
        customer_id, (None, False)
    )
    repo.upsert_assignments(
        session, tenant.id, role,
        [{"customer_id": customer_id, "user_id": owner, "rule": None, "reason": reason,
          "policy_version": None, "locked": locked}],
        at, actor.label,
    )  # fmt: skip


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


def assign_all(
    session: Session, tenant: Tenant, actor: Actor, *, as_of: date, at: datetime
) -> list[RunReport]:
    """Both roles for every customer (after a bulk import)."""
    return run_roles(session, tenant, actor, ROLES, as_of=as_of, at=at)


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


def set_owner(
    session: Session,
    tenant: Tenant,
    actor: Actor,
    customer_id: int,
    role: str,
    user_id: int | None,
    *,
    locked: bool,
    at: datetime,
    reason: str | None = None,
) -> Change:
    """Set an owner by hand; ``locked`` keeps every policy from changing it."""
    if role not in ROLES:
        raise ValidationError(
            f"{role!r} is not an owner role", where="role", fix="finance or sales"
        )
    customer = session.scalar(
        select(Customer).where(Customer.tenant_id == tenant.id, Customer.id == customer_id)
    )
    if customer is None:
        raise NotFoundError(
            f"no customer {customer_id}", fix="list customers with GET /v1/customers"
        )
    people = {p.id: p for p in repo.people(session, tenant.id)}
    if user_id is not None:
        person = people.get(user_id)
        if person is None:
            raise NotFoundError(
                f"no user {user_id}", where="user_id", fix="list users with GET /v1/users"
            )
        if not person.active:
            raise ValidationError(
                f"{person.email} is inactive", where="user_id", fix="choose an active user"
            )
    before = repo.current_owners(session, tenant.id, role, [customer_id]).get(customer_id)
    email = people[user_id].email if user_id is not None else None
    change = Change(customer_id, customer.external_id, role,
                    people[before].email if before in people else None, email, None,
                    reason or ("set by hand and locked" if locked else "set by hand"))  # fmt: skip
    repo.write_owners(session, tenant.id, role, {customer_id: user_id}, at)
    repo.upsert_assignments(
        session, tenant.id, role,
        [{"customer_id": customer_id, "user_id": user_id, "rule": None, "reason": change.reason,
          "policy_version": None, "locked": locked}],
        at, actor.label,
    )  # fmt: skip
    if before != user_id:
        record_changes(session, tenant.id, actor, [change], at)
    else:
        audit_record(session, actor, "owner.locked" if locked else "owner.unlocked", "customer", customer_id,
                     after={f"{role}_owner": email, "locked": locked}, reason=reason, at=at)  # fmt: skip
    return change


def owners_of(session: Session, tenant: Tenant, customer_id: int, *, as_of: date) -> dict[str, Any]:
    """Each role's owner, the rule that chose them and why, the lock, and what the live
    policy would decide today."""
    out: dict[str, Any] = {}
    people = {p.id: p for p in repo.people(session, tenant.id)}
    for role in ROLES:
        owner = repo.current_owners(session, tenant.id, role, [customer_id])
        if customer_id not in owner:
            raise NotFoundError(
                f"no customer {customer_id}", fix="list customers with GET /v1/customers"
            )
        row = session.scalar(select(OwnerAssignment).where(
            OwnerAssignment.tenant_id == tenant.id, OwnerAssignment.customer_id == customer_id,
            OwnerAssignment.role == role))  # fmt: skip
        user_id = owner[customer_id]
        preview = run(session, tenant, Actor(tenant.id, "preview"), role=role, as_of=as_of,
                      at=datetime.min, customer_ids=[customer_id], dry_run=True, explain_all=True)  # fmt: skip
        decided = preview.decided[0] if preview.decided else None
        out[role] = {
            "user_id": user_id,
            "email": people[user_id].email if user_id in people else None,
            "rule": row.rule if row else None,
            "reason": row.reason if row else None,
            "locked": bool(row.locked) if row else False,
            "policy_version": row.policy_version if row else None,
            "assigned_at": row.assigned_at if row else None,
            "assigned_by": row.assigned_by if row else None,
            "policy_would_assign": decided.after if decided else None,
            "policy_rule": decided.rule if decided else None,
            "explanation": decided.reason if decided else preview.note,
            "gaps": preview.gaps[0]["gaps"] if preview.gaps else [],
        }
    return out
