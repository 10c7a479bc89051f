"""/v1/customers on both databases: create, read with figures, update, list; the import
validation behind them; permissions on owners and credit exemption; 404 across tenants."""

from __future__ import annotations

import base64
import json

import pytest

from arpolicy.models import AuditEvent, Customer, OutboxMessage, UserRole
from tests.api.test_concurrency import server

__all__ = ["server"]  # the uvicorn fixture of test_concurrency.py

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
C = "/v1/customers"


def usd(amount: str, currency: str = "USD") -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def new_customer(client, who, external_id="C1", **fields):
    r = client.post(
        C, headers=who.headers, json={"external_id": external_id, "name": "ACME", **fields}
    )
    assert r.status_code == 201, r.text
    return r.json()


def post(client, who, path, body):
    r = client.post(path, headers=who.headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_create_read_update_and_audit(client, caller, stored, subscribe):
    me = caller()
    subscribe(me.tenant_id)
    created = new_customer(
        client, me, currency="USD", country="DE", net_term_days=30,
        billing_address={"city": "Berlin", "country": "DE"},
        reported_balance=usd("812.40"), name="=HYPERLINK(1)",
    )  # fmt: skip
    assert created["name"] == "=HYPERLINK(1)"  # stored as given, not formula-unescaped
    assert created["reported_balance"] == usd("812.40")
    assert created["billing_address"] == {"city": "Berlin", "country": "DE"}
    assert created["figures"]["base"]["outstanding"] == "0.00"
    cid = created["id"]
    got = client.get(f"{C}/{cid}", headers=me.headers).json()
    assert {k: v for k, v in got.items() if k != "figures"} == {
        k: v for k, v in created.items() if k != "figures"
    }
    r = client.patch(f"{C}/{cid}", headers=me.headers,
                     json={"segment": "smb", "billing_address": {"line1": "Unter den Linden 1"}})  # fmt: skip
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
    for field, value in (("tenant_id", 1), ("last_email_at", "2026-01-01T00:00:00Z"), ("id", 5),
                         ("figures", {})):  # fmt: skip
        r = client.patch(f"{C}/{cid}", headers=me.headers, json={field: value})
        assert r.status_code == 422 and r.json()["where"] == f"body.{field}", field


def test_import_validation_errors_name_the_body_field(client, caller):
    me = caller()
    post(client, me, "/v1/custom-fields",
         {"entity": "customer", "key": "tier", "label": "Tier", "type": "enum", "options": ["a", "b"]})  # fmt: skip
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


def test_owners_need_owners_write_and_exemption_credit_write(client, caller, stored, subscribe):
    admin = caller()
    subscribe(admin.tenant_id)
    collector = caller(UserRole.COLLECTOR, tenant_id=admin.tenant_id)
    supervisor = caller(UserRole.SUPERVISOR, tenant_id=admin.tenant_id)
    r = client.post(C, headers=collector.headers,
                    json={"external_id": "C1", "name": "A", "finance_owner_id": collector.user_id})  # fmt: skip
    assert r.status_code == 403 and "owners:write" in r.json()["detail"]
    assert r.json()["where"] == "body.finance_owner_id"
    r = client.post(C, headers=collector.headers,
                    json={"external_id": "C1", "name": "A", "credit_check_exempt": True})  # fmt: skip
    assert r.status_code == 403 and "credit:write" in r.json()["detail"]
    # the default value is no change; a supervisor may assign owners
    cid = new_customer(client, collector, credit_check_exempt=False)["id"]
    r = client.patch(
        f"{C}/{cid}", headers=collector.headers, json={"sales_owner_id": collector.user_id}
    )
    assert r.status_code == 403
    r = client.patch(
        f"{C}/{cid}", headers=supervisor.headers, json={"finance_owner_id": collector.user_id}
    )
    assert r.status_code == 200 and r.json()["finance_owner_id"] == collector.user_id
    r = client.patch(f"{C}/{cid}", headers=supervisor.headers, json={"credit_check_exempt": True})
    assert r.status_code == 403
    r = client.patch(f"{C}/{cid}", headers=admin.headers, json={"credit_check_exempt": True})
    assert r.status_code == 200 and r.json()["credit_check_exempt"] is True
    kinds = [m.event_type for m in stored(admin.tenant_id, OutboxMessage)]
    assert kinds == ["customer.created", "customer.updated", "customer.owner_changed",
                     "customer.updated"]  # fmt: skip
    r = client.patch(
        f"{C}/{cid}", headers=supervisor.headers, json={"finance_owner_id": 2_000_000_000}
    )
    assert r.status_code == 422 and r.json()["where"] == "body.finance_owner_id"


def test_another_tenants_customer_is_404_and_never_listed(client, caller):
    a, b = caller(), caller()
    theirs = new_customer(client, b, external_id="B1")["id"]
    new_customer(client, a, external_id="A1")
    for r in (
        client.get(f"{C}/{theirs}", headers=a.headers),
        client.get(f"{C}/{theirs}/figures", headers=a.headers),
        client.patch(f"{C}/{theirs}", headers=a.headers, json={"name": "x"}),
    ):
        assert r.status_code == 404, r.text
    assert [c["external_id"] for c in client.get(C, headers=a.headers).json()["items"]] == ["A1"]
    r = client.post(
        C, headers=a.headers, json={"external_id": "A2", "name": "x", "parent_id": theirs}
    )
    assert r.status_code == 422 and r.json()["where"] == "body.parent_id"
    # the same external id in another tenant is no conflict
    assert (
        client.post(C, headers=a.headers, json={"external_id": "B1", "name": "x"}).status_code
        == 201
    )
    assert stored_names(b, client) == ["ACME"]


def stored_names(who, client):
    return [c["name"] for c in client.get(C, headers=who.headers).json()["items"]]


def test_read_permissions(client, caller):
    me = caller()
    cid = new_customer(client, me)["id"]
    r = client.post("/v1/keys", headers=me.headers, json={"name": "ro", "scopes": ["ledger:read"]})
    narrow = {"Authorization": f"Bearer {r.json()['key']}"}
    assert client.get(f"{C}/{cid}", headers=narrow).json()["figures"] is None
    assert client.get(f"{C}/{cid}/figures", headers=narrow).status_code == 403
    r = client.post(C, headers=narrow, json={"external_id": "Z", "name": "Z"})
    assert r.status_code == 403 and "ledger:write" in r.json()["detail"]


def test_figures_after_documents_and_payments_through_the_api(client, caller):
    me = caller()
    cid = new_customer(client, me, currency="USD")["id"]
    doc = {"customer_id": cid, "document_date": "2026-09-01"}
    post(client, me, "/v1/documents", {**doc, "type": "invoice", "number": "I1",
                                       "amount": usd("1000.00"), "due_date": "2026-10-01"})  # fmt: skip
    post(client, me, "/v1/documents", {**doc, "type": "invoice", "number": "I2",
                                       "amount": usd("400.00"), "balance": usd("250.50"),
                                       "due_date": "2026-12-15"})  # fmt: skip
    post(client, me, "/v1/documents", {**doc, "type": "credit_note", "number": "CN1",
                                       "amount": usd("100.00"), "due_date": "2026-09-01"})  # fmt: skip
    post(client, me, "/v1/payments", {"external_id": "P1", "customer_id": cid,
                                      "amount": usd("300.00"), "received_on": "2026-11-02"})  # fmt: skip
    post(client, me, "/v1/promises", {"external_id": "PR1", "customer_id": cid,
                                      "amount": usd("120.00"), "promised_on": "2026-12-01"})  # fmt: skip
    figures = client.get(f"{C}/{cid}", headers=me.headers).json()["figures"]
    assert figures["as_of"] == "2026-11-23"
    base = figures["base"]
    assert {k: base[k] for k in ("currency", "open_debits", "unutilised_credit", "unaccounted_payment",
                                 "outstanding", "overdue", "net_overdue", "open_p2p")} == {
        "currency": "USD", "open_debits": "1250.50", "unutilised_credit": "100.00",
        "unaccounted_payment": "300.00", "outstanding": "850.50", "overdue": "1000.00",
        "net_overdue": "900.00", "open_p2p": "120.00",
    }  # fmt: skip
    assert base["ageing"] == {"current": "250.50", "1-30": "0.00", "31-60": "1000.00",
                              "61-90": "0.00", "91-120": "0.00", "over 120": "0.00"}  # fmt: skip
    assert figures["local"]["outstanding"] == "850.50" and figures["next_p2p_date"] == "2026-12-01"
    earlier = client.get(
        f"{C}/{cid}/figures", headers=me.headers, params={"as_of": "2026-10-15"}
    ).json()
    assert earlier["as_of"] == "2026-10-15" and earlier["base"]["ageing"]["1-30"] == "1000.00"
    listed = client.get(C, headers=me.headers, params={"figures": "true"}).json()["items"]
    assert listed[0]["figures"]["base"]["outstanding"] == "850.50"


def test_list_filters_sorting_and_cursors(client, caller):
    me = caller()
    for i, name in enumerate(["Delta", "alpha", "Charlie", "bravo", "Echo"]):
        new_customer(client, me, external_id=f"K{i}", name=name, segment="smb" if i % 2 else "ent")
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "sort": "-name", **({"cursor": cursor} if cursor else {})}
        page = client.get(C, headers=me.headers, params=params).json()
        seen += [c["name"] for c in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == 5
    reader = caller(tenant_id=me.tenant_id)  # a key of its own: stay under the rate limit
    for sort in ("-external_id", "id", "-id"):
        ids, cursor = [], None
        while True:
            params = {"limit": 2, "sort": sort, **({"cursor": cursor} if cursor else {})}
            r = client.get(C, headers=reader.headers, params=params)
            assert r.status_code == 200, (sort, r.text)
            ids += [c["id"] for c in r.json()["items"]]
            if (cursor := r.json()["next_cursor"]) is None:
                break
        assert len(ids) == len(set(ids)) == 5, sort
    got = client.get(C, headers=me.headers, params={"q": "ALP"}).json()["items"]
    assert [c["name"] for c in got] == ["alpha"]
    got = client.get(C, headers=me.headers, params={"segment": "smb", "sort": "external_id"}).json()
    assert [c["external_id"] for c in got["items"]] == ["K1", "K3"]
    assert client.get(C, headers=me.headers, params={"q": "%"}).json()["items"] == []
    forged = base64.urlsafe_b64encode(json.dumps([[1], "x", "name"]).encode()).decode().rstrip("=")
    for params in ({"cursor": forged, "sort": "name"}, {"cursor": "!!"}, {"sort": "secret"},
                   {"sort": "created_at"},
                   {"limit": 0}, {"limit": 501}, {"parent_id": 2**40}, {"q": "a\x00b"}):  # fmt: skip
        r = client.get(C, headers=me.headers, params=params)
        assert r.status_code == 422, (params, r.text)


@pytest.mark.parametrize("path", [f"{C}/0", f"{C}/-1", f"{C}/abc", f"{C}/99999999999999999999",
                                  f"{C}/1/figures?as_of=0001-01-01", f"{C}/1?as_of=2026-13-01"])  # fmt: skip
def test_bad_ids_and_dates_are_422_never_500(client, caller, path):
    r = client.get(path, headers=caller().headers)
    assert r.status_code == 422, r.text


def test_stored_row_is_the_import_row(client, caller, stored):
    """A PATCH re-imports the stored row: every field survives an unrelated change."""
    me = caller()
    parent = new_customer(client, me, external_id="P")["id"]
    full = {"country": "FR", "language": "fr", "currency": "EUR", "locale": "fr_FR",
            "region": "EMEA", "timezone": "Europe/Paris", "segment": "ent", "customer_group": "g",
            "parent_id": parent, "net_term_days": 45, "auto_collection": True,
            "billing_address": {"line1": "1 rue", "postal_code": "75001", "country": "FR"},
            "reported_balance": usd("-5.00", "EUR")}  # fmt: skip
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
