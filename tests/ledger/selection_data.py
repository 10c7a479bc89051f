"""Random ledgers for the selection property tests (tests/ledger/test_selection_property.py,
tests/ledger/test_coverage.py); the random rules they run are in
:mod:`tests.ledger.selection_rules`.

A ledger is plain data (customers with attributes, custom fields, documents, payments,
disputes, promises, attempts, payment sources and subscriptions), built into the database
by :func:`build`. Its amounts, dates and words come from the same small pools as the rule
literals, so rules often sit exactly on a record's value.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st
from sqlalchemy.orm import Session

from arpolicy.models import (
    AttemptStatus,
    DisputeStatus,
    DocumentType,
    DunningStatus,
    PaymentMethod,
    PaymentSource,
    PromiseStatus,
    SourceKind,
    SourceRole,
    SourceStatus,
    Subscription,
    SubscriptionStatus,
    Tenant,
)
from tests.fixtures.factories import (
    create_attempt,
    create_customer,
    create_dispute,
    create_document,
    create_payment,
    create_promise,
    create_rate,
    create_tenant,
    create_user,
)

AS_OF = date(2026, 11, 23)
TZ = "Europe/Berlin"
CUSTOM = [
    ("customer", "tier", "enum", ["gold", "silver"], None),
    ("customer", "credit_limit", "money", None, "EUR"),
    ("customer", "score", "number", None, None),
    ("customer", "since", "date", None, None),
    ("customer", "vip", "boolean", None, None),
    ("document", "po_number", "string", None, None),
    ("document", "approved", "boolean", None, None),
]
USERS = ["anna@example.com", "bob@example.com"]
WORDS = ["Berlin", "BERLIN", "Retail", "EMEA", "emea", "de_DE", "Zürich", "ZÜRICH", "straße"]
"""String values and literals: they compare case-insensitively (mixed case, non-ASCII)."""
AMOUNTS = ["50.00", "100.00", "812.40", "1500.00", "99.99"]
LIT_AMOUNTS = [Decimal(x) for x in ("0", "50", "99.99", "100", "500", "1000", "2000")]
OFFSETS = [-120, -61, -31, -30, -7, -1, 0, 1, 7, 30, 45]
DAYS = [AS_OF + timedelta(days=d) for d in OFFSETS]
NUMBERS = [Decimal(x) for x in ("0", "1", "1.5", "2", "2.25", "33.3", "66.1", "100")]
INTEGERS = [-5, 0, 1, 2, 3, 30, 90]
CODES = {
    "currency": ["USD", "EUR", "JPY"],
    "country": ["DE", "US", "AT"],
    "language": ["de", "en"],
    "user": USERS,
}


def instants() -> st.SearchStrategy[datetime]:
    """Instants around the as-of date, at Berlin's midnight (23:00 UTC) and midday."""
    return st.builds(
        lambda d, h: (
            datetime.combine(AS_OF + timedelta(days=d), datetime.min.time(), UTC)
            + timedelta(hours=h)
        ),
        st.sampled_from(OFFSETS),
        st.sampled_from([-1, 0, 11, 22, 23]),
    )


