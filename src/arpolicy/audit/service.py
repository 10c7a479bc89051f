"""Writing and reading the audit log. Events are written in the same transaction as the
change they describe, so a change without its event (or the reverse) cannot be committed."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Select, insert, inspect, select
from sqlalchemy.orm import Session

from arpolicy.kit.bulk import insert_many
from arpolicy.kit.clock import Clock
from arpolicy.models import AuditEvent

HIDDEN = frozenset(
    {
        "key_hash",
        "secret",
        "secret_hash",
        "password_hash",
        "csrf_token",
        "tenant_id",
        "created_at",
        "updated_at",
    }
)
"""Columns never copied into an event (secrets, and what every row has)."""


@dataclass(frozen=True)
class Actor:
    """Who acts: a user through a key, or the system (a job)."""

    tenant_id: int
    label: str
    """``key:<prefix> (<email>)``, ``user:<email>`` or ``system:<job>``."""
    user_id: int | None = None
    request_id: str | None = None
    clock: Clock | None = field(default=None, compare=False)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def snapshot(obj: Any, only: Iterable[str] | None = None) -> dict[str, Any]:
    """The stored columns of an ORM object as JSON-ready values (secrets left out)."""
    mapper = inspect(obj).mapper
    names = [c.key for c in mapper.column_attrs if c.key not in HIDDEN]
    if only is not None:
        wanted = set(only)
        names = [n for n in names if n in wanted]
    return {n: _plain(getattr(obj, n)) for n in names}


def changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values differ, on both sides."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: Any = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    at: datetime,
) -> AuditEvent:
    event = AuditEvent(
        tenant_id=actor.tenant_id,
        at=at,
        actor=actor.label,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
        reason=reason,
        request_id=actor.request_id,
    )
    session.add(event)
    return event


_TABLE: Any = AuditEvent.__table__
_ONE = insert(_TABLE).returning(_TABLE.c.id)


def record_one(
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: Any,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: datetime,
) -> int:
    """:func:`record` written at once by one INSERT (no ORM object, no flush), for a write
    path that records an event per change (the ledger write service): the event's id."""
    params = {
        "tenant_id": actor.tenant_id,
        "at": at,
        "actor": actor.label,
        "action": action,
        "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id),
        "before": _plain(before) if before is not None else None,
        "after": _plain(after) if after is not None else None,
        "reason": None,
        "request_id": actor.request_id,
    }
    return int(session.connection().execute(_ONE, params).scalar_one())


@dataclass(frozen=True)
class Entry:
    """One event of :func:`record_many` (the actor and the instant are the batch's)."""

    action: str
    entity: str
    entity_id: Any = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    reason: str | None = None


COLUMNS = (
    "tenant_id",
    "at",
    "actor",
    "action",
    "entity",
    "entity_id",
    "before",
    "after",
    "reason",
    "request_id",
)


def record_many(session: Session, actor: Actor, entries: Iterable[Entry], *, at: datetime) -> int:
    """The events of a bulk change (an import, a run's decisions) in one multi-row INSERT,
    in the caller's transaction; returns how many. ``before`` and ``after`` must already be
    JSON-plain (ids, strings, numbers): the bulk path does not convert them."""
    rows = [
        (
            actor.tenant_id,
            at,
            actor.label,
            e.action,
            e.entity,
            None if e.entity_id is None else str(e.entity_id),
            e.before,
            e.after,
            e.reason,
            actor.request_id,
        )
        for e in entries
    ]
    insert_many(session, AuditEvent, COLUMNS, rows)
    return len(rows)


def list_events(
    tenant_id: int,
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[AuditEvent]:
    """The tenant's events, filtered (newest first is the caller's ordering)."""
    stmt = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    if entity:
        stmt = stmt.where(AuditEvent.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if actor:
        stmt = stmt.where(AuditEvent.actor.contains(actor, autoescape=True))
    if since:
        stmt = stmt.where(AuditEvent.at >= since)
    if until:
        stmt = stmt.where(AuditEvent.at < until)
    return stmt


def describe(event: AuditEvent, width: int = 120) -> str:
    """One line for a person: ``role: collector -> admin`` for a change, the counts of an
    import, the names and values of what was created; the reason after it."""
    before, after = event.before or {}, event.after or {}
    if event.action == "import.completed":
        text = (
            f"{after.get('kind')} from {after.get('file') or 'rows'}: {after.get('rows')} rows, "
            f"{after.get('inserted')} created, {after.get('updated')} updated, "
            f"{after.get('rejected')} rejected"
        )
        if "changed" in after:
            text += f" ({after['changed']} changed)"
        if "ids_in_events" in after:
            text += f"; ids in {after['ids_in_events']} import.ids events"
    elif event.action == "import.ids":
        ids = after.get("ids") or {}
        text = (
            f"part {after.get('part')}/{after.get('parts')} of event {after.get('import_event')}"
            f": {len(ids.get('created', []))} created, {len(ids.get('updated', []))} updated"
        )
    elif before:
        text = "; ".join(f"{k}: {_short(before.get(k))} -> {_short(after.get(k))}" for k in after)
    else:
        text = ", ".join(f"{k}={_short(v)}" for k, v in after.items() if v is not None)
    if event.reason:
        text += f" ({event.reason})"
    return text if len(text) <= width else text[: width - 3] + "..."


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."
