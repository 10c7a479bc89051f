"""Payment attempts: charges the billing system tried (card declines feed dunning)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.api import ledger
from arpolicy.api.context import Api, require
from arpolicy.api.listing import between, equal, page, sort_by
from arpolicy.api.schemas import Input, MoneyValue, NotNull, Output, Page
from arpolicy.api.types import (
    Cursor,
    ExternalId,
    ExternalKey,
    Instant,
    Limit,
    PathId,
    QueryId,
    QueryInstant,
    QueryText,
    RefId,
    Text64,
    Text200,
    need_money,
)
from arpolicy.ledger.writing.resources import ATTEMPTS
from arpolicy.models import (
    AttemptStatus,
    DunningStatus,
    PaymentAttempt,
    PaymentMethod,
)

router = APIRouter(prefix="/payment-attempts", tags=["payment attempts"])


class AttemptFields(Input):
    customer_id: Annotated[RefId | None, NotNull] = None
    document_id: RefId | None = Field(None, description="The document charged, if any.")
    attempted_at: Annotated[Instant | None, NotNull] = None
    status: Annotated[AttemptStatus | None, NotNull] = None
    amount: Annotated[MoneyValue | None, NotNull] = None
    method: PaymentMethod | None = None
    gateway: Text64 | None = None
    failure_reason: Text200 | None = None
    dunning_status: DunningStatus | None = None
    attempt_number: int | None = Field(None, ge=1, le=32767, description="1 for the first try.")
    next_retry_at: Instant | None = None


class AttemptCreate(AttemptFields):
    external_id: ExternalId
    customer_id: RefId
    attempted_at: Instant
    status: AttemptStatus
    amount: MoneyValue


class AttemptUpdate(AttemptFields):
    """Fields to change; ``external_id`` cannot change."""

    external_id: ExternalKey = None


class AttemptRead(Output):
    id: int
    external_id: str
    customer_id: int
    document_id: int | None
    attempted_at: datetime
    status: AttemptStatus
    amount: MoneyValue
    method: PaymentMethod | None
    gateway: str | None
    failure_reason: str | None
    dunning_status: DunningStatus | None
    attempt_number: int
    next_retry_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None


_SAME = [n for n in AttemptRead.model_fields if n != "amount"]


def read(a: PaymentAttempt, base: str = "") -> AttemptRead:
    return AttemptRead.model_construct(
        **{name: getattr(a, name) for name in _SAME},
        amount=need_money(a.amount_minor, a.currency),
    )


SORTABLE = {"id": PaymentAttempt.id, "attempted_at": PaymentAttempt.attempted_at}


@router.get("", response_model=Page[AttemptRead])
def list_attempts(
    api: Api = Depends(require("ledger:read")),
    customer_id: QueryId = None,
    document_id: QueryId = None,
    external_id: QueryText = None,
    status: AttemptStatus | None = None,
    dunning_status: DunningStatus | None = None,
    method: PaymentMethod | None = None,
    attempted_from: QueryInstant = None,
    attempted_to: QueryInstant = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    sort: str | None = sort_by(SORTABLE),
) -> Any:
    """Payment attempts, filtered; sort by id or attempted_at."""
    a = PaymentAttempt
    stmt = equal(
        select(a).where(a.tenant_id == api.tenant_id),
        {
            a.customer_id: customer_id,
            a.document_id: document_id,
            a.external_id: external_id,
            a.status: status,
            a.dunning_status: dunning_status,
            a.method: method,
        },
    )
    stmt = between(stmt, a.attempted_at, attempted_from, attempted_to)
    with api.read() as session:
        return page(
            session,
            stmt,
            a,
            AttemptRead,
            read,
            sort=sort,
            cursor=cursor,
            limit=limit,
            sortable=SORTABLE,
        )


@router.get("/{attempt_id}", response_model=AttemptRead)
def read_attempt(attempt_id: PathId, api: Api = Depends(require("ledger:read"))) -> Any:
    with api.read() as session:
        return read(ledger.get_or_404(session, api, ATTEMPTS, attempt_id))


@router.post("", status_code=201, response_model=AttemptRead)
def create_attempt(body: AttemptCreate, api: Api = Depends(require("ledger:write"))) -> Any:
    """Record a payment attempt (409 if its external_id exists)."""

    def work(session: Session) -> Any:
        return read(ledger.create(session, api, ATTEMPTS, body))

    return api.created(work)


@router.patch("/{attempt_id}", response_model=AttemptRead)
def update_attempt(
    attempt_id: PathId, body: AttemptUpdate, api: Api = Depends(require("ledger:write"))
) -> Any:
    with api.write() as session:
        return read(ledger.update(session, api, ATTEMPTS, attempt_id, body))