def maybe(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | s


words = st.sampled_from(WORDS)
offsets = st.sampled_from(OFFSETS)
money_text = st.sampled_from(AMOUNTS)
doc = st.fixed_dictionaries(
    {
        "type": st.sampled_from(list(DocumentType)),
        "foreign": st.booleans(),
        "amount": money_text,
        "paid": st.sampled_from([0, 0, 1, 2]),
        "due": offsets,
        "voided": st.booleans() | st.just(False),
        "disputed": st.booleans(),
        "posted": st.booleans(),
        "location": maybe(words),
        "unit": maybe(words),
        "kind": maybe(words),
        "email": maybe(instants()),
        "cf": st.fixed_dictionaries({}, optional={"po_number": words, "approved": st.booleans()}),
    }
)
side = st.fixed_dictionaries(
    {
        "amount": money_text,
        "foreign": st.booleans(),
        "open": st.booleans() | st.just(True),
        "doc": maybe(st.integers(0, 3)),
        "on": st.sampled_from([-3, -1, 0, 1, 5, 10]),
    }
)
attempt = st.fixed_dictionaries(
    {
        "at": instants(),
        "status": st.sampled_from(list(AttemptStatus)),
        "amount": money_text,
        "method": maybe(st.sampled_from(list(PaymentMethod))),
        "gateway": maybe(words),
        "error": maybe(words),
        "dunning": maybe(st.sampled_from(list(DunningStatus))),
        "retry": maybe(instants()),
        "doc": maybe(st.integers(0, 3)),
    }
)
source = st.tuples(
    st.sampled_from(list(SourceKind)),
    st.sampled_from(list(SourceStatus)),
    st.sampled_from(list(SourceRole)),
    maybe(st.sampled_from(["4242", "1881"])),  # last4
    maybe(st.sampled_from(["4242", "1881"])),  # previous_last4
)
customer_cf = st.fixed_dictionaries(
    {},
    optional={
        "tier": st.sampled_from(["gold", "silver"]),
        "credit_limit": st.sampled_from(["0.00", "500.00", "1000.00"]),
        "score": st.sampled_from(["0", "1.5", "2.25", "66.1", "100"]),
        "since": st.sampled_from(DAYS),
        "vip": st.booleans(),
    },
)
customer = st.fixed_dictionaries(
    {
        "country": maybe(st.sampled_from(["DE", "US"])),
        "currency": st.sampled_from(["USD", "EUR", None]),
        "language": maybe(st.sampled_from(["de", "en"])),
        "region": maybe(words),
        "segment": maybe(words),
        "customer_group": maybe(words),
        "locale": maybe(words),
        "finance": maybe(st.integers(0, 1)),
        "sales": maybe(st.integers(0, 1)),
        "last_email_at": maybe(instants()),
        "last_reply_at": maybe(instants()),
        "reported": maybe(money_text),
        "auto_collection": st.booleans(),
        "net_term_days": st.sampled_from([None, 0, 30]),
        "cf": customer_cf,
        "docs": st.lists(doc, max_size=4),
        "payments": st.lists(side, max_size=2),
        "disputes": st.lists(side, max_size=2),
        "promises": st.lists(side, max_size=2),
        "attempts": st.lists(attempt, max_size=3),
        "sources": st.lists(source, max_size=2),
        "subscriptions": st.lists(st.sampled_from(list(SubscriptionStatus)), max_size=2),
    }
)
ledgers = st.lists(customer, min_size=2, max_size=5)


def build(session: Session, spec: list[dict[str, Any]]) -> Tenant:
    """The ledger ``spec`` in a new tenant (base USD, Berlin time)."""
    t = create_tenant(session, base_currency="USD", timezone=TZ)
    create_rate(session, t, "EUR", "USD", date(2025, 1, 1), "1.10")
    create_rate(session, t, "JPY", "USD", date(2025, 1, 1), "0.0067")  # JPY literals: via USD
    users = [create_user(session, t, email=e) for e in USERS]
    for i, c in enumerate(spec):
        _customer(session, t, users, i, c)
    return t


def _customer(session: Session, t: Tenant, users: list[Any], i: int, c: dict[str, Any]) -> None:
    cf = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in c["cf"].items()}
    if "credit_limit" in cf:
        cf["credit_limit"] = {"amount": cf["credit_limit"], "currency": "EUR"}
    ccy = c["currency"] or "USD"
    other = "EUR" if ccy == "USD" else "USD"
    cust = create_customer(
        session,
        t,
        external_id=f"C{i}",
        currency=c["currency"],
        custom_fields=cf,
        **{
            k: c[k]
            for k in (
                "country",
                "language",
                "region",
                "segment",
                "customer_group",
                "locale",
                "last_email_at",
                "last_reply_at",
                "auto_collection",
                "net_term_days",
            )
        },
        finance_owner_id=None if c["finance"] is None else users[c["finance"]].id,
        sales_owner_id=None if c["sales"] is None else users[c["sales"]].id,
        reported_balance_minor=None if c["reported"] is None else int(Decimal(c["reported"]) * 100),
    )
    docs = []
    for j, d in enumerate(c["docs"]):
        amount = Decimal(d["amount"])
        balance = amount - amount * d["paid"] / 2
        due = AS_OF + timedelta(days=d["due"])
        docs.append(
            create_document(
                session,
                t,
                cust,
                d["amount"],
                balance=f"{balance:.2f}",
                currency=other if d["foreign"] else ccy,
                doc_type=d["type"],
                document_date=due - timedelta(days=30),
                due_date=due,
                voided=d["voided"],
                disputed=d["disputed"],
                posting_date=due - timedelta(days=29) if d["posted"] else None,
                location=d["location"],
                business_unit=d["unit"],
                transaction_type=d["kind"],
                last_email_at=d["email"],
                custom_fields=d["cf"],
                number=f"I{i}-{j}",
            )
        )

    def on_doc(k: int | None) -> Any:
        return docs[k] if k is not None and k < len(docs) else None

    def currency_of(s: dict[str, Any]) -> str:
        d = on_doc(s["doc"])
        return d.currency if d is not None else (other if s["foreign"] else ccy)

    for p in c["payments"]:
        create_payment(session, t, cust, p["amount"], currency=other if p["foreign"] else ccy)
    for s in c["disputes"]:
        create_dispute(
            session,
            t,
            cust,
            s["amount"],
            document=on_doc(s["doc"]),
            currency=currency_of(s),
            status=DisputeStatus.OPEN if s["open"] else DisputeStatus.RESOLVED,
        )
    for s in c["promises"]:
        create_promise(
            session,
            t,
            cust,
            s["amount"],
            AS_OF + timedelta(days=s["on"]),
            document=on_doc(s["doc"]),
            currency=currency_of(s),
            status=PromiseStatus.OPEN if s["open"] else PromiseStatus.KEPT,
        )
    for k, at in enumerate(c["attempts"]):
        create_attempt(
            session,
            t,
            cust,
            document=on_doc(at["doc"]),
            status=at["status"],
            amount=at["amount"],
            attempted_at=at["at"],
            method=at["method"],
            gateway=at["gateway"],
            failure_reason=at["error"],
            dunning_status=at["dunning"],
            next_retry_at=at["retry"],
            attempt_number=k + 1,
        )
    for k, (kind, status, role, last4, previous) in enumerate(c["sources"]):
        session.add(
            PaymentSource(
                tenant_id=t.id,
                external_id=f"S{i}-{k}",
                customer_id=cust.id,
                kind=kind,
                status=status,
                role=role,
                last4=last4,
                previous_last4=previous,
            )
        )
    for k, status in enumerate(c["subscriptions"]):
        session.add(
            Subscription(
                tenant_id=t.id, external_id=f"SUB{i}-{k}", customer_id=cust.id, status=status
            )
        )
    session.flush()
