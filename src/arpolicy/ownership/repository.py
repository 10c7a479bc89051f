"""The queries owner assignment needs (all tenant-scoped)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from arpolicy.models import (
    AssignmentCursor,
    AssignmentPolicyVersion,
    Customer,
    OwnerAssignment,
    User,
)
from arpolicy.ownership.policy import Person

CUSTOMERS = cast(Table, Customer.__table__)
OWNER_COLUMN = {"finance": Customer.finance_owner_id, "sales": Customer.sales_owner_id}


def people(session: Session, tenant_id: int) -> list[Person]:
    rows = session.execute(
        select(User.id, User.email, User.team, User.role, User.active).where(
            User.tenant_id == tenant_id
        )
    )
    return [Person(i, e.lower(), t, str(getattr(r, "value", r)), bool(a)) for i, e, t, r, a in rows]


def live_policy(session: Session, tenant_id: int, role: str) -> AssignmentPolicyVersion | None:
    return session.scalar(
        select(AssignmentPolicyVersion)
        .where(AssignmentPolicyVersion.tenant_id == tenant_id, AssignmentPolicyVersion.role == role)
        .order_by(AssignmentPolicyVersion.version.desc())
        .limit(1)
    )


def versions(session: Session, tenant_id: int, role: str) -> Sequence[AssignmentPolicyVersion]:
    return session.scalars(
        select(AssignmentPolicyVersion)
        .where(AssignmentPolicyVersion.tenant_id == tenant_id, AssignmentPolicyVersion.role == role)
        .order_by(AssignmentPolicyVersion.version.desc())
    ).all()


def current_owners(
    session: Session, tenant_id: int, role: str, ids: Sequence[int] | None
) -> dict[int, int | None]:
    column = OWNER_COLUMN[role]
    stmt = select(Customer.id, column).where(Customer.tenant_id == tenant_id)
    if ids is not None:
        stmt = stmt.where(Customer.id.in_(ids))
    return dict(session.execute(stmt).all())


def assignments(
    session: Session, tenant_id: int, role: str, ids: Sequence[int] | None
) -> dict[int, tuple[str | None, bool]]:
    stmt = select(OwnerAssignment.customer_id, OwnerAssignment.rule, OwnerAssignment.locked).where(
        OwnerAssignment.tenant_id == tenant_id, OwnerAssignment.role == role
    )
    if ids is not None:
        stmt = stmt.where(OwnerAssignment.customer_id.in_(ids))
    return {c: (r, bool(lk)) for c, r, lk in session.execute(stmt)}


def customer_counts(session: Session, tenant_id: int, role: str) -> dict[int, int]:
    column = OWNER_COLUMN[role]
    stmt = (
        select(column, func.count())
        .where(Customer.tenant_id == tenant_id, column.is_not(None))
        .group_by(column)
    )
    return {int(o): int(n) for o, n in session.execute(stmt) if o is not None}


def lock_cursors(
    session: Session, tenant_id: int, role: str, rules: Iterable[str]
) -> dict[str, int]:
    """The round-robin positions of ``rules``, each row created if missing and locked for
    the rest of the transaction (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already
    serializes writers), so concurrent assignments to one pool take turns."""
    wanted = sorted(set(rules))
    if not wanted:
        return {}
    stmt = select(AssignmentCursor.rule).where(
        AssignmentCursor.tenant_id == tenant_id,
        AssignmentCursor.role == role,
        AssignmentCursor.rule.in_(wanted),
    )
    missing = set(wanted) - set(session.scalars(stmt))
    for rule in sorted(missing):
        try:
            with session.begin_nested():
                session.execute(
                    insert(AssignmentCursor).values(
                        tenant_id=tenant_id, role=role, rule=rule, position=0
                    )
                )
        except IntegrityError:  # a concurrent transaction created it first
            pass
    rows = session.execute(
        select(AssignmentCursor.rule, AssignmentCursor.position)
        .where(
            AssignmentCursor.tenant_id == tenant_id,
            AssignmentCursor.role == role,
            AssignmentCursor.rule.in_(wanted),
        )
        .order_by(AssignmentCursor.rule)
        .with_for_update()
    )
    return {rule: int(pos) for rule, pos in rows}


def save_cursors(session: Session, tenant_id: int, role: str, positions: dict[str, int]) -> None:
    for rule, position in positions.items():
        session.execute(
            update(AssignmentCursor)
            .where(
                AssignmentCursor.tenant_id == tenant_id,
                AssignmentCursor.role == role,
                AssignmentCursor.rule == rule,
            )
            .values(position=position)
        )


def write_owners(
    session: Session, tenant_id: int, role: str, owners: dict[int, int | None]
) -> None:
    if not owners:
        return
    column = OWNER_COLUMN[role].key
    session.execute(
        update(CUSTOMERS)
        .where(CUSTOMERS.c.tenant_id == tenant_id, CUSTOMERS.c.id == _bind("cid"))
        .values({column: _bind("b_owner")}),
        [{"cid": c, "b_owner": o} for c, o in owners.items()],
    )


def upsert_assignments(
    session: Session, tenant_id: int, role: str, rows: list[dict[str, Any]], at: datetime, by: str
) -> None:
    """Insert or replace the provenance rows (customer_id, user_id, rule, reason,
    policy_version, locked)."""
    if not rows:
        return
    have = set(
        session.scalars(
            select(OwnerAssignment.customer_id).where(
                OwnerAssignment.tenant_id == tenant_id,
                OwnerAssignment.role == role,
                OwnerAssignment.customer_id.in_([r["customer_id"] for r in rows])
                if len(rows) < 5000
                else OwnerAssignment.customer_id.is_not(None),
            )
        )
    )
    new = [r for r in rows if r["customer_id"] not in have]
    old = [r for r in rows if r["customer_id"] in have]
    table = cast(Table, OwnerAssignment.__table__)
    if new:
        session.execute(
            insert(table),
            [
                {**r, "tenant_id": tenant_id, "role": role, "assigned_at": at, "assigned_by": by}
                for r in new
            ],
        )
    if old:
        session.execute(
            update(table)
            .where(
                table.c.tenant_id == tenant_id,
                table.c.role == role,
                table.c.customer_id == _bind("cid"),
            )
            .values(
                user_id=_bind("b_user_id"),
                rule=_bind("b_rule"),
                reason=_bind("b_reason"),
                policy_version=_bind("b_policy_version"),
                locked=_bind("b_locked"),
                assigned_at=at,
                assigned_by=by,
            ),
            [{f"b_{k}": v for k, v in r.items()} | {"cid": r["customer_id"]} for r in old],
        )


def _bind(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name)
