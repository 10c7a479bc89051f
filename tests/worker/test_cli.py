"""``arpolicy worker --once`` and ``arpolicy webhooks list|deliveries`` on a SQLite file,
with the real clock and a live receiver."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from arpolicy.cli.main import app
from arpolicy.kit.db import make_engine, transaction
from arpolicy.kit.migrate import upgrade
from arpolicy.ledger.tenants import create_tenant
from arpolicy.webhooks import emit
from arpolicy.webhooks.service import create_endpoint
from tests.webhooks.support import Receiver


@pytest.fixture
def shop(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("ARPOLICY_DATABASE_URL", url)
    monkeypatch.setenv("ARPOLICY_TENANT", "shop")
    monkeypatch.setenv("COLUMNS", "200")  # tables are not squeezed
    engine = make_engine(url)
    upgrade(engine)
    with Receiver() as receiver:
        with transaction(engine) as s:
            tenant = create_tenant(s, "shop")
            _, secret = create_endpoint(s, tenant.id, receiver.url("/cli"), ["*"])
            receiver.expect("/cli", secret)
            emit(s, tenant.id, "customer.created", {"id": 1}, key="c:1", at=datetime.now(UTC))
        yield receiver
    engine.dispose()


def test_worker_once_delivers_and_reports_json(shop):
    result = CliRunner().invoke(app, ["worker", "--once", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["claimed"] == report["delivered"] == 1 and report["failed"] == 0
    [got] = shop.at("/cli")
    assert got.verified and got.payload["type"] == "customer.created"


def test_webhooks_list_and_deliveries(shop):
    runner = CliRunner()
    runner.invoke(app, ["worker", "--once"])
    endpoints = json.loads(runner.invoke(app, ["webhooks", "list", "--json"]).stdout)
    assert [e["url"] for e in endpoints] == [shop.url("/cli")]
    assert "secret" not in endpoints[0]
    deliveries = json.loads(runner.invoke(app, ["webhooks", "deliveries", "--json"]).stdout)
    assert [(d["event_type"], d["status"], d["attempts"]) for d in deliveries] == [
        ("customer.created", "delivered", 1)
    ]
    table = runner.invoke(app, ["webhooks", "deliveries", "--status", "delivered"])
    assert table.exit_code == 0 and "customer.created" in table.stdout
