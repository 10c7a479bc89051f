"""An open dispute makes its document disputed, over the API (issue 11, item 5), on both
databases: POST /v1/disputes, and the document reads ``"disputed": true`` (its
``reported_disputed``, the billing system's flag, stays false), the list filter and a rule
``disputed`` find it, and an engagement run sends no reminder for it; PATCH of the dispute
to resolved lifts all of that.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from arpolicy.kit.db import transaction
from arpolicy.models import Contact, Tenant
from tests.fixtures.factories import create_customer, create_document

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CYCLE = {
    "name": "Standard",
    "status": "live",
    "priority": 10,
    "invoice": "balance > 0 USD",
    "reminders": [{"name": "overdue", "anchor": "due_date", "offset_days": 1, "template": "firm"}],
}
SETTINGS = {"from_address": "ar@shop.example", "test_address": "qa@shop.example"}


@pytest.fixture
def shop(client, api_engine, caller, clock):
    """Customer with a billing contact and an invoice of 1164.67 USD ten days overdue; a
    live cycle reminding every invoice with a balance."""
    me = caller()
    today = clock.now().date()
    with transaction(api_engine) as s:
        t = s.get(Tenant, me.tenant_id)
        c = create_customer(s, t, language="en", country="US")
        s.add(
            Contact(
                tenant_id=t.id,
                external_id=f"K{c.id}",
                customer_id=c.id,
                email="ap@customer.example",
                is_billing=True,
                name="Pat",
            )
        )
        inv = create_document(
            s,
            t,
            c,
            "1164.67",
            document_date=today - timedelta(days=40),
            due_date=today - timedelta(days=10),
        )
        me.customer, me.doc, me.number = c.id, inv.id, inv.number
    for path, body in (
        ("/v1/engagement/settings", {"settings": SETTINGS}),
        ("/v1/engagement/cycles/Standard", {"cycle": CYCLE}),
    ):
        r = client.put(path, headers=me.headers, json=body)
        assert r.status_code == 200, r.text
    return me


def seen(client, me) -> dict[str, object]:
    """What the API says about the invoice being disputed, and whether it is reminded."""
    get = client.get(f"/v1/documents/{me.doc}", headers=me.headers).json()
    listed = client.get("/v1/documents?disputed=true", headers=me.headers).json()["items"]
    rule = client.post("/v1/rules/preview", headers=me.headers, json={"rule": "disputed"})
    run = client.post("/v1/engagement/runs", headers=me.headers, json={})
    return {
        "read": (get["disputed"], get["reported_disputed"]),
        "listed": [d["id"] for d in listed],
        "rule": rule.json()["ids"],
        "reminded": [n for e in run.json()["emails"] for n in e["invoices"]],
    }


def test_an_open_dispute_disputes_the_invoice_until_resolved(client, shop):
    me = shop
    assert seen(client, me) == {
        "read": (False, False),
        "listed": [],
        "rule": [],
        "reminded": [me.number],
    }
    r = client.post(
        "/v1/disputes",
        headers=me.headers,
        json={
            "external_id": "D-1",
            "customer_id": me.customer,
            "document_id": me.doc,
            "amount": {"amount": "1164.67", "currency": "USD"},
            "opened_on": "2026-11-20",
        },
    )
    assert r.status_code == 201, r.text
    disputed = {"read": (True, False), "listed": [me.doc], "rule": [me.doc], "reminded": []}
    assert seen(client, me) == disputed
    # the billing system's flag is its own: setting it false leaves the dispute in force
    r = client.patch(f"/v1/documents/{me.doc}", headers=me.headers, json={"disputed": False})
    assert r.status_code == 200 and r.json()["disputed"] is True, r.text
    assert client.get("/v1/documents?disputed=false", headers=me.headers).json()["items"] == []
    dispute = client.get("/v1/disputes", headers=me.headers).json()["items"][0]["id"]
    r = client.patch(
        f"/v1/disputes/{dispute}",
        headers=me.headers,
        json={"status": "resolved", "resolved_on": "2026-11-22"},
    )
    assert r.status_code == 200, r.text
    assert seen(client, me) == {
        "read": (False, False),
        "listed": [],
        "rule": [],
        "reminded": [me.number],
    }
    r = client.patch(f"/v1/documents/{me.doc}", headers=me.headers, json={"disputed": True})
    assert r.json()["disputed"] is True and r.json()["reported_disputed"] is True
