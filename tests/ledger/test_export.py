"""Export writes what import reads, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io

import pytest

from arpolicy.ledger.exporter import export_csv
from arpolicy.ledger.importing import KINDS, import_file
from arpolicy.models import Allocation, Customer, Document, Payment, PaymentAttempt, User
from tests.fixtures.factories import create_tenant
from tests.ledger.test_import_kinds import import_examples
from tests.ledger.test_import_support import ledger, load, snapshot

H = "number,customer,currency,amount,balance,document_date,due_date,location"


def export_text(session, tenant, kind):
    out = io.StringIO()
    export_csv(session, tenant, kind, out)
    return out.getvalue()


def test_text_cells_that_could_run_are_escaped_numbers_are_not(session, tmp_path):
    tenant, _, _ = ledger(session)
    evil = ['=HYPERLINK("http://x","y")', "+1 555", "-minus", "@SUM(A1)", "-2+3+cmd|' /C calc'!A0"]
    rows = "\n".join(
        f'INV-{i},C1,USD,1.00,,2026-01-01,2026-01-31,"{e.replace(chr(34), chr(34) * 2)}"'
        for i, e in enumerate(evil)
    )
    assert load(session, tenant, tmp_path, "invoices", f"{H}\n{rows}\n").ok
    text = export_text(session, tenant, "invoices")
    records = {r["number"]: r for r in csv.DictReader(io.StringIO(text))}
    assert [records[f"INV-{i}"]["location"] for i in range(len(evil))] == ["'" + e for e in evil]
    for record in records.values():
        assert record["amount"] == "1.00" or record["number"] == "INV-0"


def test_negative_amounts_stay_numbers(session, tmp_path):
    tenant, _, _ = ledger(session)
    load(
        session,
        tenant,
        tmp_path,
        "payments",
        "external_id,customer,currency,amount,received_on\n-R1,C1,USD,-25.50,2026-01-01\n",
    )
    record = next(csv.DictReader(io.StringIO(export_text(session, tenant, "payments"))))
    assert (record["external_id"], record["amount"]) == ("'-R1", "-25.50")


def test_export_then_import_changes_nothing(session, tmp_path):
    tenant, _, _ = ledger(session)
    rows = 'INV-1,C1,USD,1.00,,2026-01-01,2026-01-31,"=1+2"\nINV-2,C1,USD,2.50,0.50,2026-01-01,2026-01-31,"\'-x"\n'
    load(session, tenant, tmp_path, "invoices", f"{H}\n{rows}")
    before = snapshot(session, Document, tenant)
    path = tmp_path / "out.csv"
    path.write_text(export_text(session, tenant, "invoices"), encoding="utf-8")
    report = import_file(session, tenant, "invoices", path)
    assert report.ok and report.updated == 3 and report.inserted == 0
    assert snapshot(session, Document, tenant) == before


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "documents"])
def test_every_kind_round_trips_from_the_examples(session, tmp_path, kind):
    tenant = create_tenant(session)
    import_examples(session, tenant)
    models = (Document, Customer, Payment, Allocation, PaymentAttempt, User)
    before = [snapshot(session, m, tenant) for m in models]
    text = export_text(session, tenant, kind)
    assert text.splitlines()[0].split(",")[0]
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    report = import_file(session, tenant, kind, path)
    assert report.ok, report.errors
    assert report.inserted == 0 and report.updated == report.rows > 0
    assert [snapshot(session, m, tenant) for m in models] == before


def test_documents_export_holds_every_type(session):
    tenant = create_tenant(session)
    import_examples(session, tenant)
    types = {
        r["type"] for r in csv.DictReader(io.StringIO(export_text(session, tenant, "documents")))
    }
    assert types == {"invoice", "debit_note", "credit_note"}
    notes = list(csv.DictReader(io.StringIO(export_text(session, tenant, "credit-notes"))))
    assert {r["type"] for r in notes} == {"credit_note"}
