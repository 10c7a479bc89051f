"""``arpolicy import`` leaves its audit trail, on both databases: who (the operating-system
user), the records created and updated, each user's changed fields; ``arpolicy audit``
finds and shows them."""

from __future__ import annotations

import getpass
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from arpolicy.cli.main import app
from arpolicy.kit.db import transaction
from arpolicy.ledger.tenants import create_tenant
from arpolicy.models import AuditEvent, Customer, Document, OutboxMessage, User, WebhookEndpoint

runner = CliRunner()
ME = f"cli:{getpass.getuser()} (import)"


@pytest.fixture
def shop(db_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> int:
    """A new tenant (the CLI commits: a unique slug keeps tests apart) with a webhook
    endpoint for ``import.completed``; the CLI is pointed at it. Returns its id."""
    slug = f"audit-{uuid.uuid4().hex[:10]}"
    with transaction(db_engine) as s:
        tenant = create_tenant(s, slug, base_currency="USD")
        s.add(
            WebhookEndpoint(
                tenant_id=tenant.id,
                url="https://hooks.example.com/ar",
                events=["import.completed"],
                secret="whsec_dGVzdA==",
                active=True,
            )
        )
        tenant_id = tenant.id
    monkeypatch.setenv("ARPOLICY_DATABASE_URL", db_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("ARPOLICY_TENANT", slug)
    monkeypatch.delenv("ARPOLICY_NOW", raising=False)
    monkeypatch.setenv("COLUMNS", "400")  # the table's cells read whole, whatever the terminal
    return tenant_id


def cli(*args: Any) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.stdout


def audit(*args: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(cli("audit", *args, "--json"))
    return found


def imported(tmp_path: Path, kind: str, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    cli("import", kind, path)


def ids(engine: Engine, model: Any, tenant_id: int, key: str) -> dict[Any, int]:
    with transaction(engine, write=False) as s:
        rows = s.execute(select(getattr(model, key), model.id).where(model.tenant_id == tenant_id))
        return {k: i for k, i in rows}


def test_who_made_a_user_admin_by_import(db_engine, shop, tmp_path):
    users = "email,name,role\nmallory@example.com,Mallory,collector\nboss@example.com,Boss,admin\n"
    imported(tmp_path, "users", "team.csv", users)
    imported(
        tmp_path, "users", "promote.csv", "email,name,role\nmallory@example.com,Mallory,admin\n"
    )
    mallory = ids(db_engine, User, shop, "email")["mallory@example.com"]
    found = audit("--entity", "user", "--id", mallory)
    assert [e["action"] for e in found] == ["user.updated", "user.created"]
    promoted = found[0]
    assert (promoted["before"], promoted["after"]) == ({"role": "collector"}, {"role": "admin"})
    assert promoted["actor"] == ME and "from promote.csv" in promoted["reason"]
    shown = " ".join(cli("audit", "--entity", "user", "--id", mallory).split())
    assert "role: collector -> admin" in shown and "import of users from promote.csv" in shown
    summaries = audit("--action", "import.completed", "--actor", getpass.getuser())
    assert [s["after"]["file"] for s in summaries] == ["promote.csv", "team.csv"]
    assert summaries[0]["after"]["ids"] == {
        "created": [],
        "updated": [[mallory, "mallory@example.com"]],
    }


def test_customers_and_invoices_list_the_ids_created_and_updated(db_engine, shop, tmp_path):
    imported(
        tmp_path, "customers", "c.csv", "external_id,name,currency\nC1,ACME,USD\nC2,Beta,USD\n"
    )
    imported(
        tmp_path,
        "customers",
        "c2.csv",
        "external_id,name,currency\nC2,Beta Inc,USD\nC3,Gamma,USD\n",
    )
    invoices = (
        "number,customer,currency,amount,document_date,due_date\n"
        "I1,C1,USD,100.00,2026-10-01,2026-11-01\nI2,C3,USD,5.00,2026-10-01,2026-11-01\n"
    )
    imported(tmp_path, "invoices", "i.csv", invoices)
    customers = ids(db_engine, Customer, shop, "external_id")
    docs = ids(db_engine, Document, shop, "number")
    newest_first = audit("--action", "import.completed")
    assert [(e["actor"], e["entity_id"]) for e in newest_first] == [
        (ME, "invoices"),
        (ME, "customers"),
        (ME, "customers"),
    ]
    assert [e["after"]["ids"] for e in reversed(newest_first)] == [
        {"created": [[customers["C1"], "C1"], [customers["C2"], "C2"]], "updated": []},
        {"created": [[customers["C3"], "C3"]], "updated": [[customers["C2"], "C2"]]},
        {
            "created": [[docs["I1"], ["invoice", "I1"]], [docs["I2"], ["invoice", "I2"]]],
            "updated": [],
        },
    ]
    shown = " ".join(cli("audit", "--action", "import.completed").split())
    assert "customers from c2.csv: 2 rows, 1 created, 1 updated, 0 rejected" in shown
    with transaction(db_engine, write=False) as s:
        queued = s.scalars(select(OutboxMessage).where(OutboxMessage.tenant_id == shop)).all()
        assert sorted(m.payload["data"]["file"] for m in queued) == ["c.csv", "c2.csv", "i.csv"]
        assert {m.event_type for m in queued} == {"import.completed"}


def test_a_rejected_file_records_nothing(db_engine, shop, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("email,name,role\nmallory@example.com,Mallory,root\n", encoding="utf-8")
    assert runner.invoke(app, ["import", "users", str(path)]).exit_code == 2
    with transaction(db_engine, write=False) as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.tenant_id == shop)).all() == []
