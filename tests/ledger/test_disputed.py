"""An open dispute makes its document disputed (issue 11, item 5), on both databases: the
rule field ``disputed`` in SQL and in Python, the per-document figures, the statement of
account, the engagement facts and its stop condition; resolving the dispute (an import with
status resolved) lifts it, and the billing system's own flag stays as reported.

The ledger: tenant in EUR (Berlin), customer A with a billing contact, invoice INV-1 of
500.00 EUR due 2026-03-10 and INV-2 of 200.00 EUR due the same day; a cycle reminding every
invoice with a balance three days after its due date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from arpolicy.audit import Actor
from arpolicy.engagement import admin, repository, service
from arpolicy.ledger.documents import disputed_ids, open_documents
from arpolicy.ledger.fields import catalogue_for
from arpolicy.ledger.importing import import_rows
from arpolicy.ledger.selection import invoice_records, select_invoices
from arpolicy.ledger.statement import statements
from arpolicy.models import Contact, Document
from arpolicy.rules import bind, check, parse, to_python
from tests.fixtures.factories import create_tenant

DUE = date(2026, 3, 10)
AS_OF = DUE + timedelta(days=3)
NOW = datetime(2026, 3, 13, 7, tzinfo=UTC)
CYCLE = {
    "name": "Overdue",
    "status": "live",
    "priority": 1,
    "invoice": "balance > 0 EUR",
    "reminders": [
        {
            "name": "overdue",
            "anchor": "due_date",
            "offset_days": 3,
            "template": {"en": {"subject": "Reminder", "text": "{{ customer_name }}"}},
        }
    ],
}
SETTINGS = {"from_address": "ar@shop.example", "test_address": "qa@shop.example"}
DISPUTE = {
    "external_id": "D-1",
    "customer": "A",
    "document_number": "INV-1",
    "currency": "EUR",
    "amount": "500.00",
    "opened_on": "2026-03-01",
}


@pytest.fixture
def shop(session):
    t = create_tenant(session, timezone="Europe/Berlin", base_currency="EUR")
    customer = {"external_id": "A", "name": "Acme", "currency": "EUR", "language": "en"}
    assert import_rows(session, t, "customers", [customer]).applied
    invoices = [
        {
            "number": n,
            "customer": "A",
            "currency": "EUR",
            "amount": amount,
            "document_date": "2026-02-08",
            "due_date": DUE.isoformat(),
        }
        for n, amount in (("INV-1", "500.00"), ("INV-2", "200.00"))
    ]
    assert import_rows(session, t, "invoices", invoices).applied
    docs = {
        d.number: d for d in session.scalars(select(Document).where(Document.tenant_id == t.id))
    }
    session.add(
        Contact(
            tenant_id=t.id,
            external_id="K-A",
            customer_id=docs["INV-1"].customer_id,
            name="Bea",
            email="billing@acme.example",
            is_billing=True,
        )
    )
    actor = Actor(t.id, "test")
    admin.save_settings(session, t, actor, SETTINGS, at=NOW - timedelta(days=60))
    admin.save_cycle(session, t, actor, CYCLE, at=NOW - timedelta(days=60))
    session.flush()
    return t, actor, docs


def seen_as_disputed(session, t, actor, docs) -> dict[str, set[str]]:
    """Where each reader sees which documents disputed (or reminded)."""
    session.expire_all()  # the imports wrote through Core: read the documents afresh
    fields = catalogue_for("EUR", t.ageing_bounds, []).level("invoice")
    number = {d.id: n for n, d in docs.items()}
    bound = bind(check(parse("disputed"), fields), AS_OF, tz=t.timezone)
    matches = to_python(bound, fields)
    customer_id = docs["INV-1"].customer_id
    reminded = service.run(session, t, actor, as_of=AS_OF, now=NOW, dry_run=True)
    statement = statements(session, t, [customer_id], AS_OF)[customer_id]
    return {
        "sql": {number[i] for i in select_invoices(session, t, bound, fields)},
        "python": {number[i] for i, r in invoice_records(session, t, fields, AS_OF) if matches(r)},
        "figures": {d.number for d in open_documents(session, t, customer_id, AS_OF) if d.disputed},
        "ids": {number[i] for i in disputed_ids(session, t.id, number)},
        "statement": {i.number for i in statement.items if i.disputed},
        "engagement": {
            i.number for i in repository.open_invoices(session, t, AS_OF)[customer_id] if i.disputed
        },
        "reminded": {n for e in reminded.emails for n in e["invoices"]},
    }


def everywhere(disputed: set[str]) -> dict[str, set[str]]:
    readers = ("sql", "python", "figures", "ids", "statement", "engagement")
    return {**dict.fromkeys(readers, disputed), "reminded": {"INV-1", "INV-2"} - disputed}


def test_an_open_dispute_disputes_its_invoice_until_resolved(session, shop):
    t, actor, docs = shop
    assert seen_as_disputed(session, t, actor, docs) == everywhere(set())
    assert import_rows(session, t, "disputes", [DISPUTE]).applied
    assert seen_as_disputed(session, t, actor, docs) == everywhere({"INV-1"})
    session.refresh(docs["INV-1"])
    assert docs["INV-1"].disputed is False  # the billing system's flag, as reported
    resolved = {**DISPUTE, "status": "resolved", "resolved_on": "2026-03-12"}
    assert import_rows(session, t, "disputes", [resolved]).applied
    assert seen_as_disputed(session, t, actor, docs) == everywhere(set())


def test_the_flag_or_any_open_dispute(session, shop):
    """A partial dispute disputes the invoice too; a rejected one does not, nor one of the
    whole account; the billing system's flag disputes it whatever its disputes."""
    t, actor, docs = shop
    rows = [
        {**DISPUTE, "amount": "50.00"},
        {**DISPUTE, "external_id": "D-2", "document_number": "INV-2", "status": "rejected"},
        {**DISPUTE, "external_id": "D-3", "document_number": None},
    ]
    assert import_rows(session, t, "disputes", rows).applied
    assert seen_as_disputed(session, t, actor, docs) == everywhere({"INV-1"})
    flagged = {
        "number": "INV-2",
        "customer": "A",
        "currency": "EUR",
        "amount": "200.00",
        "document_date": "2026-02-08",
        "due_date": DUE.isoformat(),
        "disputed": "true",
    }
    assert import_rows(session, t, "invoices", [flagged]).applied
    assert seen_as_disputed(session, t, actor, docs) == everywhere({"INV-1", "INV-2"})
