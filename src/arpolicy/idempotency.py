"""Idempotency keys as stored: one row per (tenant, key), owned by the principal that sent
the first request. The HTTP side (claiming a key for a request, replaying the stored
response) is in :mod:`arpolicy.api.idempotency`; the worker purges old keys from here
without loading the API."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from arpolicy.models import IdempotencyRecord


def find(session: Session, tenant_id: int, key: str) -> IdempotencyRecord | None:
    return session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.key == key
        )
    )


def insert(
    session: Session, tenant_id: int, key: str, request_hash: str, principal: str, at: datetime
) -> bool:
    """Claim ``key``; False when a concurrent transaction claimed it first (PostgreSQL)."""
    try:
        with session.begin_nested():
            session.add(
                IdempotencyRecord(
                    tenant_id=tenant_id,
                    key=key,
                    request_hash=request_hash,
                    principal=principal,
                    created_at=at,
                )
            )
    except IntegrityError:
        return False
    return True


def purge(session: Session, before: datetime) -> int:
    """Forget keys created before ``before`` (the worker calls this daily)."""
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
