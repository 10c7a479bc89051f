"""The small ledger of the seed-004 rule table test (test_seed004_table.py), as of
2026-11-23 (a Monday).

Customers (USD tenant, UTC; 1 EUR = 1.10 USD):

    BIG    owes 6,000.00 on B1 (dated and due 30 days ago, posted then, emailed and
           answered then, New Delhi, retail outlets, PO-778; a 2,500.00 promise on it for
           2026-11-28), a paid invoice P1, a credit note CN1 of 200.00, a payment of 100.00
           not applied; billing system reports 5,700.00 (no mismatch). Owners ana and raj.
           Pays by cash (primary), a card as backup; its last attempt (2026-11-20) failed:
           1,500.00 by cash at stripe, "Insufficient funds", dunning exhausted, retry due
           2026-11-20. Net 30, subscription paused.
    SMALL  owes 100.00 on S1 (due 2026-12-01; 50.00 of it disputed); reports 999.00; emailed
           and answered yesterday. Auto collection on a valid card 4242, updated with the
           same card; its last attempt (2026-10-01) succeeded, 100.00 by card at adyen.
           Subscription active.
    EURO   owes 1,000.00 EUR on E1 (1,100.00 USD).
    MANY   owes 1,000.00 on M1 (dated 2026-01-01) and 10.00 on M2 (2026-11-01): DSO 9,090;
           1,001 attempts on M1; net 1001 days; an expired card 1881 that replaced 4242.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from arpolicy.models import (
    AttemptStatus,
    Customer,
    Document,
    DocumentType,
    DunningStatus,
    PaymentAttempt,
    PaymentMethod,
    PaymentSource,
    SourceKind,
    SourceRole,
    SourceStatus,
    Subscription,
    SubscriptionStatus,
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
DAY30 = AS_OF - timedelta(days=30)
CUSTOM = [("document", "po_number", "string", None, None)]


def ledger(session: Any) -> tuple[Any, tuple[dict[int, str], dict[int, str]]]:
    """The tenant of the module docstring, and (customer labels, document labels) by id."""
    t = create_tenant(session, base_currency="USD", timezone="UTC")
    create_rate(session, t, "EUR", "USD", date(2026, 1, 1), "1.10")
    session.add(_custom_field(t))
    ana, raj = (create_user(session, t, email=f"{n}@example.com") for n in ("ana", "raj"))
    noon = datetime.combine(DAY30, datetime.min.time(), UTC) + timedelta(hours=12)
    yesterday = datetime(2026, 11, 22, 12, tzinfo=UTC)
    big = create_customer(
        session,
        t,
        external_id="BIG",
        finance_owner_id=ana.id,
        sales_owner_id=raj.id,
        last_email_at=noon,
        last_reply_at=noon,
        reported_balance_minor=570000,
        net_term_days=30,
    )
    small = create_customer(
        session,
        t,
        external_id="SMALL",
        last_email_at=yesterday,
        last_reply_at=yesterday,
        reported_balance_minor=99900,
        auto_collection=True,
    )
    euro = create_customer(session, t, external_id="EURO", currency="EUR")
    many = create_customer(session, t, external_id="MANY", net_term_days=1001)

    b1 = create_document(
        session,
        t,
        big,
        "6000.00",
        number="B1",
        document_date=DAY30,
        due_date=DAY30,
        posting_date=DAY30,
        last_email_at=noon,
        last_reply_at=noon,
        location="New Delhi",
        business_unit="retail outlets",
        custom_fields={"po_number": "PO-778"},
    )
    create_document(session, t, big, "300.00", balance="0", number="P1", document_date=DAY30)
    create_document(
        session,
        t,
        big,
        "200.00",
        number="CN1",
        doc_type=DocumentType.CREDIT_NOTE,
        document_date=DAY30,
    )
    create_payment(session, t, big, "100.00", received_on=DAY30)
    create_promise(session, t, big, "2500.00", date(2026, 11, 28), document=b1)
    s1 = create_document(
        session,
        t,
        small,
        "100.00",
        number="S1",
        document_date=date(2026, 11, 1),
        due_date=date(2026, 12, 1),
        location="Mumbai",
        business_unit="software",
        custom_fields={"po_number": "PO-1"},
    )
    create_dispute(session, t, small, "50.00", document=s1)
    create_document(
        session,
        t,
        euro,
        "1000.00",
        number="E1",
        document_date=date(2026, 11, 1),
        due_date=date(2026, 12, 1),
    )
    m1 = create_document(session, t, many, "1000.00", number="M1", document_date=date(2026, 1, 1))
    create_document(
        session,
        t,
        many,
        "10.00",
        number="M2",
        document_date=date(2026, 11, 1),
        due_date=date(2026, 12, 1),
    )

    create_attempt(
        session,
        t,
        big,
        document=b1,
        amount="1500.00",
        attempted_at=datetime(2026, 11, 20, 9, tzinfo=UTC),
        method=PaymentMethod.CASH,
        gateway="stripe",
        failure_reason="Insufficient funds",
        dunning_status=DunningStatus.EXHAUSTED,
        next_retry_at=datetime(2026, 11, 20, 12, tzinfo=UTC),
    )
    create_attempt(
        session,
        t,
        small,
        document=s1,
        status=AttemptStatus.SUCCESS,
        attempted_at=datetime(2026, 10, 1, 9, tzinfo=UTC),
        method=PaymentMethod.CARD,
        gateway="adyen",
        dunning_status=DunningStatus.SUCCESS,
    )
    session.execute(
        insert(PaymentAttempt),
        [
            {
                "tenant_id": t.id,
                "external_id": f"MA{n}",
                "customer_id": many.id,
                "document_id": m1.id,
                "attempted_at": datetime(2026, 6, 1, tzinfo=UTC) + timedelta(minutes=n),
                "status": AttemptStatus.FAILURE,
                "currency": "USD",
                "amount_minor": 100000,
                "attempt_number": 1 + n % 30000,
            }
            for n in range(1001)
        ],
    )

    def source(customer: Any, key: str, kind: SourceKind, role: SourceRole, **kw: Any) -> None:
        session.add(
            PaymentSource(
                tenant_id=t.id,
                external_id=key,
                customer_id=customer.id,
                kind=kind,
                role=role,
                **{"status": SourceStatus.VALID, **kw},
            )
        )

    source(big, "PS-B1", SourceKind.CASH, SourceRole.PRIMARY)
    source(big, "PS-B2", SourceKind.CARD, SourceRole.BACKUP, last4="1111")
    source(small, "PS-S1", SourceKind.CARD, SourceRole.PRIMARY, last4="4242", previous_last4="4242")
    source(
        many,
        "PS-M1",
        SourceKind.CARD,
        SourceRole.PRIMARY,
        last4="1881",
        previous_last4="4242",
        status=SourceStatus.EXPIRED,
    )
    for customer, status in ((big, SubscriptionStatus.PAUSED), (small, SubscriptionStatus.ACTIVE)):
        session.add(
            Subscription(
                tenant_id=t.id,
                external_id=f"SUB-{customer.external_id}",
                customer_id=customer.id,
                status=status,
            )
        )
    session.flush()
    customers = dict(
        session.execute(
            select(Customer.id, Customer.external_id).where(Customer.tenant_id == t.id)
        ).all()
    )
    documents = dict(
        session.execute(
            select(Document.id, Document.number).where(Document.tenant_id == t.id)
        ).all()
    )
    return t, (customers, documents)


def _custom_field(t: Any) -> Any:
    from arpolicy.models import CustomFieldDefinition

    return CustomFieldDefinition(
        tenant_id=t.id, entity="document", key="po_number", label="PO number", type="string"
    )
