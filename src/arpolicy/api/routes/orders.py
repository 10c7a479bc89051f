"""Sales orders (credit checks hold or release them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.api import ledger
from arpolicy.api.context import Api, require
from arpolicy.api.listing import between, equal, page, sort_by
from arpolicy.api.schemas import Input, MoneyValue, NonNegativeMoney, NotNull, Output, Page
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
    need_money,
)
from arpolicy.ledger.writing.resources import ORDERS
from arpolicy.models import OrderStatus, SalesOrder

router = APIRouter(prefix="/orders", tags=["orders"])


class OrderFields(Input):
    customer_id: Annotated[RefId | None, NotNull] = None
    amount: Annotated[NonNegativeMoney | None, NotNull] = None
    status: Annotated[OrderStatus | None, NotNull] = None
    ordered_on: Annotated[Day | None, NotNull] = None
    expected_ship_on: Day | None = None


class OrderCreate(OrderFields):
    external_id: ExternalId
    customer_id: RefId
    amount: NonNegativeMoney
    status: OrderStatus
    ordered_on: Day


class OrderUpdate(OrderFields):
    """Fields to change; ``external_id`` cannot change."""

    external_id: ExternalKey = None


class OrderRead(Output):
    id: int
    external_id: str
    customer_id: int
    amount: MoneyValue
    status: OrderStatus
    ordered_on: date
    expected_ship_on: date | None
    created_at: datetime | None
    updated_at: datetime | None


_SAME = [n for n in OrderRead.model_fields if n != "amount"]


def read(o: SalesOrder, base: str = "") -> OrderRead:
    return OrderRead.model_construct(
        **{name: getattr(o, name) for name in _SAME},
        amount=need_money(o.amount_minor, o.currency),
    )


SORTABLE = {"id": SalesOrder.id, "ordered_on": SalesOrder.ordered_on}


@router.get("", response_model=Page[OrderRead])
def list_orders(
    api: Api = Depends(require("ledger:read")),
    customer_id: QueryId = None,
    external_id: QueryText = None,
    status: OrderStatus | None = None,
    currency: QueryCurrency = None,
    ordered_from: QueryDay = None,
    ordered_to: QueryDay = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    sort: str | None = sort_by(SORTABLE),
) -> Any:
    """Sales orders, filtered; sort by id or ordered_on."""
    o = SalesOrder
    stmt = equal(
        select(o).where(o.tenant_id == api.tenant_id),
        {
            o.customer_id: customer_id,
            o.external_id: external_id,
            o.status: status,
            o.currency: currency,
        },
    )
    stmt = between(stmt, o.ordered_on, ordered_from, ordered_to)
    with api.read() as session:
        return page(
            session,
            stmt,
            o,
            OrderRead,
            read,
            sort=sort,
            cursor=cursor,
            limit=limit,
            sortable=SORTABLE,
        )


@router.get("/{order_id}", response_model=OrderRead)
def read_order(order_id: PathId, api: Api = Depends(require("ledger:read"))) -> Any:
    with api.read() as session:
        return read(ledger.get_or_404(session, api, ORDERS, order_id))


@router.post("", status_code=201, response_model=OrderRead)
def create_order(body: OrderCreate, api: Api = Depends(require("ledger:write"))) -> Any:
    """Create a sales order (409 if its external_id exists)."""

    def work(session: Session) -> Any:
        return read(ledger.create(session, api, ORDERS, body))

    return api.created(work)


@router.patch("/{order_id}", response_model=OrderRead)
def update_order(
    order_id: PathId, body: OrderUpdate, api: Api = Depends(require("ledger:write"))
) -> Any:
    with api.write() as session:
        return read(ledger.update(session, api, ORDERS, order_id, body))
