"""What the write service knows of each kind of ledger record: its import kind and table,
its key, the fields that refer to other records, its money fields, the webhook events a
create or an update announces, the ledger hook it fires and how it is voided.

A record's fields are named as the REST API names them: references are internal ids
(``customer_id``), money is ``{"amount": "812.40", "currency": "USD"}`` (or a
:class:`~arpolicy.kit.money.Money`). The service turns them into the import row the kind
validates (``customer``: the customer's external id; ``amount`` and ``currency``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from arpolicy.exceptions import ValidationError
from arpolicy.ledger import hooks
from arpolicy.ledger.writing import shapes
from arpolicy.models import (
    Allocation,
    Contact,
    Customer,
    CustomFieldDefinition,
    Dispute,
    Document,
    FxRate,
    Payment,
    PaymentAttempt,
    PaymentSource,
    PromiseToPay,
    SalesOrder,
    Subscription,
    User,
)


@dataclass(frozen=True)
class Ref:
    """A field holding the id of another record, which the import row names by its key:
    ``columns`` of the row get ``attributes`` of the referenced record."""

    model: Any
    columns: tuple[str, ...]
    attributes: tuple[str, ...]
    what: str
    path: str
    known_as: str | None = None
    """The import's reference map (external key -> id) that the key just read belongs to:
    the row's validation then finds it without reading it again."""
    known: tuple[str, ...] = ()
    """When the map holds more than the id: the attributes of its value (read with the key,
    in that order)."""


@dataclass(frozen=True)
class Resource:
    entity: str
    """Audit entity and webhook prefix (customer, document...)."""
    kind: str
    """The import kind."""
    model: Any
    path: str
    """Where the REST API lists them (named in the fixes of errors)."""
    key: dict[str, str]
    """Fields of the record's key -> model attributes (unchangeable by an update)."""
    refs: dict[str, Ref] = field(default_factory=dict)
    money: tuple[str, ...] = ()
    """Money fields; their currency is the row's ``currency``."""
    own_currency: bool = False
    """The record has a ``currency`` field of its own (else it is the money fields')."""
    shape: Callable[[Any, str], dict[str, Any]] | None = None
    """The record as the API shows it, given the tenant's base currency: its webhooks' data."""
    created: str | None = None
    updated: str | None = None
    events: Callable[[dict[str, Any], dict[str, Any]], list[str]] | None = None
    """More webhook events of an update, from the changed (before, after) values."""
    topic: str | None = None
    """The ledger hook (arpolicy.ledger.hooks) a write of this kind fires."""
    void: dict[str, Any] | None = None
    """The fields a void sets (None: the kind cannot be voided)."""
    held: str | None = None
    """The import's map of what a stored record holds (its allocations, its parent), keyed
    by the record's key: a record the service creates holds nothing, so its row's checks
    need not look (one statement less per create)."""
    held_by_id: str | None = None
    """The same, keyed by the record's id (what is applied to a document, allocated from a
    payment), noted once the created record has its id."""

    @property
    def name(self) -> str:
        return self.entity.replace("_", " ")


def _owners_changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    owners = ("finance_owner_id", "sales_owner_id")
    return ["customer.owner_changed"] if any(o in after for o in owners) else []


def _user(column: str) -> Ref:
    return Ref(User, (column,), ("email",), "user", "/v1/users")


CUSTOMER = Ref(Customer, ("customer",), ("external_id",), "customer", "/v1/customers", "customers")
DOCUMENT = Ref(
    Document,
    ("document_type", "document_number"),
    ("doc_type", "number"),
    "document",
    "/v1/documents",
    "documents",
    ("id", "currency", "customer_id", "amount_minor"),
)
"""An optional document a record concerns (it must belong to the record's customer)."""
PAYMENT = Ref(
    Payment,
    ("payment",),
    ("external_id",),
    "payment",
    "/v1/payments",
    "payments",
    ("id", "currency", "amount_minor", "received_on"),
)
SUBSCRIPTION = Ref(
    Subscription,
    ("subscription",),
    ("external_id",),
    "subscription",
    "/v1/subscriptions",
    "subscriptions",
)
EXTERNAL = {"external_id": "external_id"}

