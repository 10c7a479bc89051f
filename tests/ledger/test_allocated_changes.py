"""What allocations forbid, through the import (issue 11, item 4), on both databases: a
document or payment with allocations keeps its customer and currency and no amount below
what is allocated; allocations never apply more to a document than its amount. Each refusal
is a row error naming the line and column, and nothing is stored.

The ledger: tenant in EUR, customers A and B, invoice INV-1 of 1164.67 EUR to A, paid in
full by A's payment P-1 (1164.67 EUR).
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from arpolicy.exceptions import ValidationError
from arpolicy.kit.money import Money
from arpolicy.ledger.allocations import AllocatedChange, Held, check_applied, check_held
from arpolicy.ledger.importing import import_rows
from arpolicy.models import Allocation, Document, Payment
from tests.fixtures.factories import create_rate, create_tenant

INVOICE = {
    "number": "INV-1",
    "customer": "A",
    "currency": "EUR",
    "amount": "1164.67",
    "document_date": "2026-09-01",
    "due_date": "2026-10-01",
}
PAYMENT = {
    "external_id": "P-1",
    "customer": "A",
    "currency": "EUR",
    "amount": "1164.67",
    "received_on": "2026-10-05",
}


@pytest.fixture
def paid(session):
    tenant = create_tenant(session, base_currency="EUR")
    create_rate(session, tenant, "USD", "EUR", date(2026, 1, 1), "0.90")
    customers = [{"external_id": c, "name": c, "currency": "EUR"} for c in ("A", "B")]
    for kind, rows in [
        ("customers", customers),
        ("invoices", [INVOICE]),
        ("payments", [PAYMENT]),
        (
            "allocations",
            [
                {
                    "payment": "P-1",
                    "document_number": "INV-1",
                    "currency": "EUR",
                    "amount": "1164.67",
                }
            ],
        ),
    ]:
        report = import_rows(session, tenant, kind, rows)
        assert report.ok, (kind, report.errors)
    return tenant


def stored(session, tenant):
    doc = session.scalars(select(Document).where(Document.tenant_id == tenant.id)).one()
    pay = session.scalars(select(Payment).where(Payment.tenant_id == tenant.id)).one()
    session.refresh(doc)
    session.refresh(pay)
    return (
        doc.customer_id,
        doc.currency,
        doc.amount_minor,
        doc.balance_minor,
        pay.customer_id,
        pay.amount_minor,
        pay.unallocated_minor,
    )


def refused(session, tenant, kind, row, column):
    before = stored(session, tenant)
    report = import_rows(session, tenant, kind, [row])
    assert not report.applied and report.rejected == 1
    (error,) = report.errors
    assert (error.line, error.column) == (1, column), error
    assert stored(session, tenant) == before  # nothing stored
    return error


def test_a_paid_invoice_keeps_its_customer(session, paid):
    error = refused(session, paid, "invoices", {**INVOICE, "customer": "B"}, "customer")
    assert error.reason == (
        "invoice INV-1 of customer A has 1164.67 EUR applied from payments; "
        "it cannot move to customer B"
    )
    assert error.fix.startswith("keep customer A; to bill another customer, credit")


def test_a_paid_invoice_cannot_shrink_below_its_payments(session, paid):
    error = refused(session, paid, "invoices", {**INVOICE, "amount": "1.00"}, "amount")
    assert error.reason == (
        "invoice INV-1 has 1164.67 EUR applied from payments; its amount cannot go below that"
    )
    assert "at least 1164.67 EUR, or release the allocations first" in error.fix
    # the same through the documents kind, and together with another customer: one error
    both = {**INVOICE, "type": "invoice", "customer": "B", "amount": "1.00"}
    assert refused(session, paid, "documents", both, "customer")


def test_a_paid_invoice_keeps_its_currency(session, paid):
    error = refused(session, paid, "invoices", {**INVOICE, "currency": "USD"}, "currency")
    assert "cannot change to USD" in error.reason and error.fix.startswith("keep EUR")


def test_what_allocations_allow_is_still_allowed(session, paid):
    """The same amount, a larger one, other dates: accepted; a document with no allocations
    moves freely."""
    for row in ({**INVOICE, "due_date": "2026-10-15"}, {**INVOICE, "amount": "1200.00"}):
        assert import_rows(session, paid, "invoices", [row]).applied
    free = {**INVOICE, "number": "INV-2"}
    assert import_rows(session, paid, "invoices", [free]).applied
    moved = import_rows(session, paid, "invoices", [{**free, "customer": "B", "amount": "1.00"}])
    assert moved.applied and moved.updated == 1


def test_a_payment_with_allocations_keeps_its_customer(session, paid):
    error = refused(session, paid, "payments", {**PAYMENT, "customer": "B"}, "customer")
    assert error.reason == (
        "payment P-1 of customer A has 1164.67 EUR allocated to documents; "
        "it cannot move to customer B"
    )
    assert refused(session, paid, "payments", {**PAYMENT, "amount": "1000.00"}, "amount")
    assert refused(session, paid, "payments", {**PAYMENT, "currency": "USD"}, "currency")


def test_allocations_never_apply_more_than_the_document(session, paid):
    """Running totals over the stored allocations and the file's rows: a second payment
    cannot pay the invoice again; raising the invoice makes room; a pair's new amount
    replaces its old one."""
    second = {**PAYMENT, "external_id": "P-2", "amount": "500.00"}
    assert import_rows(session, paid, "payments", [second]).applied
    alloc = {"payment": "P-2", "document_number": "INV-1", "currency": "EUR", "amount": "0.01"}
    before = session.scalars(select(Allocation).where(Allocation.tenant_id == paid.id)).all()
    report = import_rows(session, paid, "allocations", [alloc])
    (error,) = report.errors
    assert (error.line, error.column) == (1, "amount") and not report.applied
    assert error.reason == (
        "would bring what is applied to invoice INV-1 to 1164.68 EUR, "
        "more than its amount 1164.67 EUR"
    )
    after = session.scalars(select(Allocation).where(Allocation.tenant_id == paid.id)).all()
    assert len(after) == len(before)
    assert import_rows(session, paid, "invoices", [{**INVOICE, "amount": "1200.00"}]).applied
    rows = [
        {"payment": "P-1", "document_number": "INV-1", "currency": "EUR", "amount": "1000.00"},
        {**alloc, "amount": "200.00"},
    ]
    assert import_rows(session, paid, "allocations", rows).applied  # 1000 + 200 = 1200
    over = import_rows(session, paid, "allocations", [{**alloc, "amount": "200.01"}])
    assert [e.line for e in over.errors] == [1]


def test_the_guard_itself():
    """One guard for every path (the import kinds, and so the API); its error is a
    domain error (422)."""
    held = Held(customer_id=1, customer="A", currency="EUR", minor=116467)
    check_held(
        "invoice INV-1", held, customer_id=1, customer="A", currency="EUR", amount_minor=116467
    )
    check_held("invoice INV-1", None, customer_id=2, customer="B", currency="USD", amount_minor=1)
    with pytest.raises(AllocatedChange) as exc:
        check_held(
            "invoice INV-1", held, customer_id=1, customer="A", currency="EUR", amount_minor=116466
        )
    assert isinstance(exc.value, ValidationError) and exc.value.status == 422
    assert exc.value.column == "amount"
    check_applied("invoice INV-1", Money.parse("10.00", "EUR"), 1000)
    with pytest.raises(AllocatedChange):
        check_applied("invoice INV-1", Money.parse("10.00", "EUR"), 1001)
