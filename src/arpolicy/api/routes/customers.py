"""Customers, with their AR figures.

References are internal ids: ``parent_id`` (a customer), ``finance_owner_id`` and
``sales_owner_id`` (users). Setting the owners needs ``owners:write``; setting
``credit_check_exempt`` needs ``credit:write``. A read embeds the figures as of today (or
``as_of``) when the key may read reports; ``GET /v1/customers/{id}/figures`` gives them
alone.

Every create and update runs the live owner-assignment policies for the customer in the
same transaction (the ledger hook of arpolicy.ownership.hooks, on every write path;
docs/assignment.md): the answer already carries the owners they chose. An owner given in
the body is the caller's choice: it is stored as set by hand and that role's policy is not
run for this write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.api import ledger
from arpolicy.api.context import Api, require
from arpolicy.api.listing import contains, equal, page, sort_by
from arpolicy.api.routes.reports import FiguresRead, figures_of
from arpolicy.api.schemas import Input, MoneyValue, NotNull, Output, Page, answer
from arpolicy.api.types import (
    AsOf,
    Country,
    Currency,
    Cursor,
    CustomFields,
    ExternalId,
    ExternalKey,
    Language,
    Limit,
    Locale,
    PathId,
    QueryCurrency,
    QueryId,
    QueryText,
    RefId,
    Text64,
    Text200,
    Text300,
    money,
)
from arpolicy.ledger.writing.resources import CUSTOMERS
from arpolicy.ledger.writing.service import find_row
from arpolicy.models import Customer

router = APIRouter(prefix="/customers", tags=["customers"])


class Address(Input):
    line1: Text200 | None = None
    line2: Text200 | None = None
    city: Text200 | None = None
    state: Text200 | None = None
    postal_code: Text200 | None = None
    country: Country | None = None


class CustomerFields(Input):
    name: Annotated[Text300 | None, NotNull] = None
    country: Country | None = Field(None, description="ISO 3166-1 alpha-2 (US, DE).")
    language: Language | None = Field(None, description="ISO 639-1 (en, de).")
    currency: Currency | None = Field(None, description="Billing currency (ISO 4217).")
    locale: Locale | None = Field(None, examples=["en_US"])
    region: Text64 | None = None
    timezone: Text64 | None = Field(None, examples=["Europe/Berlin"])
    segment: Text64 | None = None
    customer_group: Text64 | None = None
    parent_id: RefId | None = Field(None, description="The parent account (a customer id).")
    finance_owner_id: RefId | None = Field(None, description="A user id; needs owners:write.")
    sales_owner_id: RefId | None = Field(None, description="A user id; needs owners:write.")
    net_term_days: int | None = Field(None, ge=0, le=3650)
    auto_collection: bool | None = None
    credit_check_exempt: bool | None = Field(None, description="Needs credit:write.")
    billing_address: Address | None = None
    reported_balance: MoneyValue | None = Field(
        None, description="Balance the billing system reports, in the customer's currency."
    )
    custom_fields: CustomFields | None = None


class CustomerCreate(CustomerFields):
    external_id: ExternalId = Field(description="The id in the billing system (unique).")
    name: Text300


class CustomerUpdate(CustomerFields):
    """Fields to change; the others keep their values. ``external_id`` cannot change."""

    external_id: ExternalKey = None


class CustomerRead(Output):
    id: int
    external_id: str
    name: str
    country: str | None
    language: str | None
    currency: str | None
    locale: str | None
    region: str | None
    timezone: str | None
    segment: str | None
    customer_group: str | None
    parent_id: int | None
    finance_owner_id: int | None
    sales_owner_id: int | None
    net_term_days: int | None
    auto_collection: bool
    credit_check_exempt: bool
    billing_address: dict[str, Any] | None
    reported_balance: MoneyValue | None
    custom_fields: dict[str, Any]
    last_email_at: datetime | None
    last_reply_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None
    figures: FiguresRead | None = Field(
        None, description="AR figures (null when the key may not read reports:read)."
    )


def read(c: Any, base: str = "") -> CustomerRead:
    """The answer of customer ``c`` (its ORM object, or a row of its table)."""
    return CustomerRead.model_construct(
        **{name: getattr(c, name) for name in _PLAIN},
        reported_balance=money(c.reported_balance_minor, c.currency),
        custom_fields=c.custom_fields or {},
        figures=None,
    )


_PLAIN = [n for n in CustomerRead.model_fields if n not in ("reported_balance", "figures")]
_PLAIN.remove("custom_fields")


GATED: ledger.Gated = {
    "finance_owner_id": ("owners:write", None),
    "sales_owner_id": ("owners:write", None),
    "credit_check_exempt": ("credit:write", False),
}


def with_figures(session: Session, api: Api, customer: Any, as_of: Any = None) -> CustomerRead:
    shown = read(customer)
    if api.can("reports:read"):
        shown.figures = figures_of(session, api, [customer.id], as_of).get(customer.id)
    return shown


SORTABLE = {"id": Customer.id, "external_id": Customer.external_id, "name": Customer.name}


@router.get("", response_model=Page[CustomerRead])
def list_customers(
    api: Api = Depends(require("ledger:read")),
    external_id: QueryText = None,
    q: QueryText = None,
    currency: QueryCurrency = None,
    country: QueryText = None,
    segment: QueryText = None,
    customer_group: QueryText = None,
    region: QueryText = None,
    parent_id: QueryId = None,
    finance_owner_id: QueryId = None,
    sales_owner_id: QueryId = None,
    figures: bool = Query(False, description="Embed each customer's figures (reports:read)."),
    as_of: AsOf = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    sort: str | None = sort_by(SORTABLE),
) -> Any:
    """Customers, filtered (``q``: part of the name or external id); sort by id,
    external_id or name."""
    c = Customer
    stmt = equal(
        select(c).where(c.tenant_id == api.tenant_id),
        {
            c.external_id: external_id,
            c.currency: currency,
            c.country: country,
            c.segment: segment,
            c.customer_group: customer_group,
            c.region: region,
            c.parent_id: parent_id,
            c.finance_owner_id: finance_owner_id,
            c.sales_owner_id: sales_owner_id,
        },
    )
    if q:
        stmt = stmt.where(contains(c.name, c.external_id, text=q))
    with api.read() as session:
        result = page(
            session,
            stmt,
            c,
            CustomerRead,
            read,
            sort=sort,
            cursor=cursor,
            limit=limit,
            sortable=SORTABLE,
        )
        if figures and api.can("reports:read"):
            found = figures_of(session, api, [i.id for i in result.items], as_of)
            for item in result.items:
                item.figures = found.get(item.id)
        return result


@router.get("/{customer_id}", response_model=CustomerRead)
async def read_customer(
    customer_id: PathId, api: Api = Depends(require("ledger:read")), as_of: AsOf = None
) -> Any:
    """One customer with its figures as of ``as_of`` (default today)."""

    def work(session: Session) -> Response:
        customer = find_row(session, api.tenant_id, CUSTOMERS, customer_id)
        return answer(with_figures(session, api, customer, as_of))

    return await api.reading(work)


@router.get("/{customer_id}/figures", response_model=FiguresRead)
def read_customer_figures(
    customer_id: PathId, api: Api = Depends(require("reports:read")), as_of: AsOf = None
) -> Any:
    """The customer's AR figures as of ``as_of`` (default today in the tenant's zone)."""
    with api.read() as session:
        customer = ledger.get_or_404(session, api, CUSTOMERS, customer_id)
        return figures_of(session, api, [customer.id], as_of)[customer.id]


@router.post("", status_code=201, response_model=CustomerRead)
def create_customer(body: CustomerCreate, api: Api = Depends(require("ledger:write"))) -> Any:
    """Create a customer (409 if its external_id exists). Validated like ``arpolicy import
    customers``."""

    def work(session: Session) -> Any:
        return with_figures(session, api, ledger.create(session, api, CUSTOMERS, body, GATED))

    return api.created(work)


@router.patch("/{customer_id}", response_model=CustomerRead)
def update_customer(
    customer_id: PathId, body: CustomerUpdate, api: Api = Depends(require("ledger:write"))
) -> Any:
    """Change the given fields; custom fields and the billing address key by key."""
    with api.write() as session:
        customer = ledger.update(session, api, CUSTOMERS, customer_id, body, GATED)
        return with_figures(session, api, customer)