CUSTOMERS = Resource(
    entity="customer",
    kind="customers",
    model=Customer,
    path="/v1/customers",
    key=EXTERNAL,
    refs={
        "parent_id": Ref(
            Customer, ("parent",), ("external_id",), "customer", "/v1/customers", "customers"
        ),
        "finance_owner_id": _user("finance_owner"),
        "sales_owner_id": _user("sales_owner"),
    },
    money=("reported_balance",),
    own_currency=True,
    shape=shapes.customer,
    created="customer.created",
    updated="customer.updated",
    events=_owners_changed,
    topic=hooks.CUSTOMERS_WRITTEN,
    held="customers.parent",
)
CONTACTS = Resource(
    entity="contact",
    kind="contacts",
    model=Contact,
    path="/v1/contacts",
    key=EXTERNAL,
    refs={"customer_id": CUSTOMER},
    topic=hooks.CONTACTS_WRITTEN,
)
DOCUMENTS = Resource(
    entity="document",
    kind="documents",
    model=Document,
    path="/v1/documents",
    key={"type": "doc_type", "number": "number"},
    refs={"customer_id": CUSTOMER, "subscription_id": SUBSCRIPTION},
    money=("amount", "balance"),
    shape=shapes.document,
    created="document.created",
    updated="document.updated",
    topic=hooks.DOCUMENTS_WRITTEN,
    void={"voided": True},
    held="documents.held",
    held_by_id="documents.applied",
)
PAYMENTS = Resource(
    entity="payment",
    kind="payments",
    model=Payment,
    path="/v1/payments",
    key=EXTERNAL,
    refs={"customer_id": CUSTOMER},
    money=("amount",),
    shape=shapes.payment,
    created="payment.created",
    topic=hooks.PAYMENTS_WRITTEN,
    held="payments.held",
    held_by_id="allocated",
)
ALLOCATIONS = Resource(
    entity="allocation",
    kind="allocations",
    model=Allocation,
    path="/v1/allocations",
    key={"payment_id": "payment_id", "document_id": "document_id"},
    refs={"payment_id": PAYMENT, "document_id": DOCUMENT},
    money=("amount",),
    topic=hooks.ALLOCATIONS_WRITTEN,
    held="allocations",
)
ORDERS = Resource(
    entity="order",
    kind="orders",
    model=SalesOrder,
    path="/v1/orders",
    key=EXTERNAL,
    refs={"customer_id": CUSTOMER},
    money=("amount",),
    topic=hooks.ORDERS_WRITTEN,
    void={"status": "cancelled"},
)
PROMISES = Resource(
    entity="promise",
    kind="promises",
    model=PromiseToPay,
    path="/v1/promises",
    key=EXTERNAL,
    refs={"customer_id": CUSTOMER, "document_id": DOCUMENT},
    money=("amount",),
    shape=shapes.promise,
    created="promise.created",
    topic=hooks.COLLECTION_WRITTEN,
    void={"status": "cancelled"},
)
DISPUTES = Resource(
    entity="dispute",
    kind="disputes",
    model=Dispute,
    path="/v1/disputes",
    key=EXTERNAL,
    refs={"customer_id": CUSTOMER, "document_id": DOCUMENT},
    money=("amount",),
    shape=shapes.dispute,
    created="dispute.created",
    topic=hooks.COLLECTION_WRITTEN,
)
ATTEMPTS = Resource(
    entity="payment_attempt",
    kind="payment-attempts",
    model=PaymentAttempt,
    path="/v1/payment-attempts",
    key=EXTERNAL,
    refs={"customer_id": CUSTOMER, "document_id": DOCUMENT},
    money=("amount",),
    void={"status": "voided"},
)
SOURCES = Resource(
    entity="payment_source",
    kind="payment-sources",
    model=PaymentSource,
    path="/v1/payment-sources",
    key=EXTERNAL,
    refs={"customer_id": CUSTOMER},
)
SUBSCRIPTIONS = Resource(
    entity="subscription",
    kind="subscriptions",
    model=Subscription,
    path="/v1/subscriptions",
    key=EXTERNAL,
    refs={"customer_id": CUSTOMER},
    money=("mrr",),
    own_currency=True,
    void={"status": "cancelled"},
)
RATES = Resource(
    entity="fx_rate",
    kind="fx-rates",
    model=FxRate,
    path="/v1/fx-rates",
    key={"from_currency": "from_currency", "to_currency": "to_currency", "valid_on": "valid_on"},
)
FIELDS = Resource(
    entity="custom_field",
    kind="custom-fields",
    model=CustomFieldDefinition,
    path="/v1/custom-fields",
    key={"entity": "entity", "key": "key"},
)

RESOURCES: dict[str, Resource] = {
    r.kind: r
    for r in (
        CUSTOMERS,
        CONTACTS,
        DOCUMENTS,
        PAYMENTS,
        ALLOCATIONS,
        ORDERS,
        PROMISES,
        DISPUTES,
        ATTEMPTS,
        SOURCES,
        SUBSCRIPTIONS,
        RATES,
        FIELDS,
    )
}
"""Every kind of record the service writes one at a time, by import kind."""

TOPICS: dict[str, str] = {
    **{r.kind: r.topic for r in RESOURCES.values() if r.topic},
    **dict.fromkeys(("invoices", "debit-notes", "credit-notes"), hooks.DOCUMENTS_WRITTEN),
}
"""The ledger hook an import of each kind fires, once per batch."""


def resource(kind: str) -> Resource:
    found = RESOURCES.get(kind)
    if found is None:
        raise ValidationError(
            f"{kind!r} is not a kind of record the ledger writes one at a time",
            fix=f"one of {', '.join(RESOURCES)} (or import a file of it)",
        )
    return found
