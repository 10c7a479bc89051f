"""The audit log: who changed or decided what, when, before and after, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query

from arpolicy.api.context import Api, require
from arpolicy.api.pagination import DEFAULT_LIMIT, paginate
from arpolicy.api.schemas import Output, Page
from arpolicy.audit import list_events
from arpolicy.models import AuditEvent

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditEventRead(Output):
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    request_id: str | None


@router.get("", response_model=Page[AuditEventRead])
def read_audit(
    api: Api = Depends(require("audit:read")),
    entity: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    actor: str | None = Query(None, description="Part of the actor (an e-mail or key prefix)."),
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=500),
    sort: str | None = Query(None, description="-id (default, newest first) or id."),
) -> Any:
    stmt = list_events(
        api.tenant_id, entity=entity, entity_id=entity_id, action=action, actor=actor,
        since=since, until=until,
    )  # fmt: skip
    with api.read() as session:
        rows, nxt = paginate(
            session, stmt, AuditEvent, sort=sort, cursor=cursor, limit=limit,
            sortable={"id": AuditEvent.id}, default="-id",
        )  # fmt: skip
        items = [AuditEventRead.model_validate(r) for r in rows]
        return Page[AuditEventRead](items=items, next_cursor=nxt)
