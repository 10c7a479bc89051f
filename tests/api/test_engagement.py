"""Engagement cycles over the API: save (validated, versioned), status, settings, runs dry
and real, forecast, backtest, permissions and tenant isolation."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from arpolicy.kit.db import transaction
from arpolicy.models import Contact, Email, Tenant, UserRole
from tests.fixtures.factories import create_customer, create_document

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CYCLE = {
    "name": "Standard",
    "status": "live",
    "priority": 10,
    "invoice": "balance > 0 USD",
    "reminders": [
        {
            "name": "overdue",
            "anchor": "due_date",
            "offset_days": 1,
            "repeat": {"every_days": 7, "times": 2},
            "template": "firm",
        }
    ],
}
SETTINGS = {"from_address": "ar@shop.example", "test_address": "qa@shop.example", "quiet_days": 2}


@pytest.fixture
def shop(api_engine, caller, clock):
    me = caller()
    today = clock.now().date()
    with transaction(api_engine) as s:
        t = s.get(Tenant, me.tenant_id)
        c = create_customer(s, t, language="de", country="DE", timezone="Europe/Berlin")
        s.add(
            Contact(
                tenant_id=t.id,
                external_id=f"K{c.id}",
                customer_id=c.id,
                email="ap@kunde.example",
                is_billing=True,
                name="Petra",
            )
        )
        inv = create_document(
            s,
            t,
            c,
            "1234.56",
            document_date=today - timedelta(days=40),
            due_date=today - timedelta(days=10),
        )
    return me, c.id, inv.number


def _setup(client, me):
    r = client.put("/v1/engagement/settings", headers=me.headers, json={"settings": SETTINGS})
    assert r.status_code == 200, r.text
    r = client.put("/v1/engagement/cycles/Standard", headers=me.headers, json={"cycle": CYCLE})
    assert r.status_code == 200, r.text
    return r.json()


def test_save_run_and_read_back(client, shop, api_engine):
    me, customer_id, number = shop
    saved = _setup(client, me)
    assert saved["version"] == 1 and saved["status"] == "live"
    again = client.put("/v1/engagement/cycles/Standard", headers=me.headers, json={"cycle": CYCLE})
    assert again.json()["version"] == 2
    listed = client.get("/v1/engagement/cycles", headers=me.headers).json()
    assert [c["name"] for c in listed] == ["Standard"]
    dry = client.post("/v1/engagement/runs", headers=me.headers, json={})
    assert dry.status_code == 200 and dry.json()["dry_run"]
    (email,) = dry.json()["emails"]
    assert email["customer_id"] == customer_id and email["invoices"] == [number]
    assert email["to"] == ["ap@kunde.example"] and email["language"] == "de"
    assert "1.234,56" in email["subject"] or email["reminder"] == "overdue"
    with transaction(api_engine, write=False) as s:
        assert (
            s.scalar(select(func.count()).select_from(Email).where(Email.tenant_id == me.tenant_id))
            == 0
        )
    real = client.post("/v1/engagement/runs", headers=me.headers, json={"dry_run": False})
    assert real.status_code == 200 and real.json()["written"] == 1
    twice = client.post("/v1/engagement/runs", headers=me.headers, json={"dry_run": False})
    assert twice.json()["written"] == 0
    fc = client.post("/v1/engagement/forecast", headers=me.headers, json={"days": 10}).json()
    # the run sent the 2nd "overdue" (its step 2 days ago overtook the 1st): with times 2,
    # nothing is left to send, not the 2nd again once the quiet days are over
    assert fc["total"] == 0 and fc["later"] == 0 and fc["tasks_total"] == 0
    today = date.fromisoformat(fc["from"])
    bt = client.post(
        "/v1/engagement/backtest",
        headers=me.headers,
        json={"from": (today - timedelta(days=20)).isoformat(), "to": today.isoformat()},
    ).json()
    assert bt["total"] == 2  # the invoice fell due 10 days ago: overdue #1 and #2


def test_invalid_cycles_list_every_problem(client, shop):
    me, *_ = shop
    bad = {
        **CYCLE,
        "invoice": "balanse > 0 USD",
        "reminders": [{"name": "x", "template": {"en": {"subject": "{{ nope }}", "text": "hi"}}}],
    }
    r = client.put("/v1/engagement/cycles/Standard", headers=me.headers, json={"cycle": bad})
    assert r.status_code == 422
    wheres = [e["where"] for e in r.json()["errors"]]
    assert wheres[0].startswith("invoice") and any(w.startswith("reminders[0]") for w in wheres)
    r = client.put("/v1/engagement/cycles/Other", headers=me.headers, json={"cycle": CYCLE})
    assert r.status_code == 422 and r.json()["where"] == "body.cycle.name"
    r = client.put(
        "/v1/engagement/cycles/Standard",
        headers=me.headers,
        json={"cycle": {**CYCLE, "reminders": []}},
    )
    assert r.status_code == 422
    r = client.post(
        "/v1/engagement/backtest",
        headers=me.headers,
        json={"from": "2026-02-01", "to": "2026-01-01"},
    )
    assert r.status_code == 422


def test_status_test_mode_and_delete(client, shop):
    me, *_ = shop
    client.put("/v1/engagement/cycles/Standard", headers=me.headers, json={"cycle": CYCLE})
    r = client.post(
        "/v1/engagement/cycles/Standard/status", headers=me.headers, json={"status": "test"}
    )
    assert r.status_code == 422 and "test_address" in r.json()["fix"]  # no test address yet
    _setup(client, me)
    r = client.post(
        "/v1/engagement/cycles/Standard/status", headers=me.headers, json={"status": "test"}
    )
    assert r.status_code == 200 and r.json()["status"] == "test"
    dry = client.post("/v1/engagement/runs", headers=me.headers, json={}).json()
    assert dry["emails"][0]["to"] == ["qa@shop.example"] and dry["emails"][0]["subject"].startswith(
        "[TEST]"
    )
    client.post("/v1/engagement/runs", headers=me.headers, json={"dry_run": False})
    gone = client.delete("/v1/engagement/cycles/Standard", headers=me.headers)
    assert gone.status_code == 422  # it has history: draft it instead
    client.put(
        "/v1/engagement/cycles/Spare",
        headers=me.headers,
        json={"cycle": {**CYCLE, "name": "Spare"}},
    )
    assert client.delete("/v1/engagement/cycles/Spare", headers=me.headers).status_code == 204
    assert client.get("/v1/engagement/cycles/Spare", headers=me.headers).status_code == 404


def test_permissions_and_isolation(client, shop, caller):
    me, *_ = shop
    _setup(client, me)
    sales = caller(UserRole.SALES, tenant_id=me.tenant_id)
    assert (
        client.put(
            "/v1/engagement/cycles/Standard", headers=sales.headers, json={"cycle": CYCLE}
        ).status_code
        == 403
    )
    assert client.post("/v1/engagement/runs", headers=sales.headers, json={}).status_code == 200
    assert (
        client.post(
            "/v1/engagement/runs", headers=sales.headers, json={"dry_run": False}
        ).status_code
        == 403
    )
    collector = caller(UserRole.COLLECTOR, tenant_id=me.tenant_id)
    assert (
        client.post(
            "/v1/engagement/runs", headers=collector.headers, json={"dry_run": False}
        ).status_code
        == 200
    )
    other = caller()
    assert client.get("/v1/engagement/cycles/Standard", headers=other.headers).status_code == 404
    assert client.get("/v1/engagement/cycles", headers=other.headers).json() == []
    assert (
        client.post("/v1/engagement/runs", headers=other.headers, json={}).json()["customers"] == 0
    )
