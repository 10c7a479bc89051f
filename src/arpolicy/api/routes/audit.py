"""The audit log: who changed or decided what, when, before and after, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from arpolicy.api import listing
from arpolicy.api.context import Api, require
from arpolicy.api.listing import sort_by
from arpolicy.api.pagination import DEFAULT_LIMIT
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


SORTABLE = {"id": AuditEvent.id}


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
    sort: str | None = sort_by(SORTABLE, default="-id: newest first"),
) -> Any:
    stmt = list_events(
        api.tenant_id,
        entity=entity,
        entity_id=entity_id,
        action=action,
        actor=actor,
        since=since,
        until=until,
    )
    with api.read() as session:
        rows, nxt = listing.rows(
            session,
            stmt,
            AuditEvent,
            sort=sort,
            cursor=cursor,
            limit=limit,
            sortable=SORTABLE,
            default="-id",
        )
        items = [AuditEventRead.model_validate(r) for r in rows]
        return Page[AuditEventRead](items=items, next_cursor=nxt)
