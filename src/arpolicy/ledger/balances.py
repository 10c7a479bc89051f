"""A document's balance follows from what the ledger holds: its amount minus the payments
applied to it (allocations) and what is credited to it otherwise (``credited_minor``: credit
notes applied and write-offs; today only the demo generator records them). One function, :func:`refresh_balances`, recomputes it in the
caller's transaction and every path that records or changes an allocation calls it (the
allocations import, hence ``POST``/``PATCH /v1/allocations``, and the demo generator).

A document with nothing applied (no allocation, nothing credited) keeps its opening balance: the balance the billing system
reported when it was imported (the full amount when it reported none), so an initial load
of open items without payment history is taken as it is. Once the ledger holds an
allocation for the document, the balance is the amount minus the allocations, and the
billing system's later reports only change ``reported_balance_minor`` (the difference is
the customer's outstanding mismatch; docs/figures.md). Credit notes keep their reported
unused credit (nothing is allocated from them).
Voided documents are left as they are (they are never open).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, bindparam, false, func, or_, select, update
from sqlalchemy.orm import Session

from arpolicy.exceptions import ValidationError
from arpolicy.kit.db import core
from arpolicy.kit.money import Money, round_amount
from arpolicy.models import Allocation, Document, Tenant


def base_of(minor: int, currency: str, rate: Decimal, tenant: Tenant) -> int:
    """``minor`` of ``currency`` at the document's rate in the tenant's base currency, rounded
    once, half away from zero (as the import converts)."""
    if currency == tenant.base_currency:
        return minor
    amount = Money.from_minor(minor, currency).amount * rate
    return Money(round_amount(amount, tenant.base_currency), tenant.base_currency).minor_units()


def _applied_query() -> Select[*tuple[Any, ...]]:
    """The documents ``ids`` with something applied, and what (built once: building it
    cost more than running it for the one document of a single write)."""
    ids: Any = bindparam("ids", expanding=True)
    applied = (
        select(Allocation.document_id, func.sum(Allocation.amount_minor).label("applied"))
        .where(Allocation.tenant_id == bindparam("tenant"), Allocation.document_id.in_(ids))
        .group_by(Allocation.document_id)
        .subquery()
    )
    d = Document
    return (
        select(
            d.id,
            d.doc_type,
            d.number,
            d.currency,
            d.amount_minor,
            d.credited_minor,
            d.base_amount_minor,
            d.fx_rate,
            d.balance_minor,
            applied.c.applied,
        )
        .outerjoin(applied, applied.c.document_id == d.id)
        .where(
            d.tenant_id == bindparam("tenant"),
            d.id.in_(ids),
            d.voided == false(),
            or_(applied.c.applied.is_not(None), d.credited_minor != 0),
        )
    )


_APPLIED = _applied_query()


def set_by_id(model: Any, **columns: str) -> Any:
    """``UPDATE <model's table> SET column = :param, ..., updated_at = now() WHERE id = :b_id``,
    built once and run for every row with ``executemany`` (the ORM's bulk update by primary
    key cost a single write more than the rest of its allocation). ``columns``: column name
    -> bound parameter name."""
    table: Any = model.__table__
    values: dict[str, Any] = {c: bindparam(p) for c, p in columns.items()}
    return (
        update(table).where(table.c.id == bindparam("b_id")).values(**values, updated_at=func.now())
    )


_SET = set_by_id(Document, balance_minor="b_balance", base_balance_minor="b_base")


def refresh_balances(session: Session, tenant: Tenant, document_ids: Iterable[int]) -> None:
    """Set ``balance_minor`` (and its base twin) of the given documents that have allocations
    or credit applied to their amount minus both, by one aggregate query per 5,000
    documents; the others keep their opening balance. Refuses more applied than the amount."""
    ids = sorted(set(document_ids))
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        rows = core(session).execute(_APPLIED, {"tenant": tenant.id, "ids": chunk}).all()
        params = []
        for did, kind, number, ccy, amount, credited, base_amount, rate, balance, total in rows:
            total = int(total or 0)
            left = amount - credited - total
            if left < 0:
                record = f"{getattr(kind, 'value', kind).replace('_', ' ')} {number}"
                raise ValidationError(
                    f"{record} of {Money.from_minor(amount, ccy)} would have "
                    f"{Money.from_minor(total, ccy)} applied from payments and "
                    f"{Money.from_minor(credited, ccy)} credited",
                    where=record,
                    fix="apply no more to a document than its amount",
                )
            if left == balance:
                continue
            base = base_amount if left == amount else base_of(left, ccy, rate, tenant)
            params.append({"b_id": did, "b_balance": left, "b_base": base})
        if params:
            session.connection().execute(_SET, params)
            _expire(session, [p["b_id"] for p in params])


def _expire(session: Session, ids: list[int]) -> None:
    """Objects of the session for the rows just updated read them again when next used."""
    identities = session.identity_map
    for record_id in ids:
        found = identities.get(session.identity_key(Document, record_id))
        if found is not None:
            session.expire(found, ("balance_minor", "base_balance_minor", "updated_at"))
