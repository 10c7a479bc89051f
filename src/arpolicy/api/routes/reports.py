"""Reports: the ageing of the tenant's receivables by customer, and the tenant's figures.

The shapes are those of the CLI's ``--json`` output (``arpolicy report ageing --json``),
so a script can move between the two: amounts are decimal strings in the report's (or the
amounts block's) ``currency``, never floats. A customer's own figures are at
``GET /v1/customers/{id}/figures``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from arpolicy.api.context import Api, require
from arpolicy.api.ledger import tenant_of
from arpolicy.api.schemas import MoneyValue, Output
from arpolicy.api.types import AsOf
from arpolicy.kit.clock import local_today
from arpolicy.ledger.ageing import ageing_report
from arpolicy.ledger.figures import CustomerFigures, customer_figures, tenant_figures
from arpolicy.models import Tenant

router = APIRouter(prefix="/reports", tags=["reports"])


class AmountsRead(Output):
    """One currency's figures, as decimal strings in ``currency``."""

    currency: str
    open_debits: str
    unutilised_credit: str
    unaccounted_payment: str
    outstanding: str
    overdue: str
    net_overdue: str
    open_issue: str
    open_p2p: str
    ageing: dict[str, str]
    """Open debits by bucket (current, 1-30, ...), per the tenant's ageing bounds."""


class FiguresRead(Output):
    """A customer's AR figures as of a date (definitions: docs/figures.md)."""

    customer_id: int
    external_id: str
    name: str
    as_of: date
    base: AmountsRead
    """In the tenant's base currency."""
    local: AmountsRead | None
    """In the customer's currency, when all its items share one."""
    next_p2p_date: date | None
    last_email_at: datetime | None
    last_reply_at: datetime | None
    payment_attempts: int
    average_payment_attempts: str | None
    dso_days: str | None
    reported_balance: MoneyValue | None
    outstanding_mismatch: MoneyValue | None


class TenantFiguresRead(Output):
    as_of: date
    base: AmountsRead
    next_p2p_date: date | None
    payment_attempts: int
    dso_days: str | None


class AgeingRowRead(Output):
    customer_id: int | None
    external_id: str | None
    name: str
    ageing: dict[str, str]
    total: str
    unutilised_credit: str
    unaccounted_payment: str
    outstanding: str


class AgeingRead(Output):
    """Open debit balances by days past due, per customer, in the base currency; largest
    total first. ``totals`` covers every customer, also when ``limit`` shortens the list."""

    as_of: date
    currency: str
    buckets: list[str]
    customers: list[AgeingRowRead]
    totals: AgeingRowRead


def as_of_or_today(api: Api, tenant: Tenant, as_of: date | None) -> date:
    return as_of if as_of is not None else local_today(api.clock, tenant.timezone)


def figures_of(session: Session, api: Api, ids: list[int], as_of: date | None) -> dict[int, Any]:
    """FiguresRead of customers ``ids`` (one statement), by customer id."""
    if not ids:
        return {}
    tenant = api.tenant or tenant_of(session, api)  # only its settings are read
    on = as_of_or_today(api, tenant, as_of)
    found: list[CustomerFigures] = customer_figures(session, tenant, on, ids)
    return {f.customer_id: FiguresRead.model_validate(f.to_json()) for f in found}


@router.get("/ageing", response_model=AgeingRead)
def read_ageing(
    api: Api = Depends(require("reports:read")),
    as_of: AsOf = None,
    limit: int | None = Query(
        None, ge=1, le=100_000, description="List only the largest customers (totals: all)."
    ),
) -> Any:
    """The ageing report: the same figures as ``arpolicy report ageing --json``."""
    with api.read() as session:
        tenant = tenant_of(session, api)
        report = ageing_report(session, tenant, as_of_or_today(api, tenant, as_of))
    data = report.to_json()
    if limit is not None:
        data["customers"] = data["customers"][:limit]
    return AgeingRead.model_validate(data)


@router.get("/figures", response_model=TenantFiguresRead)
def read_tenant_figures(api: Api = Depends(require("reports:read")), as_of: AsOf = None) -> Any:
    """The tenant's figures over all customers, in the base currency."""
    with api.read() as session:
        tenant = tenant_of(session, api)
        figures = tenant_figures(session, tenant, as_of_or_today(api, tenant, as_of))
        return TenantFiguresRead.model_validate(figures.to_json())
