"""Every kept import leaves its audit trail (trail.py): who, the counts, and the records it
created and updated by id and key; users each get an event with the changed fields; large
imports list their records in chunks; the ``import.completed`` webhook is queued."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.audit import Actor, describe
from arpolicy.kit.clock import FixedClock
from arpolicy.ledger.importing import import_file, import_rows, importer, pipeline, trail
from arpolicy.models import (
    AuditEvent,
    Customer,
    Document,
    FxRate,
    OutboxMessage,
    User,
    WebhookEndpoint,
)
from tests.fixtures.factories import create_rate, create_tenant
from tests.ledger.test_import_support import write

AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
INVOICES = "number,customer,currency,amount,document_date,due_date\n"


def events(session: Session, tenant_id: int, action: str | None = None) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id).order_by(AuditEvent.id)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    return list(session.scalars(stmt))


def ids(session: Session, model: Any, tenant_id: int, key: str = "external_id") -> dict[Any, int]:
    rows = session.execute(
        select(getattr(model, key), model.id).where(model.tenant_id == tenant_id)
    )
    return {k: i for k, i in rows}


def test_a_file_import_lists_what_it_created_and_updated(session, tmp_path):
    tenant = create_tenant(session)
    session.add(
        WebhookEndpoint(
            tenant_id=tenant.id,
            url="https://hooks.example.com/ar",
            events=["import.completed"],
            secret="whsec_dGVzdA==",
            active=True,
        )
    )
    first = write(tmp_path, "c.csv", "external_id,name,currency\nC1,ACME,USD\nC2,Beta,EUR\n")
    assert import_file(session, tenant, "customers", first).applied
    again = write(tmp_path, "c2.csv", "external_id,name,currency\nC2,Beta GmbH,EUR\nC3,Gamma,USD\n")
    assert import_file(session, tenant, "customers", again).applied
    stored = ids(session, Customer, tenant.id)
    one, two = events(session, tenant.id, "import.completed")
    assert one.actor == two.actor == "system:import"  # no actor given: still recorded
    assert (one.entity, one.entity_id, one.after["file"]) == ("import", "customers", "c.csv")
    assert one.after["ids"] == {
        "created": [[stored["C1"], "C1"], [stored["C2"], "C2"]],
        "updated": [],
    }
    assert two.after["ids"] == {
        "created": [[stored["C3"], "C3"]],
        "updated": [[stored["C2"], "C2"]],
    }
    assert (two.after["inserted"], two.after["updated"], two.after["rejected"]) == (1, 1, 0)
    hooks = session.scalars(select(OutboxMessage).where(OutboxMessage.tenant_id == tenant.id))
    assert [m.payload["data"]["file"] for m in hooks] == ["c.csv", "c2.csv"]


@pytest.mark.parametrize("full_scan_from", [1, trail.FULL_SCAN_FROM])
def test_keys_of_several_columns_dates_and_enums(session, tmp_path, monkeypatch, full_scan_from):
    """Documents (type + number) and FX rates (pair + date): found by key both ways (a few
    keys at a time, and one pass over the tenant's rows)."""
    monkeypatch.setattr(trail, "FULL_SCAN_FROM", full_scan_from)
    tenant = create_tenant(session, base_currency="USD")
    create_rate(session, tenant, "EUR", "USD", date(2026, 1, 1), "1.1")
    write(tmp_path, "c.csv", "external_id,name,currency\nC1,ACME,USD\n")
    import_file(session, tenant, "customers", tmp_path / "c.csv")
    body = "I1,C1,USD,10.00,2026-10-01,2026-11-01\nI2,C1,USD,20.00,2026-10-01,2026-11-01\n"
    assert import_file(session, tenant, "invoices", write(tmp_path, "i.csv", INVOICES + body)).ok
    more = "I2,C1,USD,25.00,2026-10-01,2026-11-01\nI3,C1,USD,5.00,2026-10-01,2026-11-01\n"
    assert import_file(session, tenant, "invoices", write(tmp_path, "j.csv", INVOICES + more)).ok
    docs = ids(session, Document, tenant.id, "number")
    last = events(session, tenant.id, "import.completed")[-1].after["ids"]
    assert last == {
        "created": [[docs["I3"], ["invoice", "I3"]]],
        "updated": [[docs["I2"], ["invoice", "I2"]]],
    }
    rates = (
        "from_currency,to_currency,valid_on,rate\nEUR,USD,2026-01-01,1.2\nEUR,USD,2026-02-01,1.3\n"
    )
    assert import_file(session, tenant, "fx-rates", write(tmp_path, "r.csv", rates)).ok
    rate_ids = ids(session, FxRate, tenant.id, "valid_on")
    last = events(session, tenant.id, "import.completed")[-1].after["ids"]
    assert last == {
        "created": [[rate_ids[date(2026, 2, 1)], ["EUR", "USD", "2026-02-01"]]],
        "updated": [[rate_ids[date(2026, 1, 1)], ["EUR", "USD", "2026-01-01"]]],
    }


def test_users_get_an_event_each_with_the_role_change_and_who(session, tmp_path):
    tenant = create_tenant(session)
    who = Actor(tenant.id, "cli:alice (import)", clock=FixedClock(AT))
    users = "email,name,role\nmallory@example.com,Mallory,collector\nboss@example.com,Boss,admin\n"
    import_file(session, tenant, "users", write(tmp_path, "u.csv", users), actor=who)
    changed = users.replace("Mallory,collector", "Mallory,admin")
    import_file(session, tenant, "users", write(tmp_path, "u2.csv", changed), actor=who)
    mallory = ids(session, User, tenant.id, "email")["mallory@example.com"]
    mine = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.tenant_id == tenant.id,
            AuditEvent.entity == "user",
            AuditEvent.entity_id == str(mallory),
        )
        .order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in mine] == ["user.created", "user.updated"]
    assert mine[0].after["role"] == "collector" and mine[0].before is None
    assert (mine[1].before, mine[1].after) == ({"role": "collector"}, {"role": "admin"})
    assert (mine[1].actor, mine[1].at) == ("cli:alice (import)", AT)
    summary = events(session, tenant.id, "import.completed")[-1]
    assert "from u2.csv" in mine[1].reason and f"event {summary.id}" in mine[1].reason
    # Boss was in the file again unchanged: listed as updated, but no event of its own.
    assert (summary.after["changed"], summary.after["unchanged"]) == (1, 1)
    assert len(events(session, tenant.id, "user.updated")) == 1


