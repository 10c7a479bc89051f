"""Dated FX rates: 1 ``from_currency`` = ``rate`` ``to_currency`` from ``valid_on`` on.

The key is (from_currency, to_currency, valid_on). Documents, payments, promises and
disputes are converted to the base currency at the rate on or before their date when they
are stored; a new rate applies to records stored (or updated) after it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.api import ledger
from arpolicy.api.context import Api, require
from arpolicy.api.listing import between, equal, page, sort_by
from arpolicy.api.schemas import Input, NotNull, Output, Page
from arpolicy.api.types import (
    Currency,
    Cursor,
    Day,
    Limit,
    PathId,
    QueryCurrency,
    QueryDay,
    Text64,
)
from arpolicy.ledger.writing.resources import RATES
from arpolicy.models import FxRate

router = APIRouter(prefix="/fx-rates", tags=["fx rates"])

Rate = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,15}(\.[0-9]{1,14})?$"),
    Field(
        description="Units of to_currency for one from_currency, as a decimal string.",
        examples=["1.0825"],
        json_schema_extra={"not": {"pattern": "^[0.]*$"}},
    ),  # not zero
]


class RateCreate(Input):
    from_currency: Currency
    to_currency: Currency
    valid_on: Day = Field(description="First day the rate applies.")
    rate: Rate
    source: Text64 | None = Field(None, description="Where it comes from (ECB, bank...).")


class RateUpdate(Input):
    """``rate`` and ``source`` may change; the key (currencies, valid_on) cannot."""

    from_currency: Annotated[Currency | None, NotNull] = None
    to_currency: Annotated[Currency | None, NotNull] = None
    valid_on: Annotated[Day | None, NotNull] = None
    rate: Annotated[Rate | None, NotNull] = None
    source: Text64 | None = None


class RateRead(Output):
    id: int
    from_currency: str
    to_currency: str
    valid_on: date
    rate: str
    source: str | None
    created_at: datetime | None
    updated_at: datetime | None


def read(r: FxRate, base: str = "") -> RateRead:
    return RateRead.model_construct(
        id=r.id,
        from_currency=r.from_currency,
        to_currency=r.to_currency,
        valid_on=r.valid_on,
        rate=str(r.rate),
        source=r.source,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


SORTABLE = {"id": FxRate.id, "valid_on": FxRate.valid_on}


@router.get("", response_model=Page[RateRead])
def list_rates(
    api: Api = Depends(require("ledger:read")),
    from_currency: QueryCurrency = None,
    to_currency: QueryCurrency = None,
    valid_from: QueryDay = None,
    valid_to: QueryDay = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    sort: str | None = sort_by(SORTABLE),
) -> Any:
    """FX rates, filtered (``valid_on`` between ``valid_from`` and ``valid_to``); sort by id
    or valid_on."""
    f = FxRate
    stmt = equal(
        select(f).where(f.tenant_id == api.tenant_id),
        {f.from_currency: from_currency, f.to_currency: to_currency},
    )
    stmt = between(stmt, f.valid_on, valid_from, valid_to)
    with api.read() as session:
        return page(
            session,
            stmt,
            f,
            RateRead,
            read,
            sort=sort,
            cursor=cursor,
            limit=limit,
            sortable=SORTABLE,
        )


@router.get("/{rate_id}", response_model=RateRead)
def read_rate(rate_id: PathId, api: Api = Depends(require("ledger:read"))) -> Any:
    with api.read() as session:
        return read(ledger.get_or_404(session, api, RATES, rate_id))


@router.post("", status_code=201, response_model=RateRead)
def create_rate(body: RateCreate, api: Api = Depends(require("ledger:write"))) -> Any:
    """Add a rate (409 if the pair has one on that day)."""

    def work(session: Session) -> Any:
        return read(ledger.create(session, api, RATES, body))

    return api.created(work)


@router.patch("/{rate_id}", response_model=RateRead)
def update_rate(
    rate_id: PathId, body: RateUpdate, api: Api = Depends(require("ledger:write"))
) -> Any:
    with api.write() as session:
        return read(ledger.update(session, api, RATES, rate_id, body))
