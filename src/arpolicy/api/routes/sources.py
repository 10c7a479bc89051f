"""Payment sources: cards and bank accounts on file."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.api import ledger
from arpolicy.api.context import Api, require
from arpolicy.api.listing import equal, page, sort_by
from arpolicy.api.schemas import Input, NotNull, Output, Page
from arpolicy.api.types import (
    Cursor,
    ExternalId,
    ExternalKey,
    Limit,
    PathId,
    QueryId,
    QueryText,
    RefId,
    Text32,
    Text64,
)
from arpolicy.ledger.writing.resources import SOURCES
from arpolicy.models import PaymentSource, SourceKind, SourceRole, SourceStatus

router = APIRouter(prefix="/payment-sources", tags=["payment sources"])


class SourceFields(Input):
    customer_id: Annotated[RefId | None, NotNull] = None
    kind: Annotated[SourceKind | None, NotNull] = None
    status: SourceStatus | None = Field(None, description="Default valid.")
    role: SourceRole | None = Field(None, description="Default none.")
    gateway: Text64 | None = None
    brand: Text32 | None = None
    last4: str | None = Field(
        None,
        pattern=r"^[0-9]{4}$",
        description="Last four digits; an update that gives them records the ones they "
        "replace as previous_last4.",
    )
    previous_last4: str | None = Field(
        None,
        pattern=r"^[0-9]{4}$",
        description="Last four digits before the card's last update (default: recorded).",
    )
    expiry_month: int | None = Field(None, ge=1, le=12)
    expiry_year: int | None = Field(None, ge=2000, le=2100)


class SourceCreate(SourceFields):
    external_id: ExternalId
    customer_id: RefId
    kind: SourceKind


class SourceUpdate(SourceFields):
    """Fields to change; ``external_id`` cannot change."""

    external_id: ExternalKey = None


class SourceRead(Output):
    id: int
    external_id: str
    customer_id: int
    kind: SourceKind
    status: SourceStatus
    role: SourceRole
    gateway: str | None
    brand: str | None
    last4: str | None
    previous_last4: str | None = Field(
        description="Last four digits before the last update (null: never updated)."
    )
    expiry_month: int | None
    expiry_year: int | None
    created_at: datetime | None
    updated_at: datetime | None


def read(s: PaymentSource, base: str = "") -> SourceRead:
    return SourceRead.model_validate(s)


SORTABLE = {"id": PaymentSource.id, "external_id": PaymentSource.external_id}


@router.get("", response_model=Page[SourceRead])
def list_sources(
    api: Api = Depends(require("ledger:read")),
    customer_id: QueryId = None,
    external_id: QueryText = None,
    kind: SourceKind | None = None,
    status: SourceStatus | None = None,
    role: SourceRole | None = None,
    gateway: QueryText = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    sort: str | None = sort_by(SORTABLE),
) -> Any:
    """Payment sources, filtered; sort by id or external_id."""
    s = PaymentSource
    stmt = equal(
        select(s).where(s.tenant_id == api.tenant_id),
        {
            s.customer_id: customer_id,
            s.external_id: external_id,
            s.kind: kind,
            s.status: status,
            s.role: role,
            s.gateway: gateway,
        },
    )
    with api.read() as session:
        return page(
            session,
            stmt,
            s,
            SourceRead,
            read,
            sort=sort,
            cursor=cursor,
            limit=limit,
            sortable=SORTABLE,
        )


@router.get("/{source_id}", response_model=SourceRead)
def read_source(source_id: PathId, api: Api = Depends(require("ledger:read"))) -> Any:
    with api.read() as session:
        return read(ledger.get_or_404(session, api, SOURCES, source_id))


@router.post("", status_code=201, response_model=SourceRead)
def create_source(body: SourceCreate, api: Api = Depends(require("ledger:write"))) -> Any:
    """Record a payment source (409 if its external_id exists)."""

    def work(session: Session) -> Any:
        return read(ledger.create(session, api, SOURCES, body))

    return api.created(work)


@router.patch("/{source_id}", response_model=SourceRead)
def update_source(
    source_id: PathId, body: SourceUpdate, api: Api = Depends(require("ledger:write"))
) -> Any:
    with api.write() as session:
        return read(ledger.update(session, api, SOURCES, source_id, body))
