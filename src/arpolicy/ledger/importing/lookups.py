"""Reference maps of an import looked up key by key (see :class:`RefMap`): the same maps as
``context.LOADERS`` builds whole, one indexed query per key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, aliased

from arpolicy.kit.db import core
from arpolicy.ledger.allocations import document_applied, document_held, payment_held
from arpolicy.models import (
    Allocation,
    Customer,
    Document,
    Payment,
    PaymentSource,
    Subscription,
    User,
)

PER_KEY_LOOKUPS = 32
"""Keys of one map looked up one by one before the map is loaded whole."""

OneLoader = Callable[[Session, int, Any], Any]


def _one(session: Session, stmt: Any) -> Any:
    row = session.execute(stmt.limit(1)).first()
    if row is None:
        return None
    return row[0] if len(row) == 1 else tuple(row)


def _by(model: Any, columns: tuple[Any, ...], key: tuple[Any, ...]) -> OneLoader:
    """What :data:`LOADERS` maps the key to: ``columns`` of the row whose ``key`` columns
    equal it (a tuple for several). The statement is built once, with bound parameters:
    building it per key cost more than running it."""
    names = [f"k{i}" for i in range(len(key))]
    stmt = (
        select(*columns)
        .where(model.tenant_id == bindparam("tenant"))
        .where(*(c == bindparam(n) for c, n in zip(key, names, strict=True)))
        .limit(1)
    )

    def load(session: Session, tenant_id: int, value: Any) -> Any:
        values = value if len(key) > 1 else (value,)
        if not isinstance(values, tuple) or len(values) != len(key):
            return None
        params = dict(zip(names, values, strict=True), tenant=tenant_id)
        row = core(session).execute(stmt, params).first()
        if row is None:
            return None
        return row[0] if len(row) == 1 else tuple(row)

    return load


_ALLOCATED = select(func.sum(Allocation.amount_minor)).where(
    Allocation.tenant_id == bindparam("tenant"), Allocation.payment_id == bindparam("key")
)


def _allocated_one(session: Session, tenant_id: int, key: Any) -> Any:
    total = core(session).scalar(_ALLOCATED, {"tenant": tenant_id, "key": key})
    return None if total is None else int(total)


def _parent(model: Any, key: str, ref: str) -> OneLoader:
    # Aliased once: new aliases each call made a new statement to build and compile each
    # time (16 ms of a customer's single write, measured on 100,000 customers).
    child, parent = aliased(model, name="child"), aliased(model, name="parent")

    def load(session: Session, tenant_id: int, value: Any) -> Any:
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
    "payment_sources.last4": _by(
        PaymentSource, (PaymentSource.last4,), (PaymentSource.external_id,)
    ),
    "documents": _by(
        Document,
        (Document.id, Document.currency, Document.customer_id, Document.amount_minor),
        (Document.doc_type, Document.number),
    ),
    "allocations": _by(
        Allocation, (Allocation.amount_minor,), (Allocation.payment_id, Allocation.document_id)
    ),
    "allocated": _allocated_one,
    "documents.held": document_held,
    "documents.applied": document_applied,
    "payments.held": payment_held,
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

    def remember(self, key: Any, value: Any) -> None:
        """``key``'s stored value, read by the caller (as if looked up; not a change)."""
        if not self._whole:
            dict.__setitem__(self, key, value)
            self._absent.discard(key)

    def absent(self, key: Any) -> None:
        """``key`` is known to have no stored value (the caller found no record with that
        key under its lock, in this transaction: as if looked up; not a change)."""
        if not self._whole and key not in self._set:
            dict.pop(self, key, None)
            self._absent.add(key)

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
