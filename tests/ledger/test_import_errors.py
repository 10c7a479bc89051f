"""Every kind of bad input is refused with where (line, column), what and how to fix it, and
nothing already stored changes."""

from __future__ import annotations

import pytest

from arpolicy.ledger.importing import import_rows
from arpolicy.models import Customer, CustomFieldDefinition, Document
from tests.ledger.test_import_support import INVOICE_HEADER, ledger, load, only_error, snapshot

H = INVOICE_HEADER
GOOD = "INV-1,C1,USD,10.00,,2026-01-01,2026-01-31"

# (kind, file text, line, column, text expected in the reason or the fix)
ROW_CASES = {
    "bad number": (
        "invoices",
        f'{H}\n{GOOD}\nINV-2,C1,USD,"1,234.50",,2026-01-01,2026-01-31\n',
        3,
        "amount",
        "thousands separators",
    ),
    "too many decimals": (
        "invoices",
        f"{H}\nINV-2,C1,USD,12.345,,2026-01-01,2026-01-31\n",
        2,
        "amount",
        "more decimals than USD allows (2)",
    ),
    "unknown currency": (
        "invoices",
        f"{H}\nINV-2,C1,XYZ,12.00,,2026-01-01,2026-01-31\n",
        2,
        "currency",
        "ISO 4217",
    ),
    "lower-case currency": (
        "invoices",
        f"{H}\nINV-2,C1,usd,12.00,,2026-01-01,2026-01-31\n",
        2,
        "currency",
        "write USD",
    ),
    "bad date": (
        "invoices",
        f"{H}\nINV-2,C1,USD,12.00,,2026-02-30,2026-03-31\n",
        2,
        "document_date",
        "calendar date",
    ),
    "date in another format": (
        "invoices",
        f"{H}\nINV-2,C1,USD,12.00,,01/02/2026,2026-03-31\n",
        2,
        "document_date",
        "YYYY-MM-DD",
    ),
    "due before issue": (
        "invoices",
        f"{H}\nINV-2,C1,USD,12.00,,2026-02-01,2026-01-01\n",
        2,
        "due_date",
        "before the document date",
    ),
    "balance above amount": (
        "invoices",
        f"{H}\nINV-2,C1,USD,12.00,13.00,2026-01-01,2026-01-31\n",
        2,
        "balance",
        "between 0 and the amount",
    ),
    "negative amount": (
        "invoices",
        f"{H}\nINV-2,C1,USD,-12.00,,2026-01-01,2026-01-31\n",
        2,
        "amount",
        "credit_note",
    ),
    "unknown reference": (
        "invoices",
        f"{H}\nINV-2,NOPE,USD,12.00,,2026-01-01,2026-01-31\n",
        2,
        "customer",
        "import customers first",
    ),
    "missing fx rate": (
        "invoices",
        f"{H}\nINV-2,C1,EUR,12.00,,2026-01-01,2026-01-31\n",
        2,
        "currency",
        "no EUR/USD exchange rate on or before 2026-01-01",
    ),
    "empty required cell": (
        "invoices",
        f"{H}\nINV-2,,USD,12.00,,2026-01-01,2026-01-31\n",
        2,
        "customer",
        "fill in customer",
    ),
    "unknown enum value": (
        "documents",
        "type,number,customer,currency,amount,document_date,due_date\nbill,D-1,C1,USD,1.00,2026-01-01,2026-01-01\n",
        2,
        "type",
        "invoice, debit_note, credit_note",
    ),
    "alias type disagrees": (
        "invoices",
        f"type,{H}\ncredit_note,{GOOD}\n",
        2,
        "type",
        "import the file as `documents`",
    ),
    "bad boolean": (
        "invoices",
        f"{H},disputed\n{GOOD},maybe\n",
        2,
        "disputed",
        "true/false, yes/no or 1/0",
    ),
    "duplicate key": (
        "invoices",
        f"{H}\n{GOOD}\n{GOOD}\n",
        3,
        "number",
        "repeats the key of line 2",
    ),
    "wrong number of cells": (
        "invoices",
        f"{H}\nINV-2,C1,USD,12.00\n",
        2,
        None,
        "has 4 cells but the header has 7",
    ),
    "naive instant": (
        "payment-attempts",
        "external_id,customer,attempted_at,status,currency,amount\nA1,C1,2026-01-31T09:00:00,failure,USD,5.00\n",
        2,
        "attempted_at",
        "add Z (UTC) or an offset",
    ),
    "bad country": (
        "customers",
        "external_id,name,country\nC9,Nine,de\n",
        2,
        "country",
        "write DE",
    ),
    "bad time zone": (
        "customers",
        "external_id,name,timezone\nC9,Nine,Europe/Atlantis\n",
        2,
        "timezone",
        "IANA",
    ),
    "unknown user": (
        "customers",
        "external_id,name,finance_owner\nC9,Nine,who@example.com\n",
        2,
        "finance_owner",
        "import users first",
    ),
    "parent never defined": (
        "customers",
        "external_id,name,parent\nC9,Nine,C404\n",
        2,
        "parent",
        "no customer C404",
    ),
    "parent cycle": (
        "customers",
        "external_id,name,parent\nC8,Eight,C9\nC9,Nine,C8\n",
        2,
        "parent",
        "cycle",
    ),
    "over-allocation": (
        "allocations",
        "payment,document_number,currency,amount\nP1,INV-0,USD,60.00\n",
        2,
        "amount",
        "more than its amount 50.00",
    ),
}


