"""/v1/customers on both databases: create, read, update and their audit and webhooks; the
import validation behind them; custom fields; concurrent creates of one key. Permissions
and 404 across tenants are in test_customers_access.py, figures and the list in
test_customers_list.py."""

from __future__ import annotations

import pytest

from arpolicy.models import AuditEvent, Customer, OutboxMessage
from tests.api.customers_support import C, new_customer, post, usd
from tests.api.test_concurrency import server

__all__ = ["server"]  # the uvicorn fixture of test_concurrency.py

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_create_read_update_and_audit(client, caller, stored, subscribe):
    me = caller()
    subscribe(me.tenant_id)
    created = new_customer(
        client,
        me,
        currency="USD",
        country="DE",
        net_term_days=30,
        billing_address={"city": "Berlin", "country": "DE"},
        reported_balance=usd("812.40"),
        name="=HYPERLINK(1)",
    )
    assert created["name"] == "=HYPERLINK(1)"  # stored as given, not formula-unescaped
    assert created["reported_balance"] == usd("812.40")
    assert created["billing_address"] == {"city": "Berlin", "country": "DE"}
    assert created["figures"]["base"]["outstanding"] == "0.00"
    cid = created["id"]
    got = client.get(f"{C}/{cid}", headers=me.headers).json()
    assert {k: v for k, v in got.items() if k != "figures"} == {
        k: v for k, v in created.items() if k != "figures"
    }
    r = client.patch(
        f"{C}/{cid}",
        headers=me.headers,
        json={"segment": "smb", "billing_address": {"line1": "Unter den Linden 1"}},
    )
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["segment"] == "smb" and after["net_term_days"] == 30
    assert after["billing_address"] == {
        "city": "Berlin",
        "country": "DE",
        "line1": "Unter den Linden 1",
    }
    assert after["name"] == "=HYPERLINK(1)" and after["reported_balance"] == usd("812.40")
    events = stored(me.tenant_id, AuditEvent, entity="customer", entity_id=str(cid))
    assert [e.action for e in events] == ["customer.created", "customer.updated"]
    assert events[1].before == {
        "segment": None,
        "billing_address": {"city": "Berlin", "country": "DE"},
    }
    assert events[1].after["segment"] == "smb"
    outbox = stored(me.tenant_id, OutboxMessage)
    assert [m.event_type for m in outbox] == ["customer.created", "customer.updated"]
    assert outbox[0].payload["data"]["external_id"] == "C1"
    assert outbox[0].dedupe_key.startswith(f"customer.created:{cid}@")


def test_a_patch_that_changes_nothing_writes_no_event(client, caller, stored):
    me = caller()
    cid = new_customer(client, me, segment="smb")["id"]
    assert (
        client.patch(f"{C}/{cid}", headers=me.headers, json={"segment": "smb"}).status_code == 200
    )
    assert client.patch(f"{C}/{cid}", headers=me.headers, json={}).status_code == 200
    assert [e.action for e in stored(me.tenant_id, AuditEvent, entity="customer")] == [
        "customer.created"
    ]


def test_duplicate_external_id_is_409_pointing_at_the_record(client, caller):
    me = caller()
    cid = new_customer(client, me)["id"]
    r = client.post(C, headers=me.headers, json={"external_id": "C1", "name": "Other"})
    assert r.status_code == 409
    body = r.json()
    assert body["where"] == "body.external_id" and f"{C}/{cid}" in body["fix"]
    assert body["errors"][0]["existing_id"] == cid


def test_the_key_cannot_change_and_server_fields_cannot_be_set(client, caller):
    me = caller()
    cid = new_customer(client, me)["id"]
    r = client.patch(f"{C}/{cid}", headers=me.headers, json={"external_id": "C2"})
    assert r.status_code == 422 and r.json()["where"] == "body.external_id"
    assert (
        client.patch(f"{C}/{cid}", headers=me.headers, json={"external_id": "C1"}).status_code
        == 200
    )
    for field, value in (
        ("tenant_id", 1),
        ("last_email_at", "2026-01-01T00:00:00Z"),
        ("id", 5),
        ("figures", {}),
    ):
        r = client.patch(f"{C}/{cid}", headers=me.headers, json={field: value})
        assert r.status_code == 422 and r.json()["where"] == f"body.{field}", field


