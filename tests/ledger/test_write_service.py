"""The ledger write service (arpolicy.ledger.writing) on both databases: a single write
reads only the rows it touches (no count or scan of the tenant's tables), voids, refuses
with errors located in the record, fires its hook once, and rolls back with a subscriber
that refuses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from arpolicy.audit import Actor
from arpolicy.exceptions import ValidationError
from arpolicy.kit.clock import FixedClock
from arpolicy.ledger import hooks
from arpolicy.ledger.writing import Exists, LedgerWrites, RowsInvalid
from arpolicy.models import AuditEvent, Document
from tests.fixtures.factories import create_tenant

AT = datetime(2026, 11, 23, 12, tzinfo=UTC)
USD = {"amount": "100.00", "currency": "USD"}


def service(session: Session) -> LedgerWrites:
    tenant = create_tenant(session)
    return LedgerWrites(session, tenant, Actor(tenant.id, "system:test", clock=FixedClock(AT)))


@pytest.fixture
def statements(session: Session) -> Iterator[list[str]]:
    """The SQL the session's connection runs while the test runs."""
    seen: list[str] = []
    engine = session.get_bind().engine

    def log(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()).lower())

    event.listen(engine, "before_cursor_execute", log)
    yield seen
    event.remove(engine, "before_cursor_execute", log)


def test_single_writes_never_count_or_scan_the_tenants_tables(session, statements):
    w = service(session)
    customer = w.create("customers", {"external_id": "C1", "name": "A", "currency": "USD"})
    invoice = w.create(
        "documents",
        {
            "type": "invoice",
            "number": "I1",
            "customer_id": customer.id,
            "amount": USD,
            "document_date": "2026-10-01",
            "due_date": "2026-11-01",
        },
    )
    payment = w.create(
        "payments",
        {
            "external_id": "P1",
            "customer_id": customer.id,
            "amount": USD,
            "received_on": "2026-11-02",
        },
    )
    statements.clear()
    w.create("allocations", {"payment_id": payment.id, "document_id": invoice.id, "amount": USD})
    w.update("customers", customer.id, {"name": "B"})
    w.create("customers", {"external_id": "C2", "name": "C", "currency": "USD"})
    selects = [s for s in statements if s.startswith("select") and "pg_advisory" not in s]
    assert selects and not [s for s in selects if "count(" in s]
    for sql in selects:  # every read is of the tenant's rows by a key or an id
        where = sql.split(" where ", 1)[1] if " where " in sql else ""
        assert "tenant_id" in where or sql.startswith("select tenants."), sql
        assert " = " in where or " in (" in where, sql
    assert session.get(Document, invoice.id).balance_minor == 0


def test_a_void_is_an_audited_change(session):
    w = service(session)
    c = w.create("customers", {"external_id": "C1", "name": "A", "currency": "USD"})
    d = w.create(
        "documents",
        {
            "type": "invoice",
            "number": "I1",
            "customer_id": c.id,
            "amount": USD,
            "document_date": "2026-10-01",
            "due_date": "2026-11-01",
        },
    )
    assert w.void("documents", d.id).voided is True
    last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (last.action, last.before, last.after) == (
        "document.voided",
        {"voided": False},
        {"voided": True},
    )
    with pytest.raises(ValidationError, match="a customer cannot be voided"):
        w.void("customers", c.id)


def test_errors_name_the_field_of_the_record(session):
    w = service(session)
    c = w.create("customers", {"external_id": "C1", "name": "A", "currency": "USD"})
    with pytest.raises(Exists) as exists:
        w.create("customers", {"external_id": "C1", "name": "again"})
    assert exists.value.errors[0]["existing_id"] == c.id
    with pytest.raises(RowsInvalid) as bad:
        w.create(
            "documents",
            {
                "type": "invoice",
                "number": "I1",
                "customer_id": c.id,
                "amount": {"amount": "1.001", "currency": "USD"},
                "document_date": "2026-10-01",
                "due_date": "2026-11-01",
            },
        )
    assert bad.value.where == "record.amount"
    with pytest.raises(ValidationError) as ref:
        w.create("contacts", {"external_id": "K1", "customer_id": 999_999})
    assert ref.value.where == "record.customer_id"


def test_hooks_fire_once_per_write_and_once_per_batch_and_can_refuse(session):
    w = service(session)
    seen: list[tuple[str, bool, int, int, frozenset[str]]] = []

    def record(e: hooks.Written) -> None:
        if e.tenant.id != w.tenant.id:
            return
        seen.append((e.kind, e.batch, len(e.ids), len(e.created), e.fields))
        if e.kind == "contacts":
            raise ValidationError("refused by a policy")

    hooks.subscribe(hooks.CONTACTS_WRITTEN)(record)
    hooks.subscribe(hooks.CUSTOMERS_WRITTEN)(record)
    try:
        c = w.create("customers", {"external_id": "C1", "name": "A", "currency": "USD"})
        rows = [{"external_id": f"C{i}", "name": "x", "currency": "USD"} for i in range(2, 12)]
        assert w.import_rows("customers", rows).inserted == 10
        columns = frozenset({"external_id", "name", "currency"})
        assert seen == [("customers", False, 1, 1, columns), ("customers", True, 10, 10, columns)]
        savepoint = session.begin_nested()
        with pytest.raises(ValidationError, match="refused by a policy"):
            w.create("contacts", {"external_id": "K1", "customer_id": c.id})
        savepoint.rollback()
        assert seen[-1][:4] == ("contacts", False, 1, 1)
    finally:
        hooks._subscribers[hooks.CONTACTS_WRITTEN].remove(record)
        hooks._subscribers[hooks.CUSTOMERS_WRITTEN].remove(record)
