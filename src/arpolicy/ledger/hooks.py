"""Hooks on ledger writes: how a policy reacts to what the ledger records.

The ledger write service calls ``fire`` once per write or once per import batch, in the
writing transaction, after the rows are flushed. A policy subscribes from its ``hooks``
module (loaded by ``arpolicy.modules.load``)::

    @hooks.subscribe(hooks.CUSTOMERS_WRITTEN)
    def assign_owners(event: hooks.Written) -> None: ...

A subscriber works in ``event.session`` and never commits; an exception it raises rolls the
whole write back, so a rule such as "every order is credit-checked" holds on every path.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

CUSTOMERS_WRITTEN = "customers written"
CONTACTS_WRITTEN = "contacts written"
DOCUMENTS_WRITTEN = "documents written"
PAYMENTS_WRITTEN = "payments written"
ALLOCATIONS_WRITTEN = "allocations written"
ORDERS_WRITTEN = "orders written"
COLLECTION_WRITTEN = "collection written"
"""Promises to pay and disputes."""

TOPICS: tuple[str, ...] = (
    CUSTOMERS_WRITTEN,
    CONTACTS_WRITTEN,
    DOCUMENTS_WRITTEN,
    PAYMENTS_WRITTEN,
    ALLOCATIONS_WRITTEN,
    ORDERS_WRITTEN,
    COLLECTION_WRITTEN,
)


@dataclass(frozen=True)
class Written:
    """What one write or one import batch recorded."""

    topic: str
    session: Session
    tenant: Any
    """The ``Tenant`` row."""
    actor: Any
    """The ``audit.Actor`` who wrote."""
    ids: Sequence[int]
    """Internal ids of the records created or changed."""
    created: Sequence[int]
    """The subset of ``ids`` that is new."""
    as_of: date
    at: datetime
    kind: str = ""
    """The import kind written (customers, invoices, promises...): two kinds share a topic."""
    fields: frozenset[str] = frozenset()
    """The import columns the write set (``finance_owner``, ``cf.region``...): a single
    write's changed fields, or every column a batch's file named."""
    batch: bool = False
    """An import batch (True) or a single write."""
    notes: dict[str, Any] = field(default_factory=dict)
    """What subscribers report back to the writer (the import report shows them: the owner
    assignment's summary is ``notes["assignment"]``)."""


Subscriber = Callable[[Written], None]
_subscribers: dict[str, list[Subscriber]] = defaultdict(list)


def subscribe(topic: str) -> Callable[[Subscriber], Subscriber]:
    """Register the decorated function for ``topic`` (once, however often imported)."""
    if topic not in TOPICS:
        raise ValueError(f"unknown ledger hook {topic!r}; one of {', '.join(TOPICS)}")

    def register(fn: Subscriber) -> Subscriber:
        if fn not in _subscribers[topic]:
            _subscribers[topic].append(fn)
        return fn

    return register


def subscribers(topic: str) -> tuple[Subscriber, ...]:
    return tuple(_subscribers.get(topic, ()))


def fire(event: Written) -> int:
    """Call every subscriber of ``event.topic`` in registration order (nothing when no id);
    how many were called."""
    if not event.ids:
        return 0
    from arpolicy import modules

    modules.load()
    called = subscribers(event.topic)
    for fn in called:
        fn(event)
    return len(called)
