"""Helpers shared by the import and export tests (this module holds no tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.ledger.importing import ImportReport, import_file
from arpolicy.models import Customer, Document, Tenant
from tests.fixtures.factories import create_customer, create_document, create_tenant

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_ORDER = [
    "users.csv",
    "custom-fields.csv",
    "fx-rates.csv",
    "customers.csv",
    "customers.jsonl",
    "contacts.csv",
    "payment-sources.csv",
    "subscriptions.csv",
    "invoices.csv",
    "invoices.jsonl",
    "debit-notes.csv",
    "credit-notes.csv",
    "documents.csv",
    "orders.csv",
    "payments.csv",
    "allocations.csv",
    "payment-attempts.csv",
    "promises.csv",
    "disputes.csv",
]
INVOICE_HEADER = "number,customer,currency,amount,balance,document_date,due_date"


def kind_of(example: str) -> str:
    return example.rsplit(".", 1)[0]


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def load(
    session: Session,
    tenant: Tenant,
    tmp_path: Path,
    kind: str,
    text: str | bytes,
    name: str | None = None,
    **kw: Any,
) -> ImportReport:
    path = write(tmp_path, name or f"{kind}.csv", text)
    return import_file(session, tenant, kind, path, **kw)


def ledger(session: Session) -> tuple[Tenant, Customer, Document]:
    """A USD tenant with one customer C1 and one stored invoice INV-0 of 100.00."""
    tenant = create_tenant(session)
    customer = create_customer(session, tenant, external_id="C1")
    doc = create_document(session, tenant, customer, "100.00", number="INV-0")
    return tenant, customer, doc


def snapshot(session: Session, model: Any, tenant: Tenant) -> list[tuple[Any, ...]]:
    """Every row of ``model`` in ``tenant``, all columns but the row's own timestamps (an
    update moves ``updated_at``), to prove what changed and what did not."""
    session.expire_all()
    table = model.__table__
    columns = [c for c in table.c if c.name not in ("created_at", "updated_at")]
    rows = session.execute(
        select(*columns).where(table.c.tenant_id == tenant.id).order_by(table.c.id)
    )
    return [tuple(r) for r in rows]


def only_error(report: ImportReport) -> Any:
    assert not report.ok and not report.applied, report
    assert len(report.errors) == 1, report.errors
    return report.errors[0]
