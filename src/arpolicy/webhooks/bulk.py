"""Queue one event type for many changes at once (bulk runs: assignment, imports)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.kit.bulk import insert_many
from arpolicy.models import OutboxMessage, OutboxStatus
from arpolicy.webhooks.events import new_event_id, subscribed

COLUMNS = [
    "tenant_id",
    "kind",
    "event_type",
    "event_id",
    "dedupe_key",
    "endpoint_id",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
]
CHECK_EXISTING = 10_000
"""Up to this many messages, keys already queued are looked up and skipped (a repeated
call is a no-op); a larger batch is a new run whose keys carry its instant."""


def emit_many(
    session: Session,
    tenant_id: int,
    event_type: str,
    events: Iterable[tuple[str, dict[str, Any]]],
    *,
    at: datetime,
) -> int:
    """Like :func:`arpolicy.webhooks.emit` for each ``(key, data)``, with one query for the
    endpoints and one bulk insert. ``events`` is only iterated when some endpoint
    subscribes to ``event_type``. Returns the number of messages queued."""
    wanted = subscribed(session, tenant_id, event_type)
    if not wanted:
        return 0
    stamp = at.isoformat()
    rows = []
    for key, data in events:
        event_id, payload = new_event_id(), {"type": event_type, "timestamp": stamp, "data": data}
        rows += [
            (
                tenant_id,
                "webhook",
                event_type,
                event_id,
                f"{key}@{e.id}",
                e.id,
                payload,
                OutboxStatus.PENDING,
                0,
                at,
            )
            for e in wanted
        ]
    if not rows:
        return 0
    if len(rows) <= CHECK_EXISTING:
        existing = set(
            session.scalars(
                select(OutboxMessage.dedupe_key).where(
                    OutboxMessage.tenant_id == tenant_id,
                    OutboxMessage.dedupe_key.in_([r[4] for r in rows]),
                )
            )
        )
        rows = [r for r in rows if r[4] not in existing]
    insert_many(session, OutboxMessage, COLUMNS, rows)
    return len(rows)
