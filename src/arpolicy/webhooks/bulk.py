"""Queue one event type for many changes at once (bulk runs: assignment, imports)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from arpolicy.models import OutboxMessage, OutboxStatus
from arpolicy.webhooks.events import new_event_id, subscribed


def emit_many(
    session: Session,
    tenant_id: int,
    event_type: str,
    events: Sequence[tuple[str, dict[str, Any]]],
    *,
    at: datetime,
) -> int:
    """Like :func:`arpolicy.webhooks.emit` for each ``(key, data)``, with one query for the
    endpoints and one bulk insert. Returns the number of messages queued."""
    wanted = subscribed(session, tenant_id, event_type)
    if not wanted or not events:
        return 0
    rows = []
    for key, data in events:
        event_id = new_event_id()
        payload = {"type": event_type, "timestamp": at.isoformat(), "data": data}
        rows += [
            {"tenant_id": tenant_id, "kind": "webhook", "event_type": event_type,
             "event_id": event_id, "dedupe_key": f"{key}@{e.id}", "endpoint_id": e.id,
             "payload": payload, "status": OutboxStatus.PENDING, "attempts": 0,
             "next_attempt_at": at}
            for e in wanted
        ]  # fmt: skip
    existing = set(
        session.scalars(
            select(OutboxMessage.dedupe_key).where(
                OutboxMessage.tenant_id == tenant_id,
                OutboxMessage.dedupe_key.in_([r["dedupe_key"] for r in rows]),
            )
        )
    ) if len(rows) <= 10_000 else set()  # fmt: skip
    rows = [r for r in rows if r["dedupe_key"] not in existing]
    if rows:
        session.execute(insert(cast(Table, OutboxMessage.__table__)), rows)
    return len(rows)
