"""One change, every surface (issue 13): the same writes through the REST API, the CLI and
the ledger write service called as a job would leave the same audit events and webhooks and
fire the same ledger hooks, on both databases. An import fires its kind's hook once for
the whole batch; a single write once for its record.

The surfaces differ only in who wrote (``key:...``, ``cli:<user> (import)``, the job's
actor), in the instant, and in the ids the database gave: those are set aside, and every
id is read back as the record's key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from arpolicy.api.context import scope_tenant
from arpolicy.audit import Actor
from arpolicy.cli.main import app as cli_app
from arpolicy.kit.clock import FixedClock
from arpolicy.kit.db import transaction
from arpolicy.ledger import hooks
from arpolicy.ledger.writing import LedgerWrites
from arpolicy.models import AuditEvent, Customer, Document, OutboxMessage, Tenant
from tests.api.conftest import NOW

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CUSTOMERS = "external_id,name,currency,country\nC1,ACME,USD,US\nC2,Beta,USD,DE\n"
INVOICES = (
    "number,customer,currency,amount,document_date,due_date\n"
    "I1,C1,USD,100.00,2026-10-01,2026-11-01\nI2,C2,USD,7.50,2026-10-02,2026-11-02\n"
)
SET_ASIDE = {"id", "tenant_id", "created_at", "updated_at"}


@pytest.fixture
def fired() -> Iterator[list[tuple[int, str, str, bool, int, int]]]:
    """Every ledger hook fired while the test runs: (tenant id, topic, kind, batch, ids,
    created)."""
    seen: list[tuple[int, str, str, bool, int, int]] = []

    def record(event: hooks.Written) -> None:
        seen.append(
            (
                event.tenant.id,
                event.topic,
                event.kind,
                event.batch,
                len(event.ids),
                len(event.created),
            )
        )

    topics = (hooks.CUSTOMERS_WRITTEN, hooks.DOCUMENTS_WRITTEN)
    for topic in topics:
        hooks.subscribe(topic)(record)
    yield seen
    for topic in topics:
        hooks._subscribers[topic].remove(record)


def keys_of(engine: Engine, tenant_id: int) -> dict[str, dict[int, Any]]:
    """Each record's key by its id, per entity."""
    with transaction(engine, write=False) as s:
        scope_tenant(s, tenant_id)
        customers = s.execute(
            select(Customer.id, Customer.external_id).where(Customer.tenant_id == tenant_id)
        )
        documents = s.execute(
            select(Document.id, Document.number).where(Document.tenant_id == tenant_id)
        )
        return {"customer": dict(customers.all()), "document": dict(documents.all())}


def _plain(value: Any, keys: dict[str, dict[int, Any]]) -> Any:
    """``value`` with ids read as keys and the surface's own fields set aside."""
    if isinstance(value, dict):
        out = {}
        for name, item in value.items():
            if name in SET_ASIDE:
                continue
            if name in ("customer_id", "document_id") and item is not None:
                item = keys[name.removesuffix("_id")].get(item, item)
            out[name] = _plain(item, keys)
        return out
    if isinstance(value, list):
        if len(value) == 2 and isinstance(value[0], int) and not isinstance(value[0], bool):
            return value[1]  # an import's [id, key]
        return [_plain(v, keys) for v in value]
    return value


