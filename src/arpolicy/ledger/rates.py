"""Loading a tenant's FX rates and converting documents to its base currency."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.kit.fx import Conversion, RateTable
from arpolicy.kit.money import Money
from arpolicy.models import FxRate, Tenant


def load_rates(session: Session, tenant: Tenant) -> RateTable:
    rows = session.execute(
        select(FxRate.from_currency, FxRate.to_currency, FxRate.valid_on, FxRate.rate).where(
            FxRate.tenant_id == tenant.id
        )
    ).all()
    return RateTable((r[0], r[1], r[2], r[3]) for r in rows)


def to_base(rates: RateTable, tenant: Tenant, money: Money, on: date) -> Conversion:
    return rates.convert(money, tenant.base_currency, on)
