"""Loading a tenant's FX rates and converting documents to its base currency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from arpolicy.kit.db import core
from arpolicy.kit.fx import Conversion, RateTable
from arpolicy.kit.money import Money
from arpolicy.models import FxRate, Tenant
from arpolicy.rules.fx import Exchange

_RATES = select(FxRate.from_currency, FxRate.to_currency, FxRate.valid_on, FxRate.rate).where(
    FxRate.tenant_id == bindparam("tenant")
)


def _rows(session: Session, tenant: Tenant) -> list[tuple[str, str, date, Decimal]]:
    return [(r[0], r[1], r[2], r[3]) for r in core(session).execute(_RATES, {"tenant": tenant.id})]


def load_rates(session: Session, tenant: Tenant) -> RateTable:
    return RateTable(_rows(session, tenant))


def exchange(session: Session, tenant: Tenant) -> Exchange:
    """The tenant's rates for binding rules (:func:`arpolicy.rules.bind`): a money literal
    then compares with amounts in every currency the tenant has a rate for."""
    rows = _rows(session, tenant)
    currencies = frozenset(c for r in rows for c in (r[0], r[1]))
    return Exchange(RateTable(rows), tenant.base_currency, currencies)


def to_base(rates: RateTable, tenant: Tenant, money: Money, on: date) -> Conversion:
    return rates.convert(money, tenant.base_currency, on)
