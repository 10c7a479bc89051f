"""Owner assignment by configuration and by hand: saving policies (validated against the
tenant, versioned, audited), setting and locking an owner, and explaining a customer's
owners (what the live policy would decide today, and why)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from arpolicy.audit import Actor
from arpolicy.audit import record as audit_record
from arpolicy.exceptions import NotFoundError, ValidationError
from arpolicy.ledger.selection.coverage import RuleCheck, RuleWarning, rule_warnings
from arpolicy.models import AssignmentPolicyVersion, Tenant
from arpolicy.ownership import repository as repo
from arpolicy.ownership.config import (
    ROLES,
    Assign,
    AssignmentPolicy,
    PolicyError,
    parse_policy,
    rule_of,
)
from arpolicy.ownership.service import (
    Change,
    after_import,
    assign_all,
    assign_customers,
    record_changes,
    run,
    run_roles,
)
from arpolicy.rules import FieldSet, RuleError, check

# The runs are the service's; those the surfaces and the ledger hooks call are named here too.
__all__ = [
    "after_import",
    "assign_all",
    "assign_customers",
    "mark_set_by_hand",
    "owners_of",
    "policy_warnings",
    "run_roles",
    "save_policy",
    "save_role_policy",
    "set_owner",
    "validate",
]


def validate(session: Session, tenant: Tenant, data: Any) -> AssignmentPolicy:
    """The policy, checked against the tenant: rules against its customer fields, users by
    e-mail, fields the strategies read. PolicyError lists every problem with its path."""
    policy = parse_policy(data)
    fields = repo.customer_fields(session, tenant)
    emails = {p.email for p in repo.people(session, tenant.id)}
    problems: list[dict[str, str]] = []
    assigns = [(f"rules[{i}].assign", r.assign) for i, r in enumerate(policy.rules)]
    if policy.fallback is not None:
        assigns.append(("fallback", policy.fallback))
    for i, rule in enumerate(policy.rules):
        if rule.when is None:
            continue
        try:
            check(rule_of(rule.when), fields)
        except RuleError as exc:
            problems += [
                {"where": f"rules[{i}].when {p.where}", "what": p.what, "fix": p.fix}
                for p in exc.problems
            ]
    for where, assign in assigns:
        problems += _assign_problems(where, assign, emails, fields)
    if problems:
        raise PolicyError(problems)
    return policy


def _assign_problems(
    where: str, assign: Assign, emails: set[str], fields: FieldSet
) -> list[dict[str, str]]:
    """Users the tenant does not have, and a field the customers do not have."""
    fix_user = "create the user first, or fix the e-mail"
    out = []
    for user in assign.users:
        if ":" not in user and user.lower() not in emails:
            what = f"no user {user} in this tenant"
            out.append({"where": f"{where}.users", "what": what, "fix": fix_user})
    for email in (assign.map or {}).values():
        if email.lower() not in emails:
            what = f"no user {email} in this tenant"
            out.append({"where": f"{where}.map", "what": what, "fix": fix_user})
    if assign.field is not None and assign.field not in fields:
        what = f"unknown customer field {assign.field!r}"
        fix = "use a customer field name, e.g. sales_owner or cf.<key>"
        out.append({"where": f"{where}.field", "what": what, "fix": fix})
    return out


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
        tenant_id=tenant.id,
        role=policy.role,
        version=(live.version + 1) if live else 1,
        config=config,
        active=active,
        created_by=actor.label,
        comment=comment,
    )
    session.add(row)
    session.flush()
    audit_record(
        session,
        actor,
        "assignment_policy.saved",
        "assignment_policy",
        f"{policy.role}:v{row.version}",
        before={"version": live.version, "config": live.config, "active": live.active}
        if live
        else None,
        after={"version": row.version, "config": config, "active": active},
        reason=comment,
        at=at,
    )
    return row


def save_role_policy(
    session: Session,
    tenant: Tenant,
    actor: Actor,
    role: str,
    data: Any,
    *,
    at: datetime,
    comment: str | None = None,
    active: bool = True,
) -> AssignmentPolicyVersion:
    """Save ``data`` as ``role``'s policy (``PUT /v1/assignment/policies/{role}``, the app's
    owners screen): the policy must be for that role (then :func:`save_policy`)."""
    given = data.get("role") if isinstance(data, dict) else None
    if given != role:
        raise ValidationError(
            f"the policy is for {given}, the path says {role}",
            where="body.policy.role",
            fix="make them agree",
        )
    return save_policy(session, tenant, actor, data, at=at, comment=comment, active=active)


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
        session,
        tenant.id,
        role,
        [
            {
                "customer_id": customer_id,
                "user_id": owner,
                "rule": None,
                "reason": reason,
                "policy_version": None,
                "locked": locked,
            }
        ],
        at,
        actor.label,
    )


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
    customer = repo.customer(session, tenant.id, customer_id)
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
    change = Change(
        customer_id,
        customer.external_id,
        role,
        people[before].email if before in people else None,
        email,
        None,
        reason or ("set by hand and locked" if locked else "set by hand"),
    )
    repo.write_owners(session, tenant.id, role, {customer_id: user_id}, at)
    repo.upsert_assignments(
        session,
        tenant.id,
        role,
        [
            {
                "customer_id": customer_id,
                "user_id": user_id,
                "rule": None,
                "reason": change.reason,
                "policy_version": None,
                "locked": locked,
            }
        ],
        at,
        actor.label,
    )
    if before != user_id:
        record_changes(session, tenant.id, actor, [change], at)
    else:
        audit_record(
            session,
            actor,
            "owner.locked" if locked else "owner.unlocked",
            "customer",
            customer_id,
            after={f"{role}_owner": email, "locked": locked},
            reason=reason,
            at=at,
        )
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
        row = repo.assignment(session, tenant.id, role, customer_id)
        user_id = owner[customer_id]
        preview = run(
            session,
            tenant,
            Actor(tenant.id, "preview"),
            role=role,
            as_of=as_of,
            at=datetime.min,
            customer_ids=[customer_id],
            dry_run=True,
            explain_all=True,
        )
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


def policy_warnings(
    session: Session, tenant: Tenant, data: Any, *, as_of: date
) -> list[RuleWarning]:
    """The ``when`` rules of the (valid) policy ``data`` that are unknown for many customers
    (each reads every customer), as of the tenant's day ``as_of``: advice when a policy is
    saved (the counting and the threshold: arpolicy.ledger.selection.coverage)."""
    policy = parse_policy(data)
    fields = repo.customer_fields(session, tenant)
    checks = [
        RuleCheck(f"rules[{i}].when", rule_of(rule.when), fields)
        for i, rule in enumerate(policy.rules)
        if rule.when is not None
    ]
    return rule_warnings(session, tenant, checks, as_of=as_of)
