"""Days past due belong to open debit documents only (issue 12, item 11): a paid invoice, a
voided one and a credit note have none, so ``days_past_due > 90`` never selects them, in
the database and in Python alike, on SQLite and PostgreSQL.

The ledger, as of 2026-11-23 (every document due 2026-08-01, 114 days before):

    OPEN     invoice, balance 100.00       114 days past due
    DEBIT    debit note, balance 40.00     114
    PART     invoice, 100.00 of which 60.00 paid (payment allocated)   114
    PAID     invoice, paid in full by an allocated payment             empty
    ZERO     invoice reported paid (balance 0.00)                      empty
    VOID     voided invoice, balance 100.00                            empty
    CREDIT   credit note, unused credit 30.00                          empty
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from arpolicy.ledger.documents import days_past_due, open_documents
from arpolicy.ledger.fields import catalogue_for
from arpolicy.ledger.selection import invoice_records, select_invoices
from arpolicy.models import Customer, Document, DocumentType
from arpolicy.rules import bind, check, parse, to_python
from tests.fixtures.factories import create_customer, create_document, create_payment, create_tenant

AS_OF = date(2026, 11, 23)
DUE = date(2026, 8, 1)
OWING = {"OPEN", "DEBIT", "PART"}
NONE = {"PAID", "ZERO", "VOID", "CREDIT"}


@pytest.fixture
def ledger(session):
    t = create_tenant(session, base_currency="USD", timezone="UTC")
    c = create_customer(session, t)

    def doc(number: str, amount: str = "100.00", **kw):
        return create_document(
            session, t, c, amount, number=number, document_date=DUE, due_date=DUE, **kw
        )

    doc("OPEN")
    doc("DEBIT", "40.00", doc_type=DocumentType.DEBIT_NOTE)
    part, paid = doc("PART"), doc("PAID")
    create_payment(session, t, c, "160.00", allocations={part: "60.00", paid: "100.00"})
    doc("ZERO", balance="0.00")
    doc("VOID", voided=True)
    doc("CREDIT", "30.00", doc_type=DocumentType.CREDIT_NOTE)
    fields = catalogue_for("USD").level("invoice")
    return session, t, fields


def numbers(ledger) -> dict[int, str]:
    session, t, _ = ledger
    q = select(Document.id, Document.number).where(Document.tenant_id == t.id)
    return dict(session.execute(q).all())


def selected(ledger, text: str) -> tuple[set[str], set[str]]:
    """(numbers the database selects, numbers the Python evaluator matches)."""
    session, t, fields = ledger
    bound = bind(check(parse(text), fields), AS_OF, tz="UTC")
    number = numbers(ledger)
    matches = to_python(bound, fields)
    records = invoice_records(session, t, fields, AS_OF)
    in_python = {number[i] for i, r in records if matches(r)}
    return {number[i] for i in select_invoices(session, t, bound, fields)}, in_python


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("days_past_due > 90", OWING),
        ("days_past_due between 100 and 120", OWING),
        ("not (days_past_due <= 90)", OWING),  # unknown under not stays unknown
        ("not (days_past_due < 0 or days_past_due > 200)", OWING),
        ("days_past_due is empty", NONE),
        ("days_past_due is not empty", OWING),
        ("not (days_past_due is empty)", OWING),
        ("days_past_due > 90 or paid", OWING | {"PAID", "ZERO"}),
        ("days_past_due != 5", OWING),
    ],
)
def test_days_past_due_select_only_open_debits(ledger, rule, expected):
    in_sql, in_python = selected(ledger, rule)
    assert in_sql == expected, rule
    assert in_python == expected, rule


def test_records_have_no_days_past_due_for_settled_and_credit_documents(ledger):
    session, t, fields = ledger
    number = numbers(ledger)
    got = {number[i]: r["days_past_due"] for i, r in invoice_records(session, t, fields, AS_OF)}
    assert got == {n: 114 for n in OWING} | {n: None for n in NONE}


def test_open_documents_show_none_for_a_credit_note(ledger):
    session, t, _ = ledger
    customer = session.scalar(select(Customer.id).where(Customer.tenant_id == t.id))
    docs = {d.number: d.days_past_due for d in open_documents(session, t, customer, AS_OF)}
    assert docs == {"OPEN": 114, "DEBIT": 114, "PART": 114, "CREDIT": None}


def test_the_pure_definition():
    assert days_past_due("invoice", 100, False, DUE, AS_OF) == 114
    assert days_past_due("debit_note", -5, False, DUE, AS_OF) == 114  # overpaid: still open
    assert days_past_due("invoice", 0, False, DUE, AS_OF) is None
    assert days_past_due("invoice", 100, True, DUE, AS_OF) is None
    assert days_past_due("credit_note", 100, False, DUE, AS_OF) is None