@pytest.mark.parametrize("case", list(ROW_CASES), ids=list(ROW_CASES))
def test_bad_row_rejects_the_file_and_changes_nothing(session, tmp_path, case):
    kind, text, line, column, hint = ROW_CASES[case]
    tenant, customer, _ = ledger(session)
    if kind == "allocations":
        from tests.fixtures.factories import create_payment

        payment = create_payment(session, tenant, customer, "50.00")
        payment.external_id = "P1"
        session.flush()
    before = snapshot(session, Document, tenant), snapshot(session, Customer, tenant)
    report = load(session, tenant, tmp_path, kind, text)
    error = [e for e in report.errors if e.line == line]
    assert not report.applied and report.inserted == report.updated == 0
    assert error, report.errors
    assert error[0].column == column
    assert hint in error[0].reason + " " + error[0].fix, error[0]
    assert (snapshot(session, Document, tenant), snapshot(session, Customer, tenant)) == before


FILE_CASES = {
    "unknown column": (
        f"number,customer,currency,amout,document_date,due_date\n{GOOD}\n",
        "amout",
        "did you mean amount?",
    ),
    "missing required column": (
        f"number,customer,currency,amount,document_date\n{GOOD}\n",
        "due_date",
        "add a due_date column",
    ),
    "header named twice": (f"{H},number\n{GOOD},X\n", "number", "keep one of them"),
    "empty file": ("", None, "the file is empty"),
    "header only": (f"{H}\n", None, "no data rows"),
    "semicolons": ("number;customer;currency\nA;B;C\n", None, "semicolons"),
}


@pytest.mark.parametrize("case", list(FILE_CASES), ids=list(FILE_CASES))
def test_bad_file_is_rejected_whole(session, tmp_path, case):
    text, column, hint = FILE_CASES[case]
    tenant, _, _ = ledger(session)
    before = snapshot(session, Document, tenant)
    report = load(session, tenant, tmp_path, "invoices", text, partial=True)
    assert report.file_error is not None and not report.applied
    problem = next(e for e in report.errors if e.column == column)
    assert hint in problem.reason + " " + problem.fix
    assert snapshot(session, Document, tenant) == before


