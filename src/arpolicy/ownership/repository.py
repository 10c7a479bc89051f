"""Every query owner assignment makes (all tenant-scoped): the policies, the people, the
customers' records and owners, the provenance, the round-robin cursors, and the writes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from arpolicy.kit.bulk import insert_many, update_many
from arpolicy.ledger.catalogue import tenant_catalogue
from arpolicy.ledger.rates import exchange
from arpolicy.ledger.selection import customer_records
from arpolicy.models import (
    AssignmentCursor,
    AssignmentPolicyVersion,
    Customer,
    OwnerAssignment,
    Tenant,
    User,
)
from arpolicy.ownership.policy import Person
from arpolicy.rules import Exchange, FieldSet
from arpolicy.rules.catalogue import Level

CUSTOMERS = cast(Table, Customer.__table__)
OWNER_COLUMN = {"finance": Customer.finance_owner_id, "sales": Customer.sales_owner_id}


def people(session: Session, tenant_id: int) -> list[Person]:
    rows = session.execute(
        select(User.id, User.email, User.team, User.role, User.active).where(
            User.tenant_id == tenant_id
        )
    )
    return [Person(i, e.lower(), t, str(getattr(r, "value", r)), bool(a)) for i, e, t, r, a in rows]


def customer_fields(session: Session, tenant: Tenant) -> FieldSet:
    """The tenant's customer-level rule fields (its custom fields and users included)."""
    return tenant_catalogue(session, tenant).level(Level.CUSTOMER)


def rates(session: Session, tenant: Tenant) -> Exchange:
    """The tenant's exchange rates: money literals in rules compare at them."""
    return exchange(session, tenant)


def records(
    session: Session, tenant: Tenant, fields: FieldSet, as_of: date, ids: Sequence[int] | None
) -> dict[int, dict[str, Any]]:
    """Each customer's record (``fields`` only) as of ``as_of``; all customers when None."""
    return dict(customer_records(session, tenant, fields, as_of, ids))


def outstanding_by_owner(
    session: Session,
    tenant: Tenant,
    role: str,
    fields: FieldSet,
    as_of: date,
    everyone: dict[int, dict[str, Any]] | None = None,
) -> dict[int, Decimal]:
    """Outstanding (base currency) owned by each user in ``role``, over all customers
    (``everyone``: their records, when the caller has read them all already)."""
    if everyone is None:
        everyone = records(session, tenant, fields, as_of, None)
    owners = current_owners(session, tenant.id, role, None)
    loads: dict[int, Decimal] = {}
    for cid, record in everyone.items():
        owner = owners.get(cid)
        value = record.get("outstanding")
        if owner is not None:
            loads[owner] = loads.get(owner, Decimal(0)) + (value.amount if value else Decimal(0))
    return loads


def external_ids(session: Session, tenant_id: int, ids: Sequence[int] | None) -> dict[int, str]:
    """Customer id -> external id, for ``ids`` (all customers when None)."""
    session.flush()  # Core rows (no ORM overhead) see pending changes too
    stmt = select(Customer.id, Customer.external_id).where(Customer.tenant_id == tenant_id)
    if ids is not None:
        stmt = stmt.where(Customer.id.in_(ids))
    return dict(session.connection().execute(stmt).all())


def customer(session: Session, tenant_id: int, customer_id: int) -> Customer | None:
    return session.scalar(
        select(Customer).where(Customer.tenant_id == tenant_id, Customer.id == customer_id)
    )


def assignment(
    session: Session, tenant_id: int, role: str, customer_id: int
) -> OwnerAssignment | None:
    return session.scalar(
        select(OwnerAssignment).where(
            OwnerAssignment.tenant_id == tenant_id,
            OwnerAssignment.customer_id == customer_id,
            OwnerAssignment.role == role,
        )
    )


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
    session.flush()  # Core rows (no ORM overhead) see pending changes too
    return dict(session.connection().execute(stmt).all())