def test_import_validation_errors_name_the_body_field(client, caller):
    me = caller()
    post(
        client,
        me,
        "/v1/custom-fields",
        {
            "entity": "customer",
            "key": "tier",
            "label": "Tier",
            "type": "enum",
            "options": ["a", "b"],
        },
    )
    cases = [
        ({"timezone": "Mars/Olympus"}, "body.timezone"),
        ({"language": "xx"}, "body.language"),
        ({"custom_fields": {"tier": "c"}}, "body.custom_fields.tier"),
        ({"custom_fields": {"nope": "x"}}, "body.custom_fields.nope"),
        ({"reported_balance": usd("1.001")}, "body.reported_balance"),
        ({"currency": "EUR", "reported_balance": usd("1.00")}, "body.reported_balance.currency"),
        ({"parent_id": 2_000_000_000}, "body.parent_id"),
    ]
    for fields, where in cases:
        r = client.post(C, headers=me.headers, json={"external_id": "X", "name": "X", **fields})
        assert r.status_code == 422, (fields, r.text)
        body = r.json()
        assert body["where"] == where, (fields, body)
        assert body["fix"]
    assert client.get(C, headers=me.headers).json()["items"] == []


def test_custom_fields_round_trip_and_merge_key_by_key(client, caller):
    me = caller()
    for key, kind in (
        ("tier", "string"),
        ("seats", "number"),
        ("limit", "money"),
        ("vip", "boolean"),
    ):
        post(
            client,
            me,
            "/v1/custom-fields",
            {"entity": "customer", "key": key, "label": key, "type": kind},
        )
    cid = new_customer(
        client, me, custom_fields={"tier": "'=x", "seats": 12, "limit": usd("10.50"), "vip": True}
    )["id"]
    got = client.get(f"{C}/{cid}", headers=me.headers).json()["custom_fields"]
    assert got == {"tier": "'=x", "seats": "12", "limit": usd("10.50"), "vip": True}
    r = client.patch(
        f"{C}/{cid}", headers=me.headers, json={"custom_fields": {"seats": None, "vip": False}}
    )
    assert r.json()["custom_fields"] == {"tier": "'=x", "limit": usd("10.50"), "vip": False}


def test_stored_row_is_the_import_row(client, caller, stored):
    """A PATCH re-imports the stored row: every field survives an unrelated change."""
    me = caller()
    parent = new_customer(client, me, external_id="P")["id"]
    full = {
        "country": "FR",
        "language": "fr",
        "currency": "EUR",
        "locale": "fr_FR",
        "region": "EMEA",
        "timezone": "Europe/Paris",
        "segment": "ent",
        "customer_group": "g",
        "parent_id": parent,
        "net_term_days": 45,
        "auto_collection": True,
        "billing_address": {"line1": "1 rue", "postal_code": "75001", "country": "FR"},
        "reported_balance": usd("-5.00", "EUR"),
    }
    cid = new_customer(client, me, external_id="K", **full)["id"]
    before = stored(me.tenant_id, Customer, id=cid)[0]
    r = client.patch(f"{C}/{cid}", headers=me.headers, json={"name": "Renamed"})
    assert r.status_code == 200
    after = stored(me.tenant_id, Customer, id=cid)[0]
    for column in [attr.key for attr in Customer.__mapper__.column_attrs]:
        if column not in ("name", "updated_at"):
            assert getattr(after, column) == getattr(before, column), column


def test_concurrent_creates_of_one_key_make_one_record_and_409s(server, api_engine, caller):
    """Without an Idempotency-Key, 20 POSTs of one external id at once: one 201, the rest
    409 pointing at it -- never a silent update of the record another request just made."""
    from tests.api.test_concurrency import CONCURRENT, at_once, count

    me = caller()
    results = at_once(server, C, me.headers, {"external_id": "RACE", "name": "Race"})
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] + [409] * (CONCURRENT - 1), [r.text[:200] for r in results]
    created = next(r.json()["id"] for r in results if r.status_code == 201)
    assert {r.json()["errors"][0]["existing_id"] for r in results if r.status_code == 409} == {
        created
    }
    where = (Customer.tenant_id == me.tenant_id) & (Customer.external_id == "RACE")
    assert count(api_engine, me.tenant_id, Customer, where) == 1
