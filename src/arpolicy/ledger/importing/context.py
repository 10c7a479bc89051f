"""What the row builders of one import share: the tenant, reference maps, the FX rates and
the custom field definitions.

A reference map (external key -> id...) is first looked up key by key, one small indexed
query per key, and loaded whole with one query once :data:`PER_KEY_LOOKUPS` keys have been
asked for. So an import of a few rows (a POST of the REST API) reads the few rows it refers
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

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from arpolicy.exceptions import MissingRateError
from arpolicy.kit.fx import RateTable
from arpolicy.ledger.importing.parsers import exponent
from arpolicy.ledger.importing.report import FieldError
from arpolicy.ledger.rates import load_rates
from arpolicy.models import (
    Allocation,
    Customer,
    CustomFieldDefinition,
    Document,
    Payment,
    Subscription,
    Tenant,
    User,
)

ONE = Decimal(1)
UNIT = Decimal(1)
MAX_MINOR = 2**63 - 1
"""Largest amount in minor units a BIGINT column holds."""
PER_KEY_LOOKUPS = 32
"""Keys of one map looked up one by one before the map is loaded whole."""


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


def _documents(session: Session, tenant_id: int) -> dict[Any, Any]:
    q = select(
        Document.doc_type, Document.number, Document.id, Document.currency, Document.customer_id
    ).where(Document.tenant_id == tenant_id)
    return {(str(t), n): (i, c, k) for t, n, i, c, k in session.execute(q)}


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


OneLoader = Callable[[Session, int, Any], Any]


def _one(session: Session, stmt: Any) -> Any:
    row = session.execute(stmt.limit(1)).first()
    if row is None:
        return None
    return row[0] if len(row) == 1 else tuple(row)


def _by(model: Any, columns: tuple[Any, ...], key: tuple[Any, ...]) -> OneLoader:
    """What :data:`LOADERS` maps the key to: ``columns`` of the row whose ``key`` columns
    equal it (a tuple for several)."""

    def load(session: Session, tenant_id: int, value: Any) -> Any:
        values = value if len(key) > 1 else (value,)
        if not isinstance(values, tuple) or len(values) != len(key):
            return None
        match = [c == v for c, v in zip(key, values, strict=True)]
        return _one(session, select(*columns).where(model.tenant_id == tenant_id, *match))

    return load


def _allocated_one(session: Session, tenant_id: int, key: Any) -> Any:
    total = session.scalar(
        select(func.sum(Allocation.amount_minor)).where(
            Allocation.tenant_id == tenant_id, Allocation.payment_id == key
        )
    )
    return None if total is None else int(total)


def _parent(model: Any, key: str, ref: str) -> OneLoader:
    def load(session: Session, tenant_id: int, value: Any) -> Any:
        child, parent = aliased(model), aliased(model)
        q = (
            select(getattr(parent, key))
            .select_from(child)
            .join(parent, (parent.id == getattr(child, ref)) & (parent.tenant_id == tenant_id))
            .where(child.tenant_id == tenant_id, getattr(child, key) == value)
        )
        return _one(session, q)

    return load


ONE_LOADERS: dict[str, OneLoader] = {
    "customers": _by(Customer, (Customer.id,), (Customer.external_id,)),
    "users": _by(User, (User.id,), (func.lower(User.email),)),
    "subscriptions": _by(Subscription, (Subscription.id,), (Subscription.external_id,)),
    "payments": _by(
        Payment,
        (Payment.id, Payment.currency, Payment.amount_minor, Payment.received_on),
        (Payment.external_id,),
    ),
    "documents": _by(
        Document,
        (Document.id, Document.currency, Document.customer_id),
        (Document.doc_type, Document.number),
    ),
    "allocations": _by(
        Allocation, (Allocation.amount_minor,), (Allocation.payment_id, Allocation.document_id)
    ),
    "allocated": _allocated_one,
    "customers.parent": _parent(Customer, "external_id", "parent_id"),
    "users.manager": _parent(User, "email", "manager_id"),
}
"""The same maps as :data:`LOADERS`, one key at a time (None: no such key)."""


class RefMap(dict[Any, Any]):
    """A reference map filled key by key on demand, then loaded whole.

    It behaves as the whole map would (``get``, ``in``, ``[]``, assignment, ``pop``,
    iteration): keys are looked up one at a time until ``limit`` lookups have been made, then
    the whole map is loaded with one query, with what the import set or removed laid over it.
    """

    def __init__(
        self,
        one: Callable[[Any], Any],
        everything: Callable[[], dict[Any, Any]],
        limit: int = PER_KEY_LOOKUPS,
    ) -> None:
        super().__init__()
        self._one = one
        self._everything = everything
        self._left = limit
        self._whole = False
        self._absent: set[Any] = set()
        self._set: dict[Any, Any] = {}
        self._removed: set[Any] = set()

    def _find(self, key: Any) -> bool:
        """Whether ``key`` is in the map, looking it up if it was never asked for."""
        if dict.__contains__(self, key):
            return True
        if self._whole or key in self._absent:
            return False
        if self._left <= 0:
            self.load_whole()
            return dict.__contains__(self, key)
        self._left -= 1
        value = self._one(key)
        if value is None:
            self._absent.add(key)
            return False
        dict.__setitem__(self, key, value)
        return True

    def load_whole(self) -> None:
        if self._whole:
            return
        whole = self._everything()
        whole.update(self._set)
        for key in self._removed:
            whole.pop(key, None)
        dict.clear(self)
        dict.update(self, whole)
        self._whole = True
        self._absent.clear()

    def __contains__(self, key: object) -> bool:
        return self._find(key)

    def get(self, key: Any, default: Any = None) -> Any:
        return dict.__getitem__(self, key) if self._find(key) else default

    def __missing__(self, key: Any) -> Any:
        if self._find(key):
            return dict.__getitem__(self, key)
        raise KeyError(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        dict.__setitem__(self, key, value)
        self._absent.discard(key)
        self._removed.discard(key)
        if not self._whole:
            self._set[key] = value

    def pop(self, key: Any, *default: Any) -> Any:
        present = self._find(key)
        value = dict.pop(self, key) if present else None
        self._set.pop(key, None)
        if not self._whole:
            self._removed.add(key)
            self._absent.add(key)
        if present:
            return value
        if default:
            return default[0]
        raise KeyError(key)

    def __iter__(self) -> Any:
        self.load_whole()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self.load_whole()
        return dict.__len__(self)

    def keys(self) -> Any:
        self.load_whole()
        return dict.keys(self)

    def values(self) -> Any:
        self.load_whole()
        return dict.values(self)

    def items(self) -> Any:
        self.load_whole()
        return dict.items(self)

    def copy(self) -> dict[Any, Any]:
        self.load_whole()
        return dict(dict.items(self))

    def __reduce__(self) -> Any:
        # Sent to another process (a pipelined import): as the whole, plain map.
        return (dict, (self.copy(),))


LOADERS: dict[str, Callable[[Session, int], dict[Any, Any]]] = {
    "customers": _customers,
    "users": _users,
    "subscriptions": _subscriptions,
    "payments": _payments,
    "documents": _documents,
    "allocations": _allocations,
    "allocated": _allocated,
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
            if type(self).load_map is Context.load_map and name in ONE_LOADERS:
                one, session, tenant_id = ONE_LOADERS[name], self.session, self.tenant_id
                found = RefMap(
                    lambda key: one(session, tenant_id, key), lambda: self.load_map(name)
                )
            else:
                found = self.load_map(name)
            self._maps[name] = found
        return found

    # The three queries behind refs, rates and fields (the parse process of a pipelined
    # import, see pipeline.py, asks its parent for them instead).
    def load_map(self, name: str) -> dict[Any, Any]:
        return LOADERS[name](self.session, self.tenant_id)

    def load_rates(self) -> RateTable:
        return load_rates(self.session, self.tenant)

    def load_fields(self) -> dict[str, dict[str, CustomFieldDefinition]]:
        by_entity: dict[str, dict[str, CustomFieldDefinition]] = defaultdict(dict)
        q = select(CustomFieldDefinition).where(CustomFieldDefinition.tenant_id == self.tenant_id)
        for d in self.session.scalars(q):
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
                f"converts to more than the largest amount arpolicy stores in {self.base}",
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
