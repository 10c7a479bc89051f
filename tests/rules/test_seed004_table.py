"""The seed-004 rule table of docs/rules.md: every row of the seed's engagement rule tables
is there, in order, with a rule that checks at its level and, run on the small ledger
below as of 2026-11-23 (a Monday), matches the record it should and not the one it should
not, in the database (SQLite and PostgreSQL) and in Python alike.

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

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from arpolicy.ledger.fields import catalogue_for
from arpolicy.ledger.rates import exchange
from arpolicy.ledger.selection import records
from arpolicy.ledger.selection import select as select_ids
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
from arpolicy.rules import Level, bind, check, parse, to_python, to_text
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

DOC = Path(__file__).parents[2] / "docs" / "rules.md"
AS_OF = date(2026, 11, 23)
DAY30 = AS_OF - timedelta(days=30)
CUSTOM = [("document", "po_number", "string", None, None)]

SEED_ROWS = {  # the first column of each table of seed 004, in its order
    "customer": [
        "Outstanding", "Overdue", "Net Overdue", "Open Debits", "Unaccounted Payment",
        "Unutilisted Credit", "Ageing Bucket(eg. 1-30)", "Open Issue Amount", "Open P2P Amount",
        "Last Email Date", "Last Reply Date", "Next P2P Date", "Finance Owner", "Sales Owner",
        "Outstanding Mismatch",
    ],
    "invoice": [
        "Amount", "Balance", "Converted Amount", "Converted Balance", "Open Issue Amount",
        "Open P2P Amount", "Document Date", "Due Date", "Posting Date", "P2P Date",
        "Open P2P Amount", "Last Email Date", "Last Reply Date", "Transaction Type",
        "Document Type", "Currency", "Location", "Business Unit", "Has P2P Date", "Disputed",
        "Paid", "Custom Field",
    ],
    "payment": [
        "Last Attempted Payment Date", "Last Attempted Payment Status",
        "Last Attempted Payment Amount", "Last Attempted Payment Method",
        "Last Attempted Payment Failure Error", "Last Payment Gateway Used",
        "Dunning Status of Last Attempted Payment", "Count of Payment Attempts",
        "Next Scheduled Retry", "Primary Payment Method", "Backup Payment Method",
        "Masked Credit Card Numbers", "Auto Collection", "Net Term Days", "Payment Risk",
        "Payment Source Status", "Monthly DSO (Days)", "Average Payment Attempts",
        "Subscription Status", "Last Email", "Last Reply Date",
    ],
}  # fmt: skip

# level -> rule -> (a record it matches, one it does not); None: nothing can match it yet
EXPECTED: dict[str, dict[str, tuple[str | None, str]]] = {"customer": {
    "outstanding > 1000 USD": ("BIG", "SMALL"),
    "overdue > 1000 USD": ("BIG", "SMALL"),
    "net_overdue > 1000 USD": ("BIG", "SMALL"),
    "open_debits > 1000 USD": ("BIG", "SMALL"),
    "unaccounted_payment > 0": ("BIG", "SMALL"),
    "unutilised_credit > 0": ("BIG", "SMALL"),
    "ageing_1_30 > 5000 USD": ("BIG", "SMALL"),
    "open_issue_amount = 0": ("BIG", "SMALL"),
    "open_p2p_amount > 2000 USD": ("BIG", "SMALL"),
    "last_email_at = 30 days ago": ("BIG", "SMALL"),
    "last_reply_at = 30 days ago": ("BIG", "SMALL"),
    "next_p2p_date in the next 7 days": ("BIG", "SMALL"),
    'finance_owner includes ("ana@example.com")': ("BIG", "SMALL"),
    'sales_owner includes ("raj@example.com")': ("BIG", "SMALL"),
    "outstanding_mismatch = 0": ("BIG", "SMALL"),
}, "invoice": {
    "amount > 1000 USD": ("B1", "S1"),
    "balance > 500 USD": ("B1", "S1"),
    "converted_amount > 1000 USD": ("E1", "S1"),
    "converted_balance > 500 USD": ("E1", "S1"),
    "open_issue_amount = 0": ("B1", "S1"),
    "open_p2p_amount > 0": ("B1", "S1"),
    "document_date = 30 days ago": ("B1", "S1"),
    "due_date = 30 days ago": ("B1", "S1"),
    "posting_date = 30 days ago": ("B1", "S1"),
    "p2p_date in the next 7 days": ("B1", "S1"),
    "customer.open_p2p_amount > 2000 USD": ("B1", "S1"),
    "last_email_at = 30 days ago": ("B1", "S1"),
    "last_reply_at = 30 days ago": ("B1", "S1"),
    "debit_or_credit = credit": ("CN1", "B1"),
    "document_type includes (invoice, debit_note)": ("B1", "CN1"),
    "currency includes (USD)": ("B1", "E1"),
    'location includes ("New Delhi")': ("B1", "S1"),
    'business_unit includes ("retail outlets")': ("B1", "S1"),
    "has_p2p_date": ("B1", "S1"),
    "not disputed": ("B1", "S1"),
    "not paid": ("B1", "P1"),
    "cf.po_number = PO-778": ("B1", "S1"),
}, "payment": {
    "last_attempt_at in the last 7 days": ("BIG", "SMALL"),
    "last_attempt_status = success": ("SMALL", "BIG"),
    "last_attempt_amount > 1000 USD": ("BIG", "SMALL"),
    "last_attempt_method = cash": ("BIG", "SMALL"),
    'last_attempt_error = "Insufficient funds"': ("BIG", "SMALL"),
    "last_attempt_gateway includes (stripe)": ("BIG", "SMALL"),
    "dunning_status = exhausted": ("BIG", "SMALL"),
    "payment_attempts > 1000": ("MANY", "BIG"),
    "next_retry_at in the last 7 days": ("BIG", "SMALL"),
    "primary_payment_method = cash": ("BIG", "SMALL"),
    "backup_payment_method = card": ("BIG", "SMALL"),
    "card_same_as_last_update": ("SMALL", "MANY"),
    "auto_collection": ("SMALL", "BIG"),
    "net_term_days > 1000": ("MANY", "BIG"),
    "payment_risk = high": (None, "SMALL"),  # no source in the ledger yet (docs say so)
    "payment_source_status = valid": ("SMALL", "MANY"),
    "monthly_dso > 1000": ("MANY", "BIG"),
    "average_payment_attempts > 1000": ("MANY", "BIG"),
    "subscription_status = active": ("SMALL", "BIG"),
    "customer.last_email_at < 7 days ago": ("BIG", "SMALL"),
    "customer.last_reply_at < 7 days ago": ("BIG", "SMALL"),
}}  # fmt: skip


def seed_table() -> dict[str, list[tuple[str, str, str]]]:
    """level -> [(seed rule, seed example, rule)] as docs/rules.md lists them."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## The seed-004 rule table", 1)[1].split("\n## ", 1)[0]
    found: dict[str, list[tuple[str, str, str]]] = {}
    for level, body in re.findall(r"### (\w+) level\n(.*?)(?=\n### |\Z)", section, re.S):
        rows = [line for line in body.splitlines() if line.startswith("| ")][1:]  # no header
        found[level] = []
        for row in rows:
            name, example, rule, _note = (c.strip() for c in row.strip("|").split(" | "))
            assert rule.startswith("`") and rule.endswith("`"), row
            found[level].append((name, example, rule[1:-1]))
    return found


