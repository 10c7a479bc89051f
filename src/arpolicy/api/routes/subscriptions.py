"""Subscriptions of the billing system."""

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
from arpolicy.api.schemas import Input, MoneyValue, NotNull, Output, Page
from arpolicy.api.types import (
    Currency,
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
    Text100,
    money,
)
from arpolicy.ledger.writing.resources import SUBSCRIPTIONS
from arpolicy.models import Subscription, SubscriptionStatus

router = APIRouter(prefix="/subscriptions", tags=["subscriptions"])


class SubscriptionFields(Input):
    customer_id: Annotated[RefId | None, NotNull] = None
    status: Annotated[SubscriptionStatus | None, NotNull] = None
    plan: Text100 | None = None
    currency: Currency | None = None
    mrr: MoneyValue | None = Field(None, description="Monthly recurring revenue.")
    started_on: Day | None = None
    trial_end_on: Day | None = None
    next_billing_on: Day | None = None
    cancelled_on: Day | None = None


class SubscriptionCreate(SubscriptionFields):
    external_id: ExternalId
    customer_id: RefId
    status: SubscriptionStatus


class SubscriptionUpdate(SubscriptionFields):
    """Fields to change; ``external_id`` cannot change."""

    external_id: ExternalKey = None


class SubscriptionRead(Output):
    id: int
    external_id: str
    customer_id: int
    status: SubscriptionStatus
    plan: str | None
    currency: str | None
    mrr: MoneyValue | None
    started_on: date | None
    trial_end_on: date | None
    next_billing_on: date | None
    cancelled_on: date | None
    created_at: datetime | None
    updated_at: datetime | None


_SAME = [n for n in SubscriptionRead.model_fields if n != "mrr"]


def read(s: Subscription, base: str = "") -> SubscriptionRead:
    return SubscriptionRead.model_construct(
        **{name: getattr(s, name) for name in _SAME}, mrr=money(s.mrr_minor, s.currency)
    )


SORTABLE = {
    "id": Subscription.id,
    "started_on": Subscription.started_on,
    "next_billing_on": Subscription.next_billing_on,
}


@router.get("", response_model=Page[SubscriptionRead])
def list_subscriptions(
    api: Api = Depends(require("ledger:read")),
    customer_id: QueryId = None,
    external_id: QueryText = None,
    status: SubscriptionStatus | None = None,
    plan: QueryText = None,
    currency: QueryCurrency = None,
    next_billing_from: QueryDay = None,
    next_billing_to: QueryDay = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    sort: str | None = sort_by(SORTABLE),
) -> Any:
    """Subscriptions, filtered; sort by id, started_on or next_billing_on."""
    s = Subscription
    stmt = equal(
        select(s).where(s.tenant_id == api.tenant_id),
        {
            s.customer_id: customer_id,
            s.external_id: external_id,
            s.status: status,
            s.plan: plan,
            s.currency: currency,
        },
    )
    stmt = between(stmt, s.next_billing_on, next_billing_from, next_billing_to)
    with api.read() as session:
        return page(
            session,
            stmt,
            s,
            SubscriptionRead,
            read,
            sort=sort,
            cursor=cursor,
            limit=limit,
            sortable=SORTABLE,
        )


@router.get("/{subscription_id}", response_model=SubscriptionRead)
def read_subscription(subscription_id: PathId, api: Api = Depends(require("ledger:read"))) -> Any:
    with api.read() as session:
        return read(ledger.get_or_404(session, api, SUBSCRIPTIONS, subscription_id))


@router.post("", status_code=201, response_model=SubscriptionRead)
def create_subscription(
    body: SubscriptionCreate, api: Api = Depends(require("ledger:write"))
) -> Any:
    """Create a subscription (409 if its external_id exists)."""

    def work(session: Session) -> Any:
        return read(ledger.create(session, api, SUBSCRIPTIONS, body))

    return api.created(work)


@router.patch("/{subscription_id}", response_model=SubscriptionRead)
def update_subscription(
    subscription_id: PathId, body: SubscriptionUpdate, api: Api = Depends(require("ledger:write"))
) -> Any:
    with api.write() as session:
        return read(ledger.update(session, api, SUBSCRIPTIONS, subscription_id, body))