def test_non_utf8_file_names_the_line(session, tmp_path):
    tenant, _, _ = ledger(session)
    text = f"{H}\n{GOOD}\nINV-2,Caf\xe9,USD,1.00,,2026-01-01,2026-01-31\n".encode("latin-1")
    report = load(session, tenant, tmp_path, "invoices", text)
    assert report.file_error is not None
    assert report.file_error.line == 3
    assert "not UTF-8" in report.file_error.reason and "UTF-8" in report.file_error.fix
    assert len(snapshot(session, Document, tenant)) == 1


def test_utf8_bom_is_accepted(session, tmp_path):
    tenant, _, _ = ledger(session)
    report = load(session, tenant, tmp_path, "invoices", f"\ufeff{H}\n{GOOD}\n".encode())
    assert report.ok and report.inserted == 1


def test_custom_field_value_and_key_are_checked(session, tmp_path):
    tenant, _, _ = ledger(session)
    session.add(
        CustomFieldDefinition(
            tenant_id=tenant.id, entity="document", key="score", label="Score", type="number"
        )
    )
    session.flush()
    report = load(session, tenant, tmp_path, "invoices", f"{H},cf.score\n{GOOD},abc\n")
    error = only_error(report)
    assert (error.line, error.column, error.value) == (2, "cf.score", "abc")
    report = load(session, tenant, tmp_path, "invoices", f"{H},cf.nope\n{GOOD},1\n")
    assert report.file_error is not None and report.file_error.column == "cf.nope"
    assert "defined keys: score" in report.file_error.fix


def test_required_custom_field_column_must_be_present(session, tmp_path):
    tenant, _, _ = ledger(session)
    session.add(
        CustomFieldDefinition(
            tenant_id=tenant.id,
            entity="customer",
            key="industry",
            label="Industry",
            type="enum",
            options=["saas", "retail"],
            required=True,
        )
    )
    session.flush()
    report = load(session, tenant, tmp_path, "customers", "external_id,name\nC9,Nine\n")
    assert report.file_error is not None and report.file_error.column == "cf.industry"
    report = load(
        session, tenant, tmp_path, "customers", "external_id,name,cf.industry\nC9,Nine,bank\n"
    )
    assert only_error(report).fix == "use one of: saas, retail"


def test_jsonl_lines_that_are_not_objects(session, tmp_path):
    tenant, _, _ = ledger(session)
    good = '{"number": "J1", "customer": "C1", "currency": "USD", "amount": "1.00", "document_date": "2026-01-01", "due_date": "2026-01-02"}'
    text = f"{good}\n[1, 2]\n{{broken\n" + good.replace("J1", "J2").replace('"1.00"', "1.5") + "\n"
    report = load(session, tenant, tmp_path, "invoices", text, name="invoices.jsonl")
    assert [(e.line, e.column) for e in report.errors] == [(2, None), (3, None)]
    assert "not an object" in report.errors[0].reason
    assert "not valid JSON" in report.errors[1].reason
    assert not report.applied and len(snapshot(session, Document, tenant)) == 1


def test_float_through_the_api_is_refused(session):
    tenant, _, _ = ledger(session)
    row = {
        "number": "F1",
        "customer": "C1",
        "currency": "USD",
        "amount": 1.1,
        "document_date": "2026-01-01",
        "due_date": "2026-01-01",
    }
    report = import_rows(session, tenant, "invoices", [row])
    assert "floating-point" in only_error(report).reason


def test_every_bad_row_is_listed(session, tmp_path):
    tenant, _, _ = ledger(session)
    rows = "\n".join(
        f"INV-{i},C1,USD,{'x' if i % 2 else '1.00'},,2026-01-01,2026-01-31" for i in range(1, 8)
    )
    report = load(session, tenant, tmp_path, "invoices", f"{H}\n{rows}\n")
    assert [e.line for e in report.errors] == [2, 4, 6, 8]
    assert report.rejected == 4 and report.rows == 7 and not report.applied
