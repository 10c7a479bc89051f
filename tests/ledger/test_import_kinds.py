"""Imports that succeed: the examples, upserts, partial mode, conversions, references."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from arpolicy.ledger.importing import import_file, import_rows
from arpolicy.models import Allocation, Customer, Document, Payment, User
from tests.fixtures.factories import create_rate, create_tenant
from tests.ledger.test_import_support import (
    EXAMPLE_ORDER,
    EXAMPLES,
    INVOICE_HEADER,
    kind_of,
    ledger,
    load,
    snapshot,
)

H = INVOICE_HEADER


def import_examples(session, tenant):
    reports = {}
    for name in EXAMPLE_ORDER:
        reports[name] = import_file(session, tenant, kind_of(name), EXAMPLES / name)
    return reports


def test_examples_import_cleanly_in_order(session):
    tenant = create_tenant(session, base_currency="USD")
    reports = import_examples(session, tenant)
    for name, report in reports.items():
        assert report.ok and report.applied and report.inserted == report.rows, (
            name,
            report.errors,
        )
    # and a second time they are all updates (the import is idempotent)
    for name, report in import_examples(session, tenant).items():
        assert report.ok and report.inserted == 0 and report.updated == report.rows, name


def test_examples_store_what_they_say(session):
    tenant = create_tenant(session)
    import_examples(session, tenant)
    eur = session.scalars(
        select(Document).where(Document.tenant_id == tenant.id, Document.number == "INV-2025-0003")
    ).one()
    assert (eur.amount_minor, eur.base_amount_minor, eur.fx_rate, eur.fx_rate_on) == (
        250000,
        271250,
        Decimal("1.0850"),
        date(2025, 12, 1),
    )
    jpy = session.scalars(
        select(Document).where(Document.tenant_id == tenant.id, Document.number == "INV-2026-0002")
    ).one()
    assert jpy.amount_minor == 1200000 and jpy.base_amount_minor == 801068  # 1,200,000 JPY / 149.80
    child = session.scalars(
        select(Customer).where(Customer.tenant_id == tenant.id, Customer.external_id == "C-1002")
    ).one()
    parent = session.scalars(
        select(Customer).where(Customer.tenant_id == tenant.id, Customer.external_id == "C-1001")
    ).one()
    assert child.parent_id == parent.id
    assert child.custom_fields == {
        "industry": "saas",
        "credit_rating": "A",
        "contract_value": {"amount": "80000.00", "currency": "EUR"},
        "onboarded_on": "2025-01-15",
    }
    assert child.billing_address == {
        "line1": "Friedrichstraße 10",
        "city": "Berlin",
        "postal_code": "10117",
        "country": "DE",
    }
    pay = session.scalars(
        select(Payment).where(Payment.tenant_id == tenant.id, Payment.external_id == "PAY-2")
    ).one()
    assert (pay.amount_minor, pay.unallocated_minor) == (100000, 0)
    ana = session.scalars(
        select(User).where(User.tenant_id == tenant.id, User.email == "ana.garcia@example.com")
    ).one()
    maria = session.scalars(
        select(User).where(User.tenant_id == tenant.id, User.email == "maria.rossi@example.com")
    ).one()
    assert ana.manager_id == maria.id


def test_upsert_updates_what_the_file_gives_and_keeps_the_rest(session, tmp_path):
    tenant, _, _ = ledger(session)
    first = load(
        session,
        tenant,
        tmp_path,
        "invoices",
        f"{H},location\nINV-1,C1,USD,10.00,,2026-01-01,2026-01-31,Paris\n",
    )
    assert (first.inserted, first.updated) == (1, 0)
    second = load(
        session,
        tenant,
        tmp_path,
        "invoices",
        f"{H}\nINV-1,C1,USD,12.50,2.50,2026-01-01,2026-01-31\nINV-2,C1,USD,1.00,,2026-01-01,2026-01-31\n",
    )
    assert (second.inserted, second.updated, second.rows) == (1, 1, 2)
    doc = session.scalars(
        select(Document).where(Document.tenant_id == tenant.id, Document.number == "INV-1")
    ).one()
    session.refresh(doc)
    assert (doc.amount_minor, doc.balance_minor, doc.location) == (1250, 250, "Paris")


def test_custom_fields_are_merged_key_by_key(session, tmp_path):
    from arpolicy.models import CustomFieldDefinition

    tenant, _, _ = ledger(session)
    for key, kind in (("po", "string"), ("approved", "boolean"), ("due", "date")):
        session.add(
            CustomFieldDefinition(
                tenant_id=tenant.id, entity="document", key=key, label=key, type=kind
            )
        )
    session.flush()
    load(
        session,
        tenant,
        tmp_path,
        "invoices",
        f"{H},cf.po,cf.approved,cf.due\nINV-1,C1,USD,1.00,,2026-01-01,2026-01-31,PO-1,yes,2026-02-01\n",
    )
    load(
        session,
        tenant,
        tmp_path,
        "invoices",
        f"{H},cf.approved,cf.due\nINV-1,C1,USD,1.00,,2026-01-01,2026-01-31,no,\n",
    )
    doc = session.scalars(
        select(Document).where(Document.tenant_id == tenant.id, Document.number == "INV-1")
    ).one()
    session.refresh(doc)
    assert doc.custom_fields == {"po": "PO-1", "approved": False}


def test_partial_imports_good_rows_and_writes_rejects(session, tmp_path):
    tenant, _, _ = ledger(session)
    text = f"{H},location\nINV-1,C1,USD,1.00,,2026-01-01,2026-01-31,=cmd|' /C calc'!A0\nINV-2,C1,USD,1.001,,2026-01-01,2026-01-31,x\nINV-3,C9,USD,1.00,,2026-01-01,2026-01-31,y\n"
    report = load(session, tenant, tmp_path, "invoices", text, partial=True)
    assert report.applied and (report.inserted, report.rejected) == (1, 2)
    assert report.rejects_path == str(tmp_path / "invoices.csv.rejects.csv")
    with open(report.rejects_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["number"] for r in rows] == ["INV-2", "INV-3"]
    assert [r["error_line"] for r in rows] == ["3", "4"]
    assert [r["error_column"] for r in rows] == ["amount", "customer"]
    assert "import customers first" in rows[1]["error_fix"]
    numbers = [
        d[1]
        for d in session.execute(
            select(Document.doc_type, Document.number).where(Document.tenant_id == tenant.id)
        )
    ]
    assert sorted(numbers) == ["INV-0", "INV-1"]


def test_rejects_path_can_be_chosen_and_is_spreadsheet_safe(session, tmp_path):
    tenant, _, _ = ledger(session)
    target = tmp_path / "bad.csv"
    text = f'{H},location\nINV-1,C1,USD,x,,2026-01-01,2026-01-31,=HYPERLINK("http://x")\n'
    report = load(session, tenant, tmp_path, "invoices", text, rejects_path=target)
    assert not report.applied and report.rejects_path == str(target)
    line = target.read_text(encoding="utf-8").splitlines()[1]
    assert "'=HYPERLINK" in line


def test_documents_in_foreign_currency_use_the_rate_of_their_date(session, tmp_path):
    tenant, _, _ = ledger(session)
    create_rate(session, tenant, "EUR", "USD", date(2026, 1, 1), "1.10")
    create_rate(session, tenant, "EUR", "USD", date(2026, 2, 1), "1.20")
    load(
        session,
        tenant,
        tmp_path,
        "invoices",
        f"{H}\nE1,C1,EUR,100.00,33.33,2026-01-31,2026-02-28\nE2,C1,EUR,100.00,,2026-02-01,2026-02-28\n",
    )
    rows = session.execute(
        select(
            Document.number,
            Document.base_amount_minor,
            Document.base_balance_minor,
            Document.fx_rate_on,
        )
        .where(Document.tenant_id == tenant.id, Document.currency == "EUR")
        .order_by(Document.number)
    ).all()
    assert [tuple(r) for r in rows] == [
        ("E1", 11000, 3666, date(2026, 1, 1)),
        ("E2", 12000, 12000, date(2026, 2, 1)),
    ]


def test_credit_notes_are_positive_and_type_is_implied(session, tmp_path):
    tenant, _, _ = ledger(session)
    report = load(
        session,
        tenant,
        tmp_path,
        "credit-notes",
        f"{H}\nCN-1,C1,USD,40.00,25.00,2026-01-01,2026-01-01\n",
    )
    assert report.ok
    doc = session.scalars(
        select(Document).where(Document.tenant_id == tenant.id, Document.number == "CN-1")
    ).one()
    assert (str(doc.doc_type), doc.amount_minor, doc.balance_minor) == ("credit_note", 4000, 2500)


def test_customers_can_name_a_parent_later_in_the_file(session, tmp_path):
    tenant, _, _ = ledger(session)
    report = load(
        session,
        tenant,
        tmp_path,
        "customers",
        "external_id,name,parent\nK3,Grandchild,K2\nK2,Child,K1\nK1,Root,\n",
    )
    assert report.ok and report.inserted == 3
    ids = dict(
        session.execute(
            select(Customer.external_id, Customer.id).where(Customer.tenant_id == tenant.id)
        ).all()
    )
    parents = dict(
        session.execute(
            select(Customer.external_id, Customer.parent_id).where(Customer.tenant_id == tenant.id)
        ).all()
    )
    assert parents["K3"] == ids["K2"] and parents["K2"] == ids["K1"] and parents["K1"] is None


def test_allocations_keep_payments_unallocated_in_step(session, tmp_path):
    tenant, _, _ = ledger(session)
    load(session, tenant, tmp_path, "invoices", f"{H}\nINV-1,C1,USD,70.00,,2026-01-01,2026-01-31\n")
    load(
        session,
        tenant,
        tmp_path,
        "payments",
        "external_id,customer,currency,amount,received_on\nP1,C1,USD,100.00,2026-01-05\n",
    )
    report = load(
        session,
        tenant,
        tmp_path,
        "allocations",
        "payment,document_number,currency,amount\nP1,INV-0,USD,30.00\nP1,INV-1,USD,70.00\n",
    )
    assert report.ok and report.inserted == 2
    payment = session.scalars(select(Payment).where(Payment.tenant_id == tenant.id)).one()
    session.refresh(payment)
    assert (payment.unallocated_minor, payment.base_unallocated_minor) == (0, 0)
    # re-importing the payment keeps its allocations counted; a smaller amount is refused
    again = load(
        session,
        tenant,
        tmp_path,
        "payments",
        "external_id,customer,currency,amount,received_on\nP1,C1,USD,100.00,2026-01-05\n",
    )
    assert again.updated == 1
    session.refresh(payment)
    assert payment.unallocated_minor == 0
    smaller = load(
        session,
        tenant,
        tmp_path,
        "payments",
        "external_id,customer,currency,amount,received_on\nP1,C1,USD,90.00,2026-01-05\n",
    )
    assert (
        smaller.errors[0].column == "amount"
        and "payment P1 has 100.00 USD allocated to documents" in smaller.errors[0].reason
    )
    # an allocation in another currency than the payment's is refused
    wrong = load(
        session,
        tenant,
        tmp_path,
        "allocations",
        "payment,document_number,currency,amount\nP1,INV-0,EUR,1.00\n",
    )
    assert (
        wrong.errors[0].column == "currency" and "the payment is in USD" in wrong.errors[0].reason
    )
    assert len(snapshot(session, Allocation, tenant)) == 2


def test_import_rows_takes_mappings(session):
    tenant, _, _ = ledger(session)
    rows = [
        {
            "number": "A1",
            "customer": "C1",
            "currency": "USD",
            "amount": Decimal("5.10"),
            "document_date": "2026-01-01",
            "due_date": "2026-01-01",
            "voided": True,
        }
    ]
    report = import_rows(session, tenant, "invoices", rows)
    assert report.ok and report.inserted == 1
    doc = session.scalars(
        select(Document).where(Document.tenant_id == tenant.id, Document.number == "A1")
    ).one()
    assert (doc.amount_minor, doc.voided) == (510, True)


def test_imports_are_scoped_to_their_tenant(session, tmp_path):
    tenant, _, _ = ledger(session)
    other = create_tenant(session)
    report = load(
        session, other, tmp_path, "invoices", f"{H}\nINV-0,C1,USD,1.00,,2026-01-01,2026-01-31\n"
    )
    assert report.errors[0].column == "customer"  # C1 belongs to the first tenant only
    assert len(snapshot(session, Document, tenant)) == 1