def test_a_large_import_lists_its_records_in_chunks(session, tmp_path, monkeypatch):
    monkeypatch.setattr(trail, "IDS_PER_EVENT", 2)
    tenant = create_tenant(session)
    rows = "".join(f"C{i},Customer {i},USD\n" for i in range(5))
    path = write(tmp_path, "c.csv", "external_id,name,currency\n" + rows)
    assert import_file(session, tenant, "customers", path).applied
    (summary,) = events(session, tenant.id, "import.completed")
    assert "ids" not in summary.after and summary.after["ids_in_events"] == 3
    parts = events(session, tenant.id, "import.ids")
    assert [(p.after["part"], p.after["parts"], p.after["import_event"]) for p in parts] == [
        (1, 3, summary.id),
        (2, 3, summary.id),
        (3, 3, summary.id),
    ]
    assert describe(summary).endswith("; ids in 3 import.ids events")
    assert describe(parts[0]) == f"part 1/3 of event {summary.id}: 2 created, 0 updated"
    listed = [entry for p in parts for entry in p.after["ids"]["created"]]
    stored = ids(session, Customer, tenant.id)
    assert listed == sorted([i, k] for k, i in stored.items()) and len(listed) == 5


def test_rejected_imports_leave_no_trail_and_partial_ones_list_the_kept_rows(session, tmp_path):
    tenant = create_tenant(session)
    bad = write(tmp_path, "bad.csv", "external_id,name,currency\nC1,ACME,USD\nC2,,USD\n")
    assert not import_file(session, tenant, "customers", bad).applied
    assert events(session, tenant.id) == []
    assert import_file(session, tenant, "customers", bad, partial=True).applied
    (summary,) = events(session, tenant.id, "import.completed")
    assert summary.after["ids"]["created"] == [[ids(session, Customer, tenant.id)["C1"], "C1"]]
    assert summary.after["rejected"] == 1


def test_rows_are_recorded_like_a_file(session):
    """``import_rows`` is an import like a file's (the write service's batch path): recorded
    as ``system:import`` when no actor is given, else as the actor."""
    tenant = create_tenant(session)
    import_rows(
        session, tenant, "customers", [{"external_id": "C1", "name": "A", "currency": "USD"}]
    )
    (first,) = events(session, tenant.id)
    assert first.actor == "system:import" and first.after["file"] == "rows"
    who = Actor(tenant.id, "system:sync", clock=FixedClock(AT))
    row = {"external_id": "C2", "name": "B", "currency": "USD"}
    import_rows(session, tenant, "customers", [row], actor=who)
    summary = events(session, tenant.id)[-1]
    assert summary.actor == "system:sync" and summary.after["file"] == "rows"
    assert summary.after["ids"]["created"] == [[ids(session, Customer, tenant.id)["C2"], "C2"]]


def test_a_pipelined_import_lists_the_same_records(sqlite_session, tmp_path, monkeypatch):
    """The second process sends rows ready to write; their keys are taken in the parent."""
    monkeypatch.setattr(pipeline, "MIN_ROWS", 0)
    calls: list[int] = []
    real = importer.run_pipelined
    monkeypatch.setattr(importer, "run_pipelined", lambda *a: (calls.append(1), real(*a)))
    session, tenant = sqlite_session, create_tenant(sqlite_session)
    import_file(
        session,
        tenant,
        "customers",
        write(tmp_path, "c.csv", "external_id,name,currency\nC1,A,USD\n"),
    )
    body = "".join(f"I{i},C1,USD,1.00,2026-10-01,2026-11-01\n" for i in range(30))
    assert import_file(
        session, tenant, "invoices", write(tmp_path, "i.csv", INVOICES + body), parallel=True
    ).applied
    assert calls == [1]
    docs = ids(session, Document, tenant.id, "number")
    listed = events(session, tenant.id, "import.completed")[-1].after["ids"]["created"]
    assert listed == sorted([i, ["invoice", n]] for n, i in docs.items()) and len(listed) == 30
