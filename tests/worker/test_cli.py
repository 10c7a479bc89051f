"""``arpolicy worker --once`` and ``arpolicy webhooks list|deliveries`` on a SQLite file,
with the real clock and a live receiver; ``arpolicy worker --now`` / ``ARPOLICY_NOW`` (a
fixed clock) on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from arpolicy.cli import common
from arpolicy.cli.main import app
from arpolicy.kit.db import make_engine, transaction
from arpolicy.kit.migrate import upgrade
from arpolicy.ledger.tenants import create_tenant
from arpolicy.models import EmailStatus
from arpolicy.webhooks import emit
from arpolicy.webhooks.service import create_endpoint
from tests.engagement.helpers import load_email, mail_engine, mdb, new_customer, queue_email, sink
from tests.webhooks.support import LOOPBACK, LOOPBACK_NETWORKS, Receiver

__all__ = ["mail_engine", "mdb", "sink"]  # fixtures
DUE_AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # the send window opens: 09:00 in Berlin


@pytest.fixture
def shop(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("ARPOLICY_DATABASE_URL", url)
    monkeypatch.setenv("ARPOLICY_TENANT", "shop")
    monkeypatch.setenv("COLUMNS", "200")  # tables are not squeezed
    monkeypatch.setenv("ARPOLICY_WEBHOOK_ALLOW_NETWORKS", LOOPBACK_NETWORKS)  # the receiver
    engine = make_engine(url)
    upgrade(engine)
    with Receiver() as receiver:
        with transaction(engine) as s:
            tenant = create_tenant(s, "shop")
            _, secret = create_endpoint(
                s, tenant.id, receiver.url("/cli"), ["*"], destinations=LOOPBACK
            )
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


@pytest.fixture
def fixed(mdb, monkeypatch):
    """The CLI on the module's own database (the worker claims every tenant's emails)."""
    monkeypatch.setenv("ARPOLICY_DATABASE_URL", mdb.url.render_as_string(hide_password=False))
    monkeypatch.delenv("ARPOLICY_NOW", raising=False)
    monkeypatch.setattr(common, "_announced", set())
    return mdb


def _pass(sink, *args: str, **env: str):
    res = CliRunner().invoke(
        app, ["worker", "--once", "--json", "--mail", sink.url(), *args], env=env or None
    )
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)["mail"], res.stderr


def test_worker_now_fixes_the_clock_an_email_due_at_nine_waits_at_eight(fixed, sink):
    q = queue_email(fixed, *new_customer(fixed), send_after=DUE_AT)
    early, told = _pass(sink, "--now", "2026-12-01T08:00:00+01:00")
    assert early["claimed"] == 0 and load_email(fixed, q.email_id).status == EmailStatus.QUEUED
    assert "note: --now 2026-12-01T07:00:00+00:00: the clock is fixed" in told
    late, _ = _pass(sink, "--now", "2026-12-01T10:00:00+01:00")
    assert (late["claimed"], late["sent"]) == (1, 1)
    email = load_email(fixed, q.email_id)
    assert email.status == EmailStatus.SENT and email.sent_at == datetime(
        2026, 12, 1, 9, 0, tzinfo=UTC
    )
    assert sink.message_ids() == [q.message_id]


def test_worker_honours_the_now_setting_and_the_option_wins(fixed, sink):
    q = queue_email(fixed, *new_customer(fixed), send_after=DUE_AT)
    early, told = _pass(sink, ARPOLICY_NOW="2026-12-01T08:59:59+01:00")
    assert early["claimed"] == 0 and "note: ARPOLICY_NOW 2026-12-01T07:59:59+00:00" in told
    late, _ = _pass(sink, "--now", "2026-12-01T09:00:00+01:00", ARPOLICY_NOW="2026-12-01T08:00:00Z")
    assert late["sent"] == 1 and load_email(fixed, q.email_id).status == EmailStatus.SENT


def test_worker_refuses_a_clock_without_an_offset(fixed, sink):
    q = queue_email(fixed, *new_customer(fixed), send_after=DUE_AT)
    res = CliRunner().invoke(
        app, ["worker", "--once", "--mail", sink.url(), "--now", "2026-12-01 10:00"]
    )
    assert res.exit_code == 2 and "--now: '2026-12-01 10:00' has no UTC offset" in res.stderr
    assert "fix: add the offset" in res.stderr
    assert load_email(fixed, q.email_id).status == EmailStatus.QUEUED and sink.received == []
