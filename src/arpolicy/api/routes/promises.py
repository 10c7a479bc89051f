"""Promises to pay: a customer's promise to pay an amount by a date, for one document or
the account. ``base_amount`` is derived by the server at the rate on ``promised_on``."""

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
    Note,
    PathId,
    QueryDay,
    QueryId,
    QueryText,
    RefId,
    need_money,
)
from arpolicy.ledger.writing.resources import PROMISES
from arpolicy.models import PromiseStatus, PromiseToPay

router = APIRouter(prefix="/promises", tags=["promises"])


class PromiseFields(Input):
    customer_id: Annotated[RefId | None, NotNull] = None
    document_id: RefId | None = Field(None, description="The document promised, if any.")
    amount: Annotated[PositiveMoney | None, NotNull] = Field(None, description="More than zero.")
    promised_on: Annotated[Day | None, NotNull] = Field(
        None, description="Date promised; dates the FX rate."
    )
    status: PromiseStatus | None = Field(None, description="Default open.")
    note: Note | None = None


class PromiseCreate(PromiseFields):
    external_id: ExternalId
    customer_id: RefId
    amount: PositiveMoney
    promised_on: Day


class PromiseUpdate(PromiseFields):
    """Fields to change; ``external_id`` cannot change."""

    external_id: ExternalKey = None


class PromiseRead(Output):
    id: int
    external_id: str
    customer_id: int
    document_id: int | None
    amount: MoneyValue
    base_amount: MoneyValue
    promised_on: date
    status: PromiseStatus
    note: str | None
    created_at: datetime | None
    updated_at: datetime | None


_SAME = [n for n in PromiseRead.model_fields if n not in ("amount", "base_amount")]


def read(p: PromiseToPay, base: str) -> PromiseRead:
    return PromiseRead.model_construct(
        **{name: getattr(p, name) for name in _SAME},
        amount=need_money(p.amount_minor, p.currency),
        base_amount=need_money(p.base_amount_minor, base),
    )


SORTABLE = {"id": PromiseToPay.id, "promised_on": PromiseToPay.promised_on}


@router.get("", response_model=Page[PromiseRead])
def list_promises(
    api: Api = Depends(require("ledger:read")),
    customer_id: QueryId = None,
    document_id: QueryId = None,
    external_id: QueryText = None,
    status: PromiseStatus | None = None,
    promised_from: QueryDay = None,
    promised_to: QueryDay = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    sort: str | None = sort_by(SORTABLE),
) -> Any:
    """Promises to pay, filtered; sort by id or promised_on."""
    p = PromiseToPay
    stmt = equal(
        select(p).where(p.tenant_id == api.tenant_id),
        {
            p.customer_id: customer_id,
            p.document_id: document_id,
            p.external_id: external_id,
            p.status: status,
        },
    )
    stmt = between(stmt, p.promised_on, promised_from, promised_to)
    with api.read() as session:
        base = ledger.tenant_of(session, api).base_currency
        return page(
            session,
            stmt,
            p,
            PromiseRead,
            lambda r: read(r, base),
            sort=sort,
            cursor=cursor,
            limit=limit,
            sortable=SORTABLE,
        )


@router.get("/{promise_id}", response_model=PromiseRead)
def read_promise(promise_id: PathId, api: Api = Depends(require("ledger:read"))) -> Any:
    with api.read() as session:
        found = ledger.get_or_404(session, api, PROMISES, promise_id)
        return read(found, ledger.tenant_of(session, api).base_currency)


@router.post("", status_code=201, response_model=PromiseRead)
def create_promise(body: PromiseCreate, api: Api = Depends(require("ledger:write"))) -> Any:
    """Record a promise to pay (409 if its external_id exists)."""

    def work(session: Session) -> Any:
        found = ledger.create(session, api, PROMISES, body)
        return read(found, ledger.tenant_of(session, api).base_currency)

    return api.created(work)


@router.patch("/{promise_id}", response_model=PromiseRead)
def update_promise(
    promise_id: PathId, body: PromiseUpdate, api: Api = Depends(require("ledger:write"))
) -> Any:
    with api.write() as session:
        found = ledger.update(session, api, PROMISES, promise_id, body)
        return read(found, ledger.tenant_of(session, api).base_currency)
