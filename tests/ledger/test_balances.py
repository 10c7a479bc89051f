"""A document's balance follows from what the ledger holds (issue 12, item 1), on both
databases: recording an allocation reduces the balance of the document it pays, in the same
transaction; the balance the billing system reports is kept apart, as reported, whichever
arrives first; the customer's outstanding mismatch shows the disagreement.

The ledger: tenant in USD (1 EUR = 1.10 USD), customer C-1 (EUR) whose billing system
reports a balance of 2500.00 EUR, invoice INV-1 of 2500.00 EUR, payment P-1 of 2500.00 EUR.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from arpolicy.exceptions import ValidationError
from arpolicy.kit.money import Money
from arpolicy.ledger.balances import refresh_balances
from arpolicy.ledger.figures import customer_figures
from arpolicy.ledger.importing import import_rows
from arpolicy.models import Document
from tests.fixtures.factories import create_rate, create_tenant

AS_OF = date(2026, 11, 23)
CUSTOMER = {"external_id": "C-1", "name": "C", "currency": "EUR", "reported_balance": "2500.00"}
INVOICE = {
    "number": "INV-1",
    "customer": "C-1",
    "currency": "EUR",
    "amount": "2500.00",
    "balance": "2500.00",
    "document_date": "2026-09-01",
    "due_date": "2026-10-01",
}
PAYMENT = {
    "external_id": "P-1",
    "customer": "C-1",
    "currency": "EUR",
    "amount": "2500.00",
    "received_on": "2026-10-05",
}


def alloc(amount: str, payment: str = "P-1") -> dict[str, str]:
    return {"payment": payment, "document_number": "INV-1", "currency": "EUR", "amount": amount}


def load(session, tenant, kind, *rows):
    report = import_rows(session, tenant, kind, list(rows))
    assert report.ok and report.applied, (kind, report.errors)


@pytest.fixture
def tenant(session):
    t = create_tenant(session, base_currency="USD")
    create_rate(session, t, "EUR", "USD", date(2026, 1, 1), "1.10")
    load(session, t, "customers", CUSTOMER)
    load(session, t, "invoices", INVOICE)
    return t


def doc(session, tenant):
    d = session.scalars(select(Document).where(Document.tenant_id == tenant.id)).one()
    session.refresh(d)
    return d.balance_minor, d.base_balance_minor, d.reported_balance_minor


def figures(session, tenant):
    (f,) = customer_figures(session, tenant, AS_OF)
    assert f.local is not None
    return f.local.money("outstanding"), f.outstanding_mismatch


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def test_an_allocation_pays_the_invoice(session, tenant):
    """The issue's steps: a payment alone is unaccounted (outstanding 0.00, the balance
    untouched); its allocation pays the invoice (balance 0.00, outstanding stays 0.00), and
    the billing system's 2500.00 shows as the mismatch until it reports the payment."""
    load(session, tenant, "payments", PAYMENT)
    assert doc(session, tenant) == (250000, 275000, 250000)
    assert figures(session, tenant) == (eur("0.00"), eur("2500.00"))
    load(session, tenant, "allocations", alloc("2500.00"))
    assert doc(session, tenant) == (0, 0, 250000)  # the reported balance is kept
    assert figures(session, tenant) == (eur("0.00"), eur("2500.00"))
    # the billing system then syncs: the invoice paid, the customer owing nothing
    load(session, tenant, "invoices", {**INVOICE, "balance": "0.00"})
    load(session, tenant, "customers", {**CUSTOMER, "reported_balance": "0.00"})
    assert doc(session, tenant) == (0, 0, 0)
    assert figures(session, tenant) == (eur("0.00"), eur("0.00"))


def test_a_billing_sync_never_overwrites_the_ledger(session, tenant):
    """After an allocation, a billing file that still reports the invoice open changes its
    reported balance only."""
    load(session, tenant, "payments", PAYMENT)
    load(session, tenant, "allocations", alloc("2500.00"))
    load(session, tenant, "invoices", {**INVOICE, "balance": "2000.00"})
    assert doc(session, tenant) == (0, 0, 200000)


def test_the_billing_sync_first_then_the_allocation(session, tenant):
    """The billing system reports the invoice paid before the payment history arrives: the
    reported 0.00 opens the ledger's balance; the allocation then agrees with it (no
    negative balance, no double count)."""
    load(session, tenant, "invoices", {**INVOICE, "balance": "0.00"})
    assert doc(session, tenant) == (0, 0, 0)
    load(session, tenant, "payments", PAYMENT)
    load(session, tenant, "allocations", alloc("2500.00"))
    assert doc(session, tenant) == (0, 0, 0)
    load(session, tenant, "customers", {**CUSTOMER, "reported_balance": "0.00"})
    assert figures(session, tenant) == (eur("0.00"), eur("0.00"))


def test_a_partial_payment_and_a_changed_allocation(session, tenant):
    """1000.00 applied leaves 1500.00 (1650.00 USD at 1.10); the allocation lowered to
    400.00 leaves 2100.00; a second payment's allocation adds up with the first."""
    load(session, tenant, "payments", {**PAYMENT, "amount": "1000.00"})
    load(session, tenant, "allocations", alloc("1000.00"))
    assert doc(session, tenant) == (150000, 165000, 250000)
    assert figures(session, tenant) == (eur("1500.00"), eur("1000.00"))
    load(session, tenant, "allocations", alloc("400.00"))
    assert doc(session, tenant) == (210000, 231000, 250000)
    load(session, tenant, "payments", {**PAYMENT, "external_id": "P-2", "amount": "99.99"})
    load(session, tenant, "allocations", alloc("99.99", "P-2"))
    assert doc(session, tenant) == (200001, 220001, 250000)


def test_a_document_import_keeps_the_ledger_balance_of_an_allocated_document(session, tenant):
    """Re-importing an allocated invoice (a new due date, a larger amount) recomputes its
    balance from the allocations, not from the file's balance."""
    load(session, tenant, "payments", {**PAYMENT, "amount": "1000.00"})
    load(session, tenant, "allocations", alloc("1000.00"))
    load(session, tenant, "invoices", {**INVOICE, "amount": "3000.00", "balance": "3000.00"})
    assert doc(session, tenant) == (200000, 220000, 300000)


def test_credit_applied_counts_and_over_application_is_refused(session, tenant):
    """What is credited to a document (credited_minor) is subtracted too; allocations
    beyond what is left are refused with a message naming the document."""
    d = session.scalars(select(Document).where(Document.tenant_id == tenant.id)).one()
    d.credited_minor = 50000
    session.flush()
    load(session, tenant, "payments", PAYMENT)
    load(session, tenant, "allocations", alloc("1000.00"))
    assert doc(session, tenant)[:2] == (100000, 110000)
    load(session, tenant, "invoices", {**INVOICE, "due_date": "2026-10-15"})  # kept credit
    assert doc(session, tenant)[:2] == (100000, 110000)
    with pytest.raises(ValidationError) as err:
        import_rows(session, tenant, "allocations", [alloc("2000.01")])
    assert err.value.message == (
        "invoice INV-1 of 2500.00 EUR would have 2000.01 EUR applied from payments "
        "and 500.00 EUR credited"
    )


def test_refresh_is_harmless_to_repeat(session, tenant):
    load(session, tenant, "payments", PAYMENT)
    load(session, tenant, "allocations", alloc("700.00"))
    before = doc(session, tenant)
    d = session.scalars(select(Document.id).where(Document.tenant_id == tenant.id)).one()
    refresh_balances(session, tenant, [d, d])
    assert doc(session, tenant) == before == (180000, 198000, 250000)
