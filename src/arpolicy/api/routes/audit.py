"""The audit log: who changed or decided what, when, before and after, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from arpolicy.api.context import Api, require
from arpolicy.api.pagination import DEFAULT_LIMIT, paginate
from arpolicy.api.schemas import Output, Page
from arpolicy.api.types import NO_NUL, Cursor, Limit, QueryInstant, QueryText
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
    entity: QueryText = None,
    entity_id: QueryText = None,
    action: QueryText = None,
    actor: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=NO_NUL,
            description="Part of the actor (an e-mail or key prefix).",
        ),
    ] = None,
    since: QueryInstant = None,
    until: QueryInstant = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
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
