"""POST /v1/imports/{kind} leaves the same audit trail as ``arpolicy import`` (both
databases): who (key and user), the records created and updated, each user's changed
fields; GET /v1/audit finds who made a user admin."""

from __future__ import annotations

import pytest

from arpolicy.models import ApiKey, AuditEvent, Customer, Document, User

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def upload(client, who, kind, content, name):
    files = {"file": (name, content, "text/csv")}
    r = client.post(f"/v1/imports/{kind}", headers=who.headers, files=files)
    assert r.status_code == 200, r.text
    return r.json()


def by(stored, tenant_id, model, key):
    return {getattr(x, key): x.id for x in stored(tenant_id, model)}


def test_an_uploaded_admin_is_audited_with_the_key_and_user(client, caller, stored):
    me = caller()
    upload(
        client, me, "users", b"email,name,role\nmallory@example.com,Mallory,collector\n", "u.csv"
    )
    upload(client, me, "users", b"email,name,role\nmallory@example.com,Mallory,admin\n", "up.csv")
    mallory = by(stored, me.tenant_id, User, "email")["mallory@example.com"]
    r = client.get(
        "/v1/audit", headers=me.headers, params={"entity": "user", "entity_id": str(mallory)}
    )
    assert r.status_code == 200, r.text
    found = r.json()["items"]
    assert [e["action"] for e in found] == ["user.updated", "user.created"]
    promoted = found[0]
    assert (promoted["before"], promoted["after"]) == ({"role": "collector"}, {"role": "admin"})
    (key,) = stored(me.tenant_id, ApiKey)
    (email,) = [u.email for u in stored(me.tenant_id, User, id=me.user_id)]
    assert promoted["actor"] == f"key:{key.prefix} ({email})"
    assert "import of users from up.csv" in promoted["reason"]
    assert promoted["request_id"]  # the request it came with


def test_an_upload_lists_the_customers_and_invoices_it_created_and_updated(client, caller, stored):
    me = caller()
    upload(
        client, me, "customers", b"external_id,name,currency\nC1,ACME,USD\nC2,Beta,USD\n", "c.csv"
    )
    upload(
        client, me, "customers", b"external_id,name,currency\nC2,Beta Inc,USD\nC3,G,USD\n", "d.csv"
    )
    invoices = (
        b"number,customer,currency,amount,document_date,due_date\n"
        b"I1,C1,USD,100.00,2026-10-01,2026-11-01\n"
    )
    upload(client, me, "invoices", invoices, "i.csv")
    customers = by(stored, me.tenant_id, Customer, "external_id")
    doc = by(stored, me.tenant_id, Document, "number")["I1"]
    summaries = stored(me.tenant_id, AuditEvent, action="import.completed")
    assert [e.after["ids"] for e in summaries] == [
        {"created": [[customers["C1"], "C1"], [customers["C2"], "C2"]], "updated": []},
        {"created": [[customers["C3"], "C3"]], "updated": [[customers["C2"], "C2"]]},
        {"created": [[doc, ["invoice", "I1"]]], "updated": []},
    ]
    assert {e.actor for e in summaries} == {summaries[0].actor} and summaries[0].actor.startswith(
        "key:"
    )
    assert [e.after["file"] for e in summaries] == ["c.csv", "d.csv", "i.csv"]
