"""The caller's tenant and its settings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy import select

from arpolicy.api.context import Api, require
from arpolicy.api.schemas import Input, NotNull, Output
from arpolicy.api.types import Locale, Text64, Text200
from arpolicy.ledger.tenants import update_tenant
from arpolicy.models import Tenant

router = APIRouter(prefix="/tenant", tags=["tenant"])


class BankDetailsRead(Output):
    account_holder: str
    iban: str
    bic: str | None
    bank_name: str | None


class BankDetailsIn(Input):
    """Bank details for a transfer, shown in reminders. The IBAN is checked (its country's
    length and check digits), the BIC by its form; spaces in either are ignored."""

    account_holder: str = Field(min_length=1, max_length=70, examples=["Demo Merchant GmbH"])
    iban: str = Field(min_length=1, max_length=50, examples=["DE89 3704 0044 0532 0130 00"])
    bic: str | None = Field(default=None, max_length=20, examples=["COBADEFFXXX"])
    bank_name: str | None = Field(default=None, max_length=140, examples=["Commerzbank"])


class TenantRead(Output):
    id: int
    slug: str
    name: str
    base_currency: str
    timezone: str
    locale: str
    ageing_bounds: list[int]
    payment_link_url: str | None = None
    bank_details: BankDetailsRead | None = None
    created_at: datetime | None


class TenantUpdate(Input):
    """The base currency is fixed at creation: every stored base amount depends on it.
    ``payment_link_url`` and ``bank_details`` are removed with null."""

    name: Annotated[Text200 | None, NotNull] = None
    timezone: Annotated[Text64 | None, NotNull] = Field(default=None, examples=["Europe/Berlin"])
    locale: Annotated[Locale | None, NotNull] = Field(default=None, examples=["de_DE"])
    ageing_bounds: Annotated[list[Annotated[int, Field(ge=1)]] | None, NotNull] = Field(
        default=None,
        min_length=1,
        max_length=20,
        json_schema_extra={"uniqueItems": True},
        examples=[[30, 60, 90]],
        description="Upper bounds in days of the ageing buckets, strictly increasing.",
    )
    payment_link_url: str | None = Field(
        default=None,
        max_length=500,
        examples=["https://pay.example.com/{customer_number}"],
        description="An https URL where customers pay; {customer_number} stands for the "
        "customer's number. Reminders offer it as the payment_link variable.",
    )
    bank_details: BankDetailsIn | None = Field(
        default=None, description="Shown in reminders as the bank variable."
    )


@router.get("", response_model=TenantRead)
def read_tenant(api: Api = Depends(require("ledger:read"))) -> Any:
    with api.read() as session:
        return TenantRead.model_validate(
            session.scalar(select(Tenant).where(Tenant.id == api.tenant_id))
        )


@router.patch("", response_model=TenantRead)
def update_tenant_settings(
    body: TenantUpdate, api: Api = Depends(require("settings:manage"))
) -> Any:
    patch = body.model_dump(exclude_unset=True)
    with api.write() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.id == api.tenant_id)).one()
        update_tenant(session, tenant, patch, api.actor, api.now(), where="body.")
        return TenantRead.model_validate(tenant)
