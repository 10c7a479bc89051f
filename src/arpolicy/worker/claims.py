"""The worker's only cross-tenant statements: claiming due messages and purging expired
idempotency keys. Everything else the worker does is scoped to one tenant
(:func:`arpolicy.api.context.scope_tenant`), so under PostgreSQL row-level security only
these two functions need a way to see every tenant: they learn the tenant ids from the
SECURITY DEFINER lookups of :mod:`arpolicy.tenancy.rls` and then work tenant by tenant.

A claim is a lease: the claiming transaction moves ``next_attempt_at`` of each row it
picked ``lease`` into the future and commits. No other worker finds those rows due until
the lease runs out, so the HTTP request happens outside any transaction and a worker that
dies mid-batch only delays its messages by the lease. On PostgreSQL the rows are picked
with ``FOR UPDATE SKIP LOCKED``, so concurrent workers take disjoint batches without
waiting on each other; on SQLite the write transaction (``BEGIN IMMEDIATE``) serializes
claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from arpolicy.idempotency import purge
from arpolicy.models import OutboxMessage, OutboxStatus
from arpolicy.tenancy.rls import (
    on_postgres,
    scope_tenant,
    tenant_directory,
    tenants_with_due_outbox,
)

LEASE = timedelta(minutes=5)
"""How long a claimed message stays invisible to other workers."""
KIND = "webhook"
"""The kind claimed unless told otherwise (``email`` messages: :mod:`arpolicy.worker.emails`)."""


@dataclass(frozen=True)
class Claim:
    tenant_id: int
    message_id: int
    until: datetime
    """The lease's end: the ``next_attempt_at`` this claim wrote (its fencing token)."""


def claim_due(
    session: Session, now: datetime, limit: int, *, lease: timedelta = LEASE, kind: str = KIND
) -> list[Claim]:
    """Claim up to ``limit`` messages of ``kind`` (webhooks unless told) of any tenant that
    are due at ``now`` (pending, ``next_attempt_at <= now``), oldest due first. Messages of
    other kinds are left alone.

    On PostgreSQL row-level security hides every row until a tenant is set: the tenants
    with due messages come from a SECURITY DEFINER lookup (the longest waiting first), and
    each one's messages are claimed with the transaction scoped to it."""
    if not on_postgres(session):
        return _claim(session, now, limit, lease, kind)
    claims: list[Claim] = []
    for tenant_id in tenants_with_due_outbox(session, now, kind=kind, limit=limit):
        if len(claims) >= limit:
            break
        scope_tenant(session, tenant_id)
        claims += _claim(session, now, limit - len(claims), lease, kind, tenant_id)
    return claims


def _claim(
    session: Session,
    now: datetime,
    limit: int,
    lease: timedelta,
    kind: str,
    tenant_id: int | None = None,
) -> list[Claim]:
    pick = (
        select(OutboxMessage.tenant_id, OutboxMessage.id)
        .where(
            OutboxMessage.kind == kind,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= now,
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if tenant_id is not None:
        pick = pick.where(OutboxMessage.tenant_id == tenant_id)
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    rows = session.execute(pick).all()
    if not rows:
        return []
    until = now + lease
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_([r.id for r in rows]))
        .values(next_attempt_at=until)
        .execution_options(synchronize_session=False)
    )
    return [Claim(r.tenant_id, r.id, until) for r in rows]


def purge_idempotency(session: Session, before: datetime) -> int:
    """Forget every tenant's Idempotency-Keys created before ``before`` (on PostgreSQL one
    tenant at a time, each scoped for row-level security)."""
    if not on_postgres(session):
        return purge(session, before)
    purged = 0
    for tenant_id, _ in tenant_directory(session):
        scope_tenant(session, tenant_id)
        purged += purge(session, before)
    return purged


__all__ = ["LEASE", "Claim", "claim_due", "purge_idempotency"]
