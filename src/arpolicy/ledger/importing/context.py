"""What the row builders of one import share: the tenant, reference maps, the FX rates and
the custom field definitions.

A reference map (external key -> id...) is first looked up key by key, one small indexed
query per key, and loaded whole with one query once ``lookups.PER_KEY_LOOKUPS`` keys have
been asked for (see :mod:`arpolicy.ledger.importing.lookups`). So an import of a few rows (a POST of the REST API) reads the few rows it refers
to, not all 100,000 customers of the tenant, and a large import still reads each map once
after a bounded number of single lookups. The results are the same either way.

Every query here is scoped by the tenant; none runs per row beyond that bound.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, aliased

from arpolicy.exceptions import MissingRateError
from arpolicy.kit.fx import RateTable
from arpolicy.ledger.allocations import documents_applied, documents_held, payments_held
from arpolicy.ledger.importing import lookups
from arpolicy.ledger.importing.limits import INT64
from arpolicy.ledger.importing.parsers import exponent, max_amount
from arpolicy.ledger.importing.report import FieldError
from arpolicy.ledger.rates import load_rates
from arpolicy.models import (
    Allocation,
    Customer,
    CustomFieldDefinition,
    Document,
    Payment,
    PaymentSource,
    Subscription,
    Tenant,
    User,
)

ONE = Decimal(1)
UNIT = Decimal(1)
MAX_MINOR = INT64
"""Largest amount in minor units a BIGINT column holds."""


def _customers(session: Session, tenant_id: int) -> dict[Any, Any]:
    q = select(Customer.external_id, Customer.id).where(Customer.tenant_id == tenant_id)
    return {k: v for k, v in session.execute(q)}


def _users(session: Session, tenant_id: int) -> dict[Any, Any]:
    q = select(User.email, User.id).where(User.tenant_id == tenant_id)
    return {email.lower(): uid for email, uid in session.execute(q)}


def _subscriptions(session: Session, tenant_id: int) -> dict[Any, Any]:
    q = select(Subscription.external_id, Subscription.id).where(Subscription.tenant_id == tenant_id)
    return {k: v for k, v in session.execute(q)}


def _payments(session: Session, tenant_id: int) -> dict[Any, Any]:
    q = select(
        Payment.external_id, Payment.id, Payment.currency, Payment.amount_minor, Payment.received_on
    ).where(Payment.tenant_id == tenant_id)
    return {row[0]: tuple(row[1:]) for row in session.execute(q)}


def _source_cards(session: Session, tenant_id: int) -> dict[Any, Any]:
    q = select(PaymentSource.external_id, PaymentSource.last4).where(
        PaymentSource.tenant_id == tenant_id
    )
    return {k: v for k, v in session.execute(q)}


def _documents(session: Session, tenant_id: int) -> dict[Any, Any]:
    q = select(
        Document.doc_type,
        Document.number,
        Document.id,
        Document.currency,
        Document.customer_id,
        Document.amount_minor,
    ).where(Document.tenant_id == tenant_id)
    return {(str(t), n): tuple(rest) for t, n, *rest in session.execute(q)}


def _allocations(session: Session, tenant_id: int) -> dict[Any, Any]:
    q = select(Allocation.payment_id, Allocation.document_id, Allocation.amount_minor).where(
        Allocation.tenant_id == tenant_id
    )
    return {(p, d): a for p, d, a in session.execute(q)}


def _allocated(session: Session, tenant_id: int) -> dict[Any, Any]:
    q = (
        select(Allocation.payment_id, func.sum(Allocation.amount_minor))
        .where(Allocation.tenant_id == tenant_id)
        .group_by(Allocation.payment_id)
    )
    return {pid: int(total) for pid, total in session.execute(q)}


def _parents(model: Any, key: str, ref: str) -> Callable[[Session, int], dict[Any, Any]]:
    def load(session: Session, tenant_id: int) -> dict[Any, Any]:
        child, parent = aliased(model), aliased(model)
        q = (
            select(getattr(child, key), getattr(parent, key))
            .join(parent, (parent.id == getattr(child, ref)) & (parent.tenant_id == tenant_id))
            .where(child.tenant_id == tenant_id)
        )
        return {k: v for k, v in session.execute(q)}

    return load


LOADERS: dict[str, Callable[[Session, int], dict[Any, Any]]] = {
    "customers": _customers,
    "users": _users,
    "subscriptions": _subscriptions,
    "payments": _payments,
    "payment_sources.last4": _source_cards,
    "documents": _documents,
    "allocations": _allocations,
    "allocated": _allocated,
    "documents.held": documents_held,
    "documents.applied": documents_applied,
    "payments.held": payments_held,
    "customers.parent": _parents(Customer, "external_id", "parent_id"),
    "users.manager": _parents(User, "email", "manager_id"),
}

NOT_FOUND = {
    "customers": ("customer", "import customers first (arpolicy import customers FILE)"),
    "users": ("user with e-mail", "import users first (arpolicy import users FILE)"),
    "subscriptions": ("subscription", "import subscriptions first"),
    "payments": ("payment", "import payments first (arpolicy import payments FILE)"),
    "documents": ("document", "import documents first (arpolicy import invoices FILE)"),
}


_DEFINITIONS = select(CustomFieldDefinition).where(
    CustomFieldDefinition.tenant_id == bindparam("tenant")
)


class Context:
    """State shared by the rows of one import (one tenant, one transaction)."""

    def __init__(self, session: Session, tenant: Tenant) -> None:
        self.session = session
        self.tenant = tenant
        self.tenant_id = tenant.id
        self.base = tenant.base_currency
        self.base_exp = exponent(self.base)
        self._maps: dict[str, dict[Any, Any]] = {}
        self._rates: RateTable | None = None
        self._fx: dict[tuple[str, date], Any] = {}
        self._fields: dict[str, dict[str, CustomFieldDefinition]] = {}

    def refs(self, name: str) -> dict[Any, Any]:
        """The map ``name`` (external key -> id...): looked up key by key from this
        context's session (see :class:`RefMap`), or loaded whole on first use when a
        subclass provides the maps itself (the parse process of a pipelined import)."""
        found = self._maps.get(name)
        if found is None:
            if type(self).load_map is Context.load_map and name in lookups.ONE_LOADERS:
                one, session, tenant_id = lookups.ONE_LOADERS[name], self.session, self.tenant_id
                found = lookups.RefMap(
                    lambda key: one(session, tenant_id, key),
                    lambda: self.load_map(name),
                    lookups.PER_KEY_LOOKUPS,
                )
            else:
                found = self.load_map(name)
            self._maps[name] = found
        return found

    def remember(self, name: str, key: Any, value: Any) -> None:
        """Note a reference the caller has just read (the write service turned a record's
        customer id into its external id), so that the rows' checks need not read it again."""
        found = self.refs(name)
        if isinstance(found, lookups.RefMap):
            found.remember(key, value)

    def absent(self, name: str, key: Any) -> None:
        """Note that the map ``name`` has nothing for ``key``: the write service found no
        record with that key, so none of it is held (allocations applied...)."""
        found = self.refs(name)
        if isinstance(found, lookups.RefMap):
            found.absent(key)

    # The three queries behind refs, rates and fields (the parse process of a pipelined
    # import, see pipeline.py, asks its parent for them instead).
    def load_map(self, name: str) -> dict[Any, Any]:
        return LOADERS[name](self.session, self.tenant_id)

    def load_rates(self) -> RateTable:
        return load_rates(self.session, self.tenant)

    def load_fields(self) -> dict[str, dict[str, CustomFieldDefinition]]:
        by_entity: dict[str, dict[str, CustomFieldDefinition]] = defaultdict(dict)
        for d in self.session.scalars(_DEFINITIONS, {"tenant": self.tenant_id}):
            by_entity[str(d.entity)][d.key] = d
        return {"customer": {}, "document": {}, **by_entity}

    def lookup(self, name: str, key: Any, column: str) -> Any:
        found = self.refs(name).get(key)
        if found is None:
            what, fix = NOT_FOUND[name]
            shown = " ".join(key) if isinstance(key, tuple) else key
            raise FieldError(f"no {what} {shown} in this tenant", fix, column=column)
        return found

    def to_base(
        self, minor: int, currency: str, on: date, column: str
    ) -> tuple[int, Decimal, date | None]:
        """``minor`` of ``currency`` in the tenant's base currency at the rate on or before
        ``on``: (base minor units, rate, date of the rate). Rounded once, half away from zero,
        exactly as :meth:`arpolicy.kit.fx.RateTable.convert` does."""
        if currency == self.base:
            return minor, ONE, None
        rate, rate_on = self._rate(currency, on, column)
        scaled = Decimal(minor).scaleb(self.base_exp - exponent(currency)) * rate
        if abs(scaled) >= MAX_MINOR:  # beyond BIGINT (and beyond Decimal's 28 digits)
            raise FieldError(
                f"converts to more than the largest amount arpolicy stores in {self.base} "
                f"({max_amount(self.base)}) at the rate {rate}",
                "check the amount and the FX rate",
                column=column,
            )
        return int(scaled.quantize(UNIT, rounding=ROUND_HALF_UP)), rate, rate_on

    def _rate(self, currency: str, on: date, column: str) -> tuple[Decimal, date | None]:
        key = (currency, on)
        found = self._fx.get(key)
        if found is None:
            if self._rates is None:
                self._rates = self.load_rates()
            try:
                r = self._rates.rate(currency, self.base, on)
                found = (r.rate, r.valid_on)
            except MissingRateError as exc:
                found = FieldError(exc.message, exc.fix or "import fx-rates first", column=column)
            self._fx[key] = found
        if isinstance(found, FieldError):
            raise FieldError(found.reason, found.fix, column=column)
        return found

    def fields(self, entity: str) -> dict[str, CustomFieldDefinition]:
        """The tenant's custom field definitions for ``entity`` ("customer"/"document")."""
        if not self._fields:
            self._fields = self.load_fields()
        return self._fields.get(entity, {})
