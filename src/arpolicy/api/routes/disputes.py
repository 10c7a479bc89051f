"""Disputes: amounts a customer contests, for one document or the account.
``base_amount`` is derived by the server at the rate on ``opened_on``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.api import ledger
from arpolicy.api.context import Api, require
from arpolicy.api.listing import between, equal, page, sort_by
from arpolicy.api.schemas import Input, MoneyValue, NotNull, Output, Page, PositiveMoney
from arpolicy.api.types import (
    Cursor,
    Day,
    ExternalId,
    ExternalKey,
    Limit,
    PathId,
    QueryDay,
    QueryId,
    QueryText,
    RefId,
    Text200,
    need_money,
)
from arpolicy.ledger.writing.resources import DISPUTES
from arpolicy.models import Dispute, DisputeStatus

router = APIRouter(prefix="/disputes", tags=["disputes"])


class DisputeFields(Input):
    customer_id: Annotated[RefId | None, NotNull] = None
    document_id: RefId | None = Field(None, description="The document disputed, if any.")
    amount: Annotated[PositiveMoney | None, NotNull] = Field(None, description="More than zero.")
    reason: Text200 | None = None
    status: DisputeStatus | None = Field(None, description="Default open.")
    opened_on: Annotated[Day | None, NotNull] = Field(
        None, description="Date opened; dates the FX rate."
    )
    resolved_on: Day | None = None


class DisputeCreate(DisputeFields):
    external_id: ExternalId
    customer_id: RefId
    amount: PositiveMoney
    opened_on: Day


class DisputeUpdate(DisputeFields):
    """Fields to change; ``external_id`` cannot change."""

    external_id: ExternalKey = None


class DisputeRead(Output):
    id: int
    external_id: str
    customer_id: int
    document_id: int | None
    amount: MoneyValue
    base_amount: MoneyValue
    reason: str | None
    status: DisputeStatus
    opened_on: date
    resolved_on: date | None
    created_at: datetime | None
    updated_at: datetime | None


_SAME = [n for n in DisputeRead.model_fields if n not in ("amount", "base_amount")]


def read(d: Dispute, base: str) -> DisputeRead:
    return DisputeRead.model_construct(
        **{name: getattr(d, name) for name in _SAME},
        amount=need_money(d.amount_minor, d.currency),
        base_amount=need_money(d.base_amount_minor, base),
    )


SORTABLE = {"id": Dispute.id, "opened_on": Dispute.opened_on}


@router.get("", response_model=Page[DisputeRead])
def list_disputes(
    api: Api = Depends(require("ledger:read")),
    customer_id: QueryId = None,
    document_id: QueryId = None,
    external_id: QueryText = None,
    status: DisputeStatus | None = None,
    opened_from: QueryDay = None,
    opened_to: QueryDay = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    sort: str | None = sort_by(SORTABLE),
) -> Any:
    """Disputes, filtered; sort by id or opened_on."""
    d = Dispute
    stmt = equal(
        select(d).where(d.tenant_id == api.tenant_id),
        {
            d.customer_id: customer_id,
            d.document_id: document_id,
            d.external_id: external_id,
            d.status: status,
        },
    )
    stmt = between(stmt, d.opened_on, opened_from, opened_to)
    with api.read() as session:
        base = ledger.tenant_of(session, api).base_currency
        return page(
            session,
            stmt,
            d,
            DisputeRead,
            lambda r: read(r, base),
            sort=sort,
            cursor=cursor,
            limit=limit,
            sortable=SORTABLE,
        )


@router.get("/{dispute_id}", response_model=DisputeRead)
def read_dispute(dispute_id: PathId, api: Api = Depends(require("ledger:read"))) -> Any:
    with api.read() as session:
        found = ledger.get_or_404(session, api, DISPUTES, dispute_id)
        return read(found, ledger.tenant_of(session, api).base_currency)


@router.post("", status_code=201, response_model=DisputeRead)
def create_dispute(body: DisputeCreate, api: Api = Depends(require("ledger:write"))) -> Any:
    """Open a dispute (409 if its external_id exists)."""

    def work(session: Session) -> Any:
        found = ledger.create(session, api, DISPUTES, body)
        return read(found, ledger.tenant_of(session, api).base_currency)

    return api.created(work)


@router.patch("/{dispute_id}", response_model=DisputeRead)
def update_dispute(
    dispute_id: PathId, body: DisputeUpdate, api: Api = Depends(require("ledger:write"))
) -> Any:
    with api.write() as session:
        found = ledger.update(session, api, DISPUTES, dispute_id, body)
        return read(found, ledger.tenant_of(session, api).base_currency)
