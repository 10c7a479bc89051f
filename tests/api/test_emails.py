"""``POST /v1/inbound-email`` and the email, inbound, task and manual-email routes (issue 6),
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from arpolicy.api.context import scope_tenant
from arpolicy.kit.db import transaction
from arpolicy.models import (
    Contact,
    Customer,
    EmailMode,
    EmailStatus,
    EngagementTask,
    OutboxMessage,
    Tenant,
    UserRole,
)
from tests.api.conftest import NOW
from tests.engagement.inbound_support import create_contact, create_email, postfix_dsn, reply
from tests.fixtures.factories import create_customer

RFC822 = {"Content-Type": "message/rfc822"}


@pytest.fixture
def shop(api_engine, caller):
    """An admin caller with a customer, two contacts, three emails and a task."""
    admin = caller()
    with transaction(api_engine) as s:
        scope_tenant(s, admin.tenant_id)
        t = s.get(Tenant, admin.tenant_id)
        acme = create_customer(s, t, external_id="ACME", name="Acme")
        beta = create_customer(s, t, external_id="BETA", name="Beta")
        create_contact(s, acme, "ann@acme.example")
        create_contact(s, acme, "ops@acme.example", is_billing=False)
        first = create_email(s, t, acme, "<r1@shop.example>", cycle="Standard")
        second = create_email(
            s,
            t,
            acme,
            "<r2@shop.example>",
            decided_at=NOW - timedelta(days=1),
            in_doubt=True,
            html_body="<p>Pay</p>",
            reason="14 days overdue",
        )
        create_email(
            s, t, beta, "<r3@shop.example>", status=EmailStatus.QUEUED, cycle="VIP", sent_at=None
        )
        task = EngagementTask(
            tenant_id=t.id,
            customer_id=beta.id,
            key="1:first:2:1",
            kind="no_address",
            cycle="Standard",
            reminder="first",
            detail="Beta has no billing contact with an address",
        )
        s.add(task)
        s.flush()
        ids = {
            "acme": acme.id,
            "beta": beta.id,
            "first": first.id,
            "second": second.id,
            "task": task.id,
        }
    return admin, ids


def _customer(api_engine, tenant_id, customer_id):
    with transaction(api_engine, write=False) as s:
        scope_tenant(s, tenant_id)
        found = s.get(Customer, customer_id)
        s.expunge_all()
        return found


def test_inbound_reply_posted_raw(client, api_engine, caller, shop, subscribe, stored):
    admin, ids = shop
    subscribe(admin.tenant_id)
    receiver = caller(tenant_id=admin.tenant_id, scopes=["mail:receive"])
    r = client.post(
        "/v1/inbound-email",
        headers={**receiver.headers, **RFC822},
        content=reply(in_reply_to="<r1@shop.example>"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["kind"], body["customer_id"], body["email_id"], body["matched_by"]) == (
        "reply",
        ids["acme"],
        ids["first"],
        "in_reply_to",
    )
    assert body["effects"] == ["email.replied", "customer.replied"] and not body["duplicate"]
    assert _customer(api_engine, admin.tenant_id, ids["acme"]).last_reply_at == NOW
    events = [m.event_type for m in stored(admin.tenant_id, OutboxMessage)]
    assert events == ["email.replied"]
    again = client.post(
        "/v1/inbound-email",
        headers={**receiver.headers, **RFC822},
        content=reply(in_reply_to="<r1@shop.example>"),
    )
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["inbound_email_id"] == body["inbound_email_id"]
    r = client.get(f"/v1/customers/{ids['acme']}/emails", headers=admin.headers)
    shown = r.json()
    assert shown["last_reply_at"] == "2026-11-23T12:00:00Z" and shown["last_email_at"] is None
    assert [e["id"] for e in shown["items"]] == [ids["second"], ids["first"]]  # newest first
    assert shown["items"][1]["replied_at"] == "2026-11-23T12:00:00Z"


@pytest.mark.parametrize("field", ["email", "body-mime"])
def test_inbound_form_fields_of_sendgrid_and_mailgun(client, shop, field, stored):
    admin, ids = shop
    raw = postfix_dsn("<r2@shop.example>").decode()
    r = client.post(
        "/v1/inbound-email",
        headers=admin.headers,
        data={field: raw, "to": "ar@shop.example", "subject": "x"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["kind"], r.json()["email_id"]) == ("bounce", ids["second"])
    ann = [c for c in stored(admin.tenant_id, Contact) if c.email == "ann@acme.example"]
    assert ann[0].bounced is True
    email = client.get(f"/v1/emails/{ids['second']}", headers=admin.headers).json()
    assert email["status"] == "bounced" and email["bounced_at"] == "2026-11-23T12:00:00Z"


def test_inbound_as_an_uploaded_file_and_as_text(client, shop):
    admin, _ = shop
    files = {"body-mime": ("message.eml", reply(sender="ann@acme.example"), "message/rfc822")}
    r = client.post("/v1/inbound-email", headers=admin.headers, files=files)
    assert r.status_code == 200 and r.json()["matched_by"] == "from_address", r.text
    r = client.post(
        "/v1/inbound-email",
        headers={**admin.headers, "Content-Type": "text/plain"},
        content=reply(message_id="<x@y.example>", sender="eve@y.example"),
    )
    assert r.status_code == 200 and r.json()["kind"] == "unmatched"
    listed = client.get("/v1/inbound-emails", headers=admin.headers, params={"kind": "unmatched"})
    assert [i["from_address"] for i in listed.json()["items"]] == ["eve@y.example"]


@pytest.mark.parametrize(
    "headers, kw, where",
    [
        (RFC822, {"content": b"not an email"}, "body"),
        (RFC822, {"content": b""}, "body"),
        ({"Content-Type": "application/json"}, {"content": b'{"a": 1}'}, "header.content-type"),
        ({}, {"data": {"text": "hello"}}, "body.email"),
    ],
)
def test_inbound_garbage_is_refused(client, shop, headers, kw, where):
    admin, _ = shop
    r = client.post("/v1/inbound-email", headers={**admin.headers, **headers}, **kw)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["where"] == where and r.json()["fix"]


def test_permissions(client, caller, shop):
    admin, ids = shop
    reader = caller(tenant_id=admin.tenant_id, scopes=["ledger:read"])
    receiver = caller(tenant_id=admin.tenant_id, scopes=["mail:receive"])
    collector = caller(UserRole.COLLECTOR, tenant_id=admin.tenant_id)
    sales = caller(UserRole.SALES, tenant_id=admin.tenant_id)
    raw = reply(in_reply_to="<r1@shop.example>")
    for who in (reader, collector, sales):
        r = client.post("/v1/inbound-email", headers={**who.headers, **RFC822}, content=raw)
        assert r.status_code == 403, r.text
    assert client.get("/v1/emails", headers=receiver.headers).status_code == 403
    assert client.get("/v1/emails", headers=reader.headers).status_code == 200
    done = f"/v1/tasks/{ids['task']}/done"
    assert client.post(done, headers=sales.headers).status_code == 403
    manual = f"/v1/customers/{ids['acme']}/manual-emails"
    assert client.post(manual, headers=reader.headers, json={"subject": "x"}).status_code == 403
    assert client.post(done, headers=collector.headers).status_code == 200


def test_another_tenants_objects_are_404(client, caller, shop):
    _, ids = shop
    other = caller()
    assert client.get(f"/v1/emails/{ids['first']}", headers=other.headers).status_code == 404
    r = client.get(f"/v1/customers/{ids['acme']}/emails", headers=other.headers)
    assert r.status_code == 404
    assert client.post(f"/v1/tasks/{ids['task']}/done", headers=other.headers).status_code == 404
    r = client.post(
        f"/v1/customers/{ids['acme']}/manual-emails",
        headers=other.headers,
        json={"subject": "Called them"},
    )
    assert r.status_code == 404
    for path in ("/v1/emails", "/v1/inbound-emails", "/v1/tasks"):
        assert client.get(path, headers=other.headers).json()["items"] == []
    r = client.post(
        "/v1/inbound-email",
        headers={**other.headers, **RFC822},
        content=reply(in_reply_to="<r1@shop.example>"),
    )
    assert r.json()["kind"] == "unmatched"


def test_list_emails_filters_and_pages(client, shop):
    admin, ids = shop
    h = admin.headers

    def listed(**params):
        r = client.get("/v1/emails", headers=h, params=params)
        assert r.status_code == 200, r.text
        return [e["id"] for e in r.json()["items"]]

    assert len(listed()) == 3 and listed() == sorted(listed(), reverse=True)
    assert listed(customer_id=ids["acme"]) == [ids["second"], ids["first"]]
    assert listed(status="queued") == listed(cycle="VIP") and len(listed(cycle="VIP")) == 1
    assert listed(in_doubt=True) == [ids["second"]] and listed(mode="manual") == []
    page = client.get("/v1/emails", headers=h, params={"limit": 2}).json()
    assert len(page["items"]) == 2 and "text_body" not in page["items"][0]
    rest = client.get("/v1/emails", headers=h, params={"limit": 2, "cursor": page["next_cursor"]})
    assert len(rest.json()["items"]) == 1 and rest.json()["next_cursor"] is None
    assert client.get("/v1/emails", headers=h, params={"status": "lost"}).status_code == 422
    detail = client.get(f"/v1/emails/{ids['second']}", headers=h).json()
    assert (detail["in_doubt"], detail["reason"], detail["html_body"], detail["text_body"]) == (
        True,
        "14 days overdue",
        "<p>Pay</p>",
        "Please pay.",
    )


def test_tasks_list_and_done(client, shop):
    admin, ids = shop
    r = client.get("/v1/tasks", headers=admin.headers, params={"status": "open"})
    assert [t["id"] for t in r.json()["items"]] == [ids["task"]]
    r = client.post(f"/v1/tasks/{ids['task']}/done", headers=admin.headers)
    assert r.status_code == 200 and r.json()["status"] == "done"
    again = client.post(f"/v1/tasks/{ids['task']}/done", headers=admin.headers)
    assert again.status_code == 200 and again.json()["status"] == "done"
    assert (
        client.get("/v1/tasks", headers=admin.headers, params={"status": "open"}).json()["items"]
        == []
    )
    audit = client.get("/v1/audit", headers=admin.headers, params={"action": "task.done"})
    assert len(audit.json()["items"]) == 1


def test_manual_email_is_recorded_and_moves_the_last_email_date(client, api_engine, shop):
    admin, ids = shop
    path = f"/v1/customers/{ids['acme']}/manual-emails"
    r = client.post(
        path,
        headers=admin.headers,
        json={
            "subject": "Called and emailed about INV-1",
            "note": "Promised Friday",
            "sent_at": "2026-11-23T09:30:00+01:00",
        },
    )
    assert r.status_code == 201, r.text
    email = r.json()
    assert (email["mode"], email["status"], email["to"], email["text_body"]) == (
        EmailMode.MANUAL.value,
        "sent",
        ["ann@acme.example"],
        "Promised Friday",
    )
    assert email["key"].startswith("manual:") and email["message_id"].endswith(".arpolicy>")
    assert email["sent_at"] == "2026-11-23T08:30:00Z" and email["from_address"].endswith(
        "@example.com"
    )
    customer = _customer(api_engine, admin.tenant_id, ids["acme"])
    assert customer.last_email_at.isoformat() == "2026-11-23T08:30:00+00:00"
    r = client.post(
        path,
        headers=admin.headers,
        json={"subject": "Older", "to": ["X@acme.example"], "sent_at": "2026-11-01T00:00:00Z"},
    )
    assert r.status_code == 201 and r.json()["to"] == ["x@acme.example"]
    customer = _customer(api_engine, admin.tenant_id, ids["acme"])
    assert customer.last_email_at.isoformat() == "2026-11-23T08:30:00+00:00"  # only forward
    listed = client.get("/v1/emails", headers=admin.headers, params={"mode": "manual"})
    assert len(listed.json()["items"]) == 2
    r = client.post(
        path, headers=admin.headers, json={"subject": "x", "sent_at": "2026-12-01T00:00:00Z"}
    )
    assert r.status_code == 422 and r.json()["where"] == "body.sent_at"
    r = client.post(path, headers=admin.headers, json={"subject": "x", "bcc": "no"})
    assert r.status_code == 422