def assignments(
    session: Session, tenant_id: int, role: str, ids: Sequence[int] | None
) -> dict[int, tuple[str | None, bool]]:
    stmt = select(OwnerAssignment.customer_id, OwnerAssignment.rule, OwnerAssignment.locked).where(
        OwnerAssignment.tenant_id == tenant_id, OwnerAssignment.role == role
    )
    if ids is not None:
        stmt = stmt.where(OwnerAssignment.customer_id.in_(ids))
    session.flush()  # Core rows (no ORM overhead) see pending changes too
    return {c: (r, bool(lk)) for c, r, lk in session.connection().execute(stmt)}


def customer_counts(session: Session, tenant_id: int, role: str) -> dict[int, int]:
    column = OWNER_COLUMN[role]
    stmt = (
        select(column, func.count())
        .where(Customer.tenant_id == tenant_id, column.is_not(None))
        .group_by(column)
    )
    return {int(o): int(n) for o, n in session.execute(stmt) if o is not None}


def lock_cursors(
    session: Session, tenant_id: int, role: str, rules: Iterable[str], *, lock: bool = True
) -> dict[str, int]:
    """The round-robin positions of ``rules``, each row created if missing and locked for
        the rest of the transaction (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already
        serializes writers), so concurrent assignments to one pool take turns. ``lock=False``
    (dry runs) only reads them."""
    wanted = sorted(set(rules))
    if not wanted:
        return {}
    stmt = select(AssignmentCursor.rule).where(
        AssignmentCursor.tenant_id == tenant_id,
        AssignmentCursor.role == role,
        AssignmentCursor.rule.in_(wanted),
    )
    missing = set(wanted) - set(session.scalars(stmt)) if lock else set()
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
    query = (
        select(AssignmentCursor.rule, AssignmentCursor.position)
        .where(
            AssignmentCursor.tenant_id == tenant_id,
            AssignmentCursor.role == role,
            AssignmentCursor.rule.in_(wanted),
        )
        .order_by(AssignmentCursor.rule)
    )
    if lock:
        query = query.with_for_update()
    return {rule: int(pos) for rule, pos in session.execute(query)}


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
    session: Session, tenant_id: int, role: str, owners: dict[int, int | None], at: datetime
) -> None:
    column = OWNER_COLUMN[role].key
    rows = [(o, at, tenant_id, c) for c, o in owners.items()]
    update_many(session, Customer, [column, "updated_at"], ["tenant_id", "id"], rows)


PROVENANCE = ("user_id", "rule", "reason", "policy_version", "locked", "assigned_at", "assigned_by")


def upsert_assignments(
    session: Session, tenant_id: int, role: str, rows: list[dict[str, Any]], at: datetime, by: str
) -> None:
    """Insert or replace the provenance rows (customer_id, user_id, rule, reason,
    policy_version, locked)."""
    if not rows:
        return
    ids = [r["customer_id"] for r in rows]
    stmt = select(OwnerAssignment.customer_id).where(
        OwnerAssignment.tenant_id == tenant_id, OwnerAssignment.role == role
    )
    if len(ids) < 1000:
        stmt = stmt.where(OwnerAssignment.customer_id.in_(ids))
    have = set(session.scalars(stmt))
    values = {
        r["customer_id"]: (
            r["user_id"],
            r["rule"],
            r["reason"],
            r["policy_version"],
            r["locked"],
            at,
            by,
        )
        for r in rows
    }
    new = [(tenant_id, role, c, *v) for c, v in values.items() if c not in have]
    old = [(*v, at, tenant_id, role, c) for c, v in values.items() if c in have]
    insert_many(session, OwnerAssignment, ["tenant_id", "role", "customer_id", *PROVENANCE], new)
    update_many(
        session,
        OwnerAssignment,
        [*PROVENANCE, "updated_at"],
        ["tenant_id", "role", "customer_id"],
        old,
    )