TABLE = seed_table()


def test_the_table_lists_every_seed_row_in_order_with_one_rule_each():
    assert {level: [name for name, _, _ in rows] for level, rows in TABLE.items()} == SEED_ROWS
    for level, rows in TABLE.items():  # each rule of the table has its expectation
        assert sorted(rule for _, _, rule in rows) == sorted(EXPECTED[level]), level


@pytest.mark.parametrize("level", list(TABLE))
def test_every_rule_checks_and_is_written_canonically(level):
    fields = catalogue_for("USD", custom_fields=CUSTOM).level(level)
    for _, _, rule in TABLE[level]:
        assert to_text(check(parse(rule), fields)) == rule  # written in canonical form


@pytest.mark.parametrize("level", list(TABLE))
def test_every_rule_matches_what_it_should_in_sql_and_python(session, level):
    t, labels = ledger(session)
    fields = catalogue_for("USD", custom_fields=CUSTOM).level(level)
    label = labels[Level(level) is Level.INVOICE]
    recs = {label[i]: r for i, r in records(session, t, fields, AS_OF)}
    fx = exchange(session, t)
    failures = []
    for name, _, text in TABLE[level]:
        bound = bind(check(parse(text), fields), AS_OF, tz="UTC", exchange=fx)
        in_sql = {label[i] for i in select_ids(session, t, bound, fields)}
        matches = to_python(bound, fields)
        in_python = {key for key, r in recs.items() if matches(r)}
        yes, no = EXPECTED[level][text]
        if in_sql != in_python or (yes is not None and yes not in in_sql) or no in in_sql:
            failures.append(f"{name}: {text} selects {sorted(in_sql)} in SQL, "
                            f"{sorted(in_python)} in Python; expected {yes} and not {no}")  # fmt: skip
        if yes is None:  # payment risk: nothing to match until the ledger has a source for it
            assert in_sql == set(), text
    assert not failures, "\n".join(failures)


