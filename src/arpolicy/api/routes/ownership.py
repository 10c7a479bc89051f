"""Owner assignment over HTTP: policies (versioned, validated, audited), runs (dry or
real, rebalance), and each customer's owners with the rule and the explanation."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.api.context import Api, require
from arpolicy.api.schemas import Input, RuleWarning
from arpolicy.api.types import AsOf, Day, Note, PathId, RefId
from arpolicy.kit.clock import local_today
from arpolicy.models import Tenant
from arpolicy.ownership import repository as repo
from arpolicy.ownership.admin import owners_of, policy_warnings, save_role_policy, set_owner
from arpolicy.ownership.config import ROLES, AssignmentPolicy
from arpolicy.ownership.service import run_roles

router = APIRouter(tags=["assignment"])
Role = Literal["finance", "sales"]


class PolicyVersion(BaseModel):
    role: Role
    version: int
    active: bool
    config: dict[str, Any]
    created_by: str
    created_at: datetime | None
    comment: str | None


class PolicySaved(PolicyVersion):
    warnings: list[RuleWarning] = Field(
        description="Rules of the policy unknown for many customers (advice)."
    )


class PolicySave(Input):
    policy: AssignmentPolicy
    comment: Note | None = None
    active: bool = Field(
        default=True, description="False switches automatic assignment off for the role."
    )


class RunRequest(Input):
    role: Role | None = Field(default=None, description="One role (default: sales, then finance).")
    dry_run: bool = True
    rebalance: bool = False
    as_of: Day | None = None
    limit: int = Field(
        default=100, ge=0, le=10_000, description="Changes listed per role (0: all)."
    )


class OwnerSet(Input):
    user_id: RefId | None = Field(description="The owner (null clears it).")
    locked: bool = Field(default=True, description="Keep policies from changing this owner.")
    reason: Note | None = None


def _tenant(session: Session, api: Api) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.id == api.tenant_id))
    assert tenant is not None
    return tenant


def _version(row: Any) -> PolicyVersion:
    return PolicyVersion(
        role=row.role,
        version=row.version,
        active=row.active,
        config=row.config,
        created_by=row.created_by,
        created_at=row.created_at,
        comment=row.comment,
    )


@router.get("/assignment/policies/{role}", response_model=list[PolicyVersion])
def read_policy(role: Role, api: Api = Depends(require("ledger:read"))) -> Any:
    """Every version of the role's policy, newest (live) first; empty when none is saved."""
    with api.read() as session:
        return [_version(v) for v in repo.versions(session, api.tenant_id, role)]


@router.put("/assignment/policies/{role}", response_model=PolicySaved)
def save(role: Role, body: PolicySave, api: Api = Depends(require("policies:manage"))) -> Any:
    """Validate the policy against the tenant (rule fields, users, strategies) and save it
    as the role's new live version. Problems answer 422 with every one listed; a rule
    unknown for many customers comes back in ``warnings``."""
    with api.write() as session:
        tenant = _tenant(session, api)
        row = save_role_policy(
            session,
            tenant,
            api.actor,
            role,
            body.policy.model_dump(mode="json", exclude_none=True),
            at=api.now(),
            comment=body.comment,
            active=body.active,
        )
        found = policy_warnings(
            session, tenant, row.config, as_of=local_today(api.clock, tenant.timezone)
        )
        return PolicySaved(
            **_version(row).model_dump(), warnings=[RuleWarning.of(w) for w in found]
        )


@router.post("/assignment/runs", response_model=list[dict[str, Any]])
def run_assignment(body: RunRequest, api: Api = Depends(require("owners:write"))) -> Any:
    """Re-evaluate every customer. ``dry_run`` (the default) lists the changes without
    writing; a real run writes them with an audit entry and a webhook each."""
    roles = (body.role,) if body.role else ROLES

    def work(session: Session) -> Any:
        tenant = _tenant(session, api)
        on = body.as_of or local_today(api.clock, tenant.timezone)
        reports = run_roles(
            session,
            tenant,
            api.actor,
            roles,
            as_of=on,
            at=api.now(),
            dry_run=body.dry_run,
            rebalance_pools=body.rebalance,
        )
        return [r.to_json(body.limit or None) for r in reports]

    if body.dry_run:  # several roles dry-run in a savepoint: a write transaction
        with api.write() if len(roles) > 1 else api.read() as session:
            return work(session)
    return api.created(work, status=200)


@router.get("/customers/{customer_id}/owners")
def read_owners(
    customer_id: PathId,
    as_of: AsOf = None,
    api: Api = Depends(require("ledger:read")),
) -> Any:
    """Each role's owner, the rule that chose them and why, the lock, and what the live
    policy would decide now (with its explanation and any gap)."""
    with api.read() as session:
        tenant = _tenant(session, api)
        return owners_of(
            session, tenant, customer_id, as_of=as_of or local_today(api.clock, tenant.timezone)
        )


@router.put("/customers/{customer_id}/owners/{role}")
def put_owner(
    customer_id: PathId, role: Role, body: OwnerSet, api: Api = Depends(require("owners:write"))
) -> Any:
    """Set a customer's owner by hand, locked by default (policies then leave it alone)."""
    with api.write() as session:
        change = set_owner(
            session,
            _tenant(session, api),
            api.actor,
            customer_id,
            role,
            body.user_id,
            locked=body.locked,
            at=api.now(),
            reason=body.reason,
        )
        return change.to_json() | {"locked": body.locked}