def trail(engine: Engine, tenant_id: int) -> tuple[list[Any], list[Any]]:
    """(audit events, webhook messages) of the tenant, in order, comparable across tenants."""
    keys = keys_of(engine, tenant_id)
    with transaction(engine, write=False) as s:
        scope_tenant(s, tenant_id)
        events = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.tenant_id == tenant_id, AuditEvent.action != "api_key.created")
            .order_by(AuditEvent.id)
        ).all()
        audit = [
            (
                e.action,
                e.entity,
                keys.get(e.entity, {}).get(_int(e.entity_id), e.entity_id),
                _plain(e.before, keys),
                _plain(e.after, keys),
            )
            for e in events
        ]
        messages = s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.tenant_id == tenant_id)
            .order_by(OutboxMessage.id)
        ).all()
        webhooks = [(m.event_type, _plain(m.payload["data"], keys)) for m in messages]
    return audit, webhooks


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def write(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / name.split(".")[0]
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def service(engine: Engine, tenant_id: int, work: Callable[[LedgerWrites], Any]) -> Any:
    """``work`` through the write service in one transaction, as a job does."""
    clock = FixedClock(NOW)
    with transaction(engine) as s:
        scope_tenant(s, tenant_id)
        tenant = s.get(Tenant, tenant_id)
        assert tenant is not None
        return work(LedgerWrites(s, tenant, Actor(tenant_id, "system:job", clock=clock)))


def test_an_import_leaves_the_same_trail_through_the_api_the_cli_and_a_job(
    client, caller, subscribe, api_engine, tmp_path, monkeypatch, fired
):
    api, cli, job = caller(), caller(), caller()
    for who in (api, cli, job):
        subscribe(who.tenant_id)
    for kind, name, text in (
        ("customers", "customers.csv", CUSTOMERS),
        ("invoices", "invoices.csv", INVOICES),
    ):
        files = {"file": (name, text.encode(), "text/csv")}
        r = client.post(f"/v1/imports/{kind}", headers=api.headers, files=files)
        assert r.status_code == 200, r.text

        monkeypatch.setenv("ARPOLICY_DATABASE_URL", api_engine.url.render_as_string(False))
        monkeypatch.setenv("ARPOLICY_TENANT", cli.slug)
        done = CliRunner().invoke(cli_app, ["import", kind, str(write(tmp_path, name, text))])
        assert done.exit_code == 0, done.output

        report = service(
            api_engine,
            job.tenant_id,
            lambda w, k=kind, n=name, t=text: w.import_file(k, write(tmp_path, n, t)),
        )
        assert report.applied and report.inserted == 2

    trails = [trail(api_engine, who.tenant_id) for who in (api, cli, job)]
    audit, webhooks = trails[0]
    assert [a[0] for a in audit] == ["import.completed", "import.completed"]
    assert audit[0][4]["ids"] == {"created": ["C1", "C2"], "updated": []}
    assert audit[1][4]["file"] == "invoices.csv" and audit[1][4]["inserted"] == 2
    assert [w[0] for w in webhooks] == ["import.completed", "import.completed"]
    assert trails[1] == trails[0] and trails[2] == trails[0]
    for who in (api, cli, job):  # once per batch, with every record of it
        assert [f[1:] for f in fired if f[0] == who.tenant_id] == [
            (hooks.CUSTOMERS_WRITTEN, "customers", True, 2, 2),
            (hooks.DOCUMENTS_WRITTEN, "invoices", True, 2, 2),
        ]


def test_a_single_write_leaves_the_same_trail_through_the_api_and_the_service(
    client, caller, subscribe, api_engine, fired
):
    api, job = caller(), caller()
    for who in (api, job):
        subscribe(who.tenant_id)
    customer = {"external_id": "C1", "name": "ACME", "currency": "USD", "country": "US"}
    r = client.post("/v1/customers", headers=api.headers, json=customer)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = client.patch(f"/v1/customers/{cid}", headers=api.headers, json={"name": "ACME Inc"})
    assert r.status_code == 200, r.text
    invoice = {
        "type": "invoice",
        "number": "I1",
        "customer_id": cid,
        "document_date": "2026-10-01",
        "due_date": "2026-11-01",
        "amount": {"amount": "100.00", "currency": "USD"},
    }
    r = client.post("/v1/documents", headers=api.headers, json=invoice)
    assert r.status_code == 201, r.text

    def same(w: LedgerWrites) -> None:
        made = w.create("customers", customer)
        w.update("customers", made.id, {"name": "ACME Inc"})
        w.create("documents", {**invoice, "customer_id": made.id})

    service(api_engine, job.tenant_id, same)
    audit, webhooks = trail(api_engine, api.tenant_id)
    assert [(a[0], a[2]) for a in audit] == [
        ("customer.created", "C1"),
        ("customer.updated", "C1"),
        ("document.created", "I1"),
    ]
    assert audit[1][3:] == ({"name": "ACME"}, {"name": "ACME Inc"})
    assert [w[0] for w in webhooks] == ["customer.created", "customer.updated", "document.created"]
    assert trail(api_engine, job.tenant_id) == (audit, webhooks)
    for who in (api, job):  # once per write
        assert [f[1:] for f in fired if f[0] == who.tenant_id] == [
            (hooks.CUSTOMERS_WRITTEN, "customers", False, 1, 1),
            (hooks.CUSTOMERS_WRITTEN, "customers", False, 1, 0),
            (hooks.DOCUMENTS_WRITTEN, "documents", False, 1, 1),
        ]


def test_the_webhooks_carry_the_record_as_the_api_reads_it(client, caller, subscribe, api_engine):
    """The ledger's shapes (arpolicy.ledger.writing.shapes) are the API's reads."""
    me = caller()
    subscribe(me.tenant_id)
    c = client.post(
        "/v1/customers",
        headers=me.headers,
        json={
            "external_id": "C1",
            "name": "ACME",
            "currency": "EUR",
            "custom_fields": {},
            "reported_balance": {"amount": "12.00", "currency": "EUR"},
            "billing_address": {"city": "Berlin", "country": "DE"},
        },
    ).json()
    service(
        api_engine,
        me.tenant_id,
        lambda w: w.create(
            "fx-rates",
            {"from_currency": "EUR", "to_currency": "USD", "valid_on": "2026-01-01", "rate": "1.1"},
        ),
    )
    money = {"amount": "50.00", "currency": "EUR"}
    bodies = {
        "/v1/documents": {
            "type": "invoice",
            "number": "I1",
            "customer_id": c["id"],
            "amount": money,
            "document_date": "2026-10-01",
            "due_date": "2026-11-01",
            "posting_date": "2026-10-02",
        },
        "/v1/payments": {
            "external_id": "P1",
            "customer_id": c["id"],
            "amount": money,
            "received_on": "2026-10-05",
            "method": "card",
        },
        "/v1/promises": {
            "external_id": "PR1",
            "customer_id": c["id"],
            "amount": money,
            "promised_on": "2026-12-01",
            "note": "soon",
        },
        "/v1/disputes": {
            "external_id": "D1",
            "customer_id": c["id"],
            "amount": money,
            "reason": "price",
            "opened_on": "2026-10-06",
        },
    }
    read = {"/v1/customers": {k: v for k, v in c.items() if k != "figures"}}
    for path, body in bodies.items():
        r = client.post(path, headers=me.headers, json=body)
        assert r.status_code == 201, r.text
        read[path] = client.get(f"{path}/{r.json()['id']}", headers=me.headers).json()
    with transaction(api_engine, write=False) as s:
        scope_tenant(s, me.tenant_id)
        sent = {
            m.event_type: m.payload["data"]
            for m in s.scalars(select(OutboxMessage).where(OutboxMessage.tenant_id == me.tenant_id))
        }
    for event, path in (
        ("customer.created", "/v1/customers"),
        ("document.created", "/v1/documents"),
        ("payment.created", "/v1/payments"),
        ("promise.created", "/v1/promises"),
        ("dispute.created", "/v1/disputes"),
    ):
        data = {k: v for k, v in sent[event].items() if k != "figures"}
        assert data == read[path], event
