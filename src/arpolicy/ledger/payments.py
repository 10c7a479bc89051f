"""Keeping a payment's unallocated part equal to its amount minus its allocations."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from arpolicy.exceptions import ValidationError
from arpolicy.kit.db import core
from arpolicy.kit.money import Money
from arpolicy.ledger.balances import base_of, set_by_id
from arpolicy.models import Allocation, Payment, Tenant


def _allocated_query() -> Select[*tuple[Any, ...]]:
    """The payments ``ids`` with what is allocated of each (built once)."""
    ids: Any = bindparam("ids", expanding=True)
    allocated = (
        select(Allocation.payment_id, func.sum(Allocation.amount_minor).label("allocated"))
        .where(Allocation.tenant_id == bindparam("tenant"), Allocation.payment_id.in_(ids))
        .group_by(Allocation.payment_id)
        .subquery()
    )
    return (
        select(
            Payment.id,
            Payment.external_id,
            Payment.currency,
            Payment.amount_minor,
            Payment.fx_rate,
            func.coalesce(allocated.c.allocated, 0),
        )
        .outerjoin(allocated, allocated.c.payment_id == Payment.id)
        .where(Payment.tenant_id == bindparam("tenant"), Payment.id.in_(ids))
    )


_ALLOCATED = _allocated_query()


_SET = set_by_id(Payment, unallocated_minor="b_balance", base_unallocated_minor="b_base")


def refresh_unallocated(session: Session, tenant: Tenant, payment_ids: Iterable[int]) -> None:
    """Recompute ``unallocated_minor`` and ``base_unallocated_minor`` of the given payments
    from their allocations (one aggregate query), refusing over-allocation.

    The base-currency part is the unallocated amount converted at the payment's own rate
    and rounded once; a fully allocated payment has exactly zero in both currencies.
    """
    ids = sorted(set(payment_ids))
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        rows = core(session).execute(_ALLOCATED, {"tenant": tenant.id, "ids": chunk}).all()
        params = []
        for pid, ext, currency, amount, rate, alloc in rows:
            left = amount - alloc
            if (amount >= 0 and (left < 0 or left > amount)) or (amount < 0 and left != amount):
                raise ValidationError(
                    f"payment {ext} of {Money.from_minor(amount, currency)} would have "
                    f"{Money.from_minor(alloc, currency)} allocated",
                    where=f"payment {ext}",
                    fix="allocations of a payment may not add up to more than its amount",
                )
            base = base_of(left, currency, rate, tenant)
            params.append({"b_id": pid, "b_balance": left, "b_base": base})
        if params:
            session.connection().execute(_SET, params)
            _expire(session, [p["b_id"] for p in params])


def _expire(session: Session, ids: list[int]) -> None:
    """Objects of the session for the rows just updated read them again when next used."""
    identities = session.identity_map
    for record_id in ids:
        found = identities.get(session.identity_key(Payment, record_id))
        if found is not None:
            session.expire(found, ("unallocated_minor", "base_unallocated_minor", "updated_at"))