def ledger(session: Any) -> tuple[Any, tuple[dict[int, str], dict[int, str]]]:
    """The tenant of the module docstring, and (customer labels, document labels) by id."""
    t = create_tenant(session, base_currency="USD", timezone="UTC")
    create_rate(session, t, "EUR", "USD", date(2026, 1, 1), "1.10")
    session.add(_custom_field(t))
    ana, raj = (create_user(session, t, email=f"{n}@example.com") for n in ("ana", "raj"))
    noon = datetime.combine(DAY30, datetime.min.time(), UTC) + timedelta(hours=12)
    yesterday = datetime(2026, 11, 22, 12, tzinfo=UTC)
    big = create_customer(session, t, external_id="BIG", finance_owner_id=ana.id,
                          sales_owner_id=raj.id, last_email_at=noon, last_reply_at=noon,
                          reported_balance_minor=570000, net_term_days=30)  # fmt: skip
    small = create_customer(session, t, external_id="SMALL", last_email_at=yesterday,
                            last_reply_at=yesterday, reported_balance_minor=99900,
                            auto_collection=True)  # fmt: skip
    euro = create_customer(session, t, external_id="EURO", currency="EUR")
    many = create_customer(session, t, external_id="MANY", net_term_days=1001)

    b1 = create_document(session, t, big, "6000.00", number="B1", document_date=DAY30,
                         due_date=DAY30, posting_date=DAY30, last_email_at=noon,
                         last_reply_at=noon, location="New Delhi",
                         business_unit="retail outlets", custom_fields={"po_number": "PO-778"})  # fmt: skip
    create_document(session, t, big, "300.00", balance="0", number="P1", document_date=DAY30)
    create_document(session, t, big, "200.00", number="CN1", doc_type=DocumentType.CREDIT_NOTE,
                    document_date=DAY30)  # fmt: skip
    create_payment(session, t, big, "100.00", received_on=DAY30)
    create_promise(session, t, big, "2500.00", date(2026, 11, 28), document=b1)
    s1 = create_document(session, t, small, "100.00", number="S1", document_date=date(2026, 11, 1),
                         due_date=date(2026, 12, 1), location="Mumbai", business_unit="software",
                         custom_fields={"po_number": "PO-1"})  # fmt: skip
    create_dispute(session, t, small, "50.00", document=s1)
    create_document(session, t, euro, "1000.00", number="E1", document_date=date(2026, 11, 1),
                    due_date=date(2026, 12, 1))  # fmt: skip
    m1 = create_document(session, t, many, "1000.00", number="M1", document_date=date(2026, 1, 1))
    create_document(session, t, many, "10.00", number="M2", document_date=date(2026, 11, 1),
                    due_date=date(2026, 12, 1))  # fmt: skip

    create_attempt(session, t, big, document=b1, amount="1500.00",
                   attempted_at=datetime(2026, 11, 20, 9, tzinfo=UTC), method=PaymentMethod.CASH,
                   gateway="stripe", failure_reason="Insufficient funds",
                   dunning_status=DunningStatus.EXHAUSTED,
                   next_retry_at=datetime(2026, 11, 20, 12, tzinfo=UTC))  # fmt: skip
    create_attempt(session, t, small, document=s1, status=AttemptStatus.SUCCESS,
                   attempted_at=datetime(2026, 10, 1, 9, tzinfo=UTC), method=PaymentMethod.CARD,
                   gateway="adyen", dunning_status=DunningStatus.SUCCESS)  # fmt: skip
    session.execute(insert(PaymentAttempt), [
        {"tenant_id": t.id, "external_id": f"MA{n}", "customer_id": many.id, "document_id": m1.id,
         "attempted_at": datetime(2026, 6, 1, tzinfo=UTC) + timedelta(minutes=n),
         "status": AttemptStatus.FAILURE, "currency": "USD", "amount_minor": 100000,
         "attempt_number": 1 + n % 30000}
        for n in range(1001)
    ])  # fmt: skip

    def source(customer: Any, key: str, kind: SourceKind, role: SourceRole, **kw: Any) -> None:
        session.add(PaymentSource(tenant_id=t.id, external_id=key, customer_id=customer.id,
                                  kind=kind, role=role, **{"status": SourceStatus.VALID, **kw}))  # fmt: skip

    source(big, "PS-B1", SourceKind.CASH, SourceRole.PRIMARY)
    source(big, "PS-B2", SourceKind.CARD, SourceRole.BACKUP, last4="1111")
    source(small, "PS-S1", SourceKind.CARD, SourceRole.PRIMARY, last4="4242", previous_last4="4242")
    source(many, "PS-M1", SourceKind.CARD, SourceRole.PRIMARY, last4="1881",
           previous_last4="4242", status=SourceStatus.EXPIRED)  # fmt: skip
    for customer, status in ((big, SubscriptionStatus.PAUSED), (small, SubscriptionStatus.ACTIVE)):
        session.add(Subscription(tenant_id=t.id, external_id=f"SUB-{customer.external_id}",
                                 customer_id=customer.id, status=status))  # fmt: skip
    session.flush()
    customers = dict(session.execute(
        select(Customer.id, Customer.external_id).where(Customer.tenant_id == t.id)).all())  # fmt: skip
    documents = dict(session.execute(
        select(Document.id, Document.number).where(Document.tenant_id == t.id)).all())  # fmt: skip
    return t, (customers, documents)


def _custom_field(t: Any) -> Any:
    from arpolicy.models import CustomFieldDefinition

    return CustomFieldDefinition(
        tenant_id=t.id, entity="document", key="po_number", label="PO number", type="string"
    )
