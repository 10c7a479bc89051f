"""Payments received, and their allocations to documents.

``unallocated`` (the amount minus the payment's allocations) and the base-currency amounts
are kept by the server. An allocation applies part of a payment to a document of the same
currency; its key is the pair (payment, document).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.api import ledger
from arpolicy.api.context import Api, require
from arpolicy.api.listing import between, equal, page, page_of, rows, sort_by
from arpolicy.api.schemas import Input, MoneyValue, NotNull, Output, Page, PositiveMoney
from arpolicy.api.types import (
    Cursor,
    Day,
    ExternalId,
    ExternalKey,
    Limit,
    PathId,
    QueryCurrency,
    QueryDay,
    QueryId,
    QueryText,
    RefId,
    Text200,
    need_money,
)
from arpolicy.ledger.writing.resources import ALLOCATIONS, PAYMENTS
from arpolicy.models import Allocation, Payment, PaymentMethod

router = APIRouter(tags=["payments"])


class PaymentFields(Input):
    customer_id: Annotated[RefId | None, NotNull] = None
    amount: Annotated[MoneyValue | None, NotNull] = Field(None, description="Amount received.")
    received_on: Annotated[Day | None, NotNull] = Field(
        None, description="Date received; dates the FX rate."
    )
    method: PaymentMethod | None = None
    reference: Text200 | None = Field(None, description="Bank or gateway reference.")


class PaymentCreate(PaymentFields):
    external_id: ExternalId
    customer_id: RefId
    amount: MoneyValue
    received_on: Day


class PaymentUpdate(PaymentFields):
    """Fields to change; ``external_id`` cannot change."""

    external_id: ExternalKey = None


class PaymentRead(Output):
    id: int
    external_id: str
    customer_id: int
    currency: str
    amount: MoneyValue
    unallocated: MoneyValue
    base_amount: MoneyValue
    base_unallocated: MoneyValue
    fx_rate: str
    fx_rate_on: date | None
    received_on: date
    method: str | None
    reference: str | None
    created_at: datetime | None
    updated_at: datetime | None


_SAME = (
    "id",
    "external_id",
    "customer_id",
    "currency",
    "fx_rate_on",
    "received_on",
    "method",
    "reference",
    "created_at",
    "updated_at",
)


def read(p: Payment, base: str) -> PaymentRead:
    return PaymentRead.model_construct(
        **{name: getattr(p, name) for name in _SAME},
        amount=need_money(p.amount_minor, p.currency),
        unallocated=need_money(p.unallocated_minor, p.currency),
        base_amount=need_money(p.base_amount_minor, base),
        base_unallocated=need_money(p.base_unallocated_minor, base),
        fx_rate=str(p.fx_rate),
    )


PAYMENT_SORT = {
    "id": Payment.id,
    "received_on": Payment.received_on,
    "base_amount": Payment.base_amount_minor,
}
ALLOCATION_SORT = {"id": Allocation.id, "allocated_on": Allocation.allocated_on}


@router.get("/payments", response_model=Page[PaymentRead])
def list_payments(
    api: Api = Depends(require("ledger:read")),
    customer_id: QueryId = None,
    external_id: QueryText = None,
    currency: QueryCurrency = None,
    method: PaymentMethod | None = None,
    unallocated: bool | None = Query(
        None, description="Only payments with (true) or without (false) an unallocated part."
    ),
    received_from: QueryDay = None,
    received_to: QueryDay = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    sort: str | None = sort_by(PAYMENT_SORT),
) -> Any:
    """Payments, filtered; sort by id, received_on or base_amount."""
    p = Payment
    stmt = equal(
        select(p).where(p.tenant_id == api.tenant_id),
        {
            p.customer_id: customer_id,
            p.external_id: external_id,
            p.currency: currency,
            p.method: method.value if method else None,
        },
    )
    if unallocated is not None:
        stmt = stmt.where((p.unallocated_minor != 0) if unallocated else (p.unallocated_minor == 0))
    stmt = between(stmt, p.received_on, received_from, received_to)
    with api.read() as session:
        base = ledger.tenant_of(session, api).base_currency
        return page(
            session,
            stmt,
            p,
            PaymentRead,
            lambda r: read(r, base),
            sort=sort,
            cursor=cursor,
            limit=limit,
            sortable=PAYMENT_SORT,
        )


@router.get("/payments/{payment_id}", response_model=PaymentRead)
def read_payment(payment_id: PathId, api: Api = Depends(require("ledger:read"))) -> Any:
    with api.read() as session:
        found = ledger.get_or_404(session, api, PAYMENTS, payment_id)
        return read(found, ledger.tenant_of(session, api).base_currency)


@router.post("/payments", status_code=201, response_model=PaymentRead)
def create_payment(body: PaymentCreate, api: Api = Depends(require("ledger:write"))) -> Any:
    """Record a payment (409 if its external_id exists); converted to the base currency at
    the rate on or before ``received_on``."""

    def work(session: Session) -> Any:
        found = ledger.create(session, api, PAYMENTS, body)
        return read(found, ledger.tenant_of(session, api).base_currency)

    return api.created(work)


@router.patch("/payments/{payment_id}", response_model=PaymentRead)
def update_payment(
    payment_id: PathId, body: PaymentUpdate, api: Api = Depends(require("ledger:write"))
) -> Any:
    with api.write() as session:
        found = ledger.update(session, api, PAYMENTS, payment_id, body)
        return read(found, ledger.tenant_of(session, api).base_currency)


# --- allocations --------------------------------------------------------------------------


class AllocationCreate(Input):
    payment_id: RefId
    document_id: RefId
    amount: PositiveMoney = Field(description="Part applied; in the payment's currency.")
    allocated_on: Day | None = Field(None, description="Default: the payment's received_on.")


class AllocationUpdate(Input):
    """``payment_id`` and ``document_id`` (the key) cannot change."""

    payment_id: Annotated[RefId | None, NotNull] = None
    document_id: Annotated[RefId | None, NotNull] = None
    amount: Annotated[PositiveMoney | None, NotNull] = None
    allocated_on: Day | None = None


class AllocationRead(Output):
    id: int
    payment_id: int
    document_id: int
    amount: MoneyValue
    allocated_on: date
    created_at: datetime | None
    updated_at: datetime | None


def read_allocation(a: Allocation, currency: str) -> AllocationRead:
    return AllocationRead.model_construct(
        id=a.id,
        payment_id=a.payment_id,
        document_id=a.document_id,
        amount=need_money(a.amount_minor, currency),
        allocated_on=a.allocated_on,
        created_at=a.created_at,
        updated_at=a.updated_at,
    )


def _currencies(session: Session, api: Api, payment_ids: set[int]) -> dict[int, str]:
    rows = session.execute(
        select(Payment.id, Payment.currency).where(
            Payment.tenant_id == api.tenant_id, Payment.id.in_(payment_ids)
        )
    )
    return {pid: code for pid, code in rows}


def _shown(session: Session, api: Api, a: Allocation) -> AllocationRead:
    return read_allocation(a, _currencies(session, api, {a.payment_id})[a.payment_id])


@router.get("/allocations", response_model=Page[AllocationRead])
def list_allocations(
    api: Api = Depends(require("ledger:read")),
    payment_id: QueryId = None,
    document_id: QueryId = None,
    allocated_from: QueryDay = None,
    allocated_to: QueryDay = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    sort: str | None = sort_by(ALLOCATION_SORT),
) -> Any:
    """Allocations, filtered; sort by id or allocated_on."""
    a = Allocation
    stmt = equal(
        select(a).where(a.tenant_id == api.tenant_id),
        {a.payment_id: payment_id, a.document_id: document_id},
    )
    stmt = between(stmt, a.allocated_on, allocated_from, allocated_to)
    with api.read() as session:
        found, nxt = rows(
            session, stmt, a, sort=sort, cursor=cursor, limit=limit, sortable=ALLOCATION_SORT
        )
        codes = _currencies(session, api, {r.payment_id for r in found})
        items = [read_allocation(r, codes[r.payment_id]) for r in found]
        return page_of(AllocationRead, items, nxt)


@router.get("/allocations/{allocation_id}", response_model=AllocationRead)
def read_allocation_route(allocation_id: PathId, api: Api = Depends(require("ledger:read"))) -> Any:
    with api.read() as session:
        return _shown(session, api, ledger.get_or_404(session, api, ALLOCATIONS, allocation_id))


@router.post("/allocations", status_code=201, response_model=AllocationRead)
def create_allocation(body: AllocationCreate, api: Api = Depends(require("ledger:write"))) -> Any:
    """Apply part of a payment to a document (409 if the pair has an allocation already);
    the payment's unallocated part follows. Validated like ``arpolicy import allocations``."""

    def work(session: Session) -> Any:
        return _shown(session, api, ledger.create(session, api, ALLOCATIONS, body))

    return api.created(work)


@router.patch("/allocations/{allocation_id}", response_model=AllocationRead)
def update_allocation(
    allocation_id: PathId, body: AllocationUpdate, api: Api = Depends(require("ledger:write"))
) -> Any:
    with api.write() as session:
        found = ledger.update(session, api, ALLOCATIONS, allocation_id, body)
        return _shown(session, api, found)
