"""/v1/documents on both databases: conversion to the base currency like the import,
errors naming the body field, keys, updates, filters and 404 across tenants."""

from __future__ import annotations

import pytest

from arpolicy.models import AuditEvent, Document, OutboxMessage

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
D = "/v1/documents"


def money(amount: str, currency: str = "USD") -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def post(client, who, path, body, status=201):
    r = client.post(path, headers=who.headers, json=body)
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture
def me(client, caller):
    """A tenant (base USD) with customer C1, an EUR rate and the caller's key."""
    who = caller()
    who.customer = post(client, who, "/v1/customers", {"external_id": "C1", "name": "ACME"})["id"]
    post(
        client,
        who,
        "/v1/fx-rates",
        {"from_currency": "EUR", "to_currency": "USD", "valid_on": "2026-01-01", "rate": "1.0825"},
    )
    return who


def invoice(who, number="I1", **fields):
    return {
        "type": "invoice",
        "number": number,
        "customer_id": who.customer,
        "amount": money("1000.00"),
        "document_date": "2026-09-01",
        "due_date": "2026-10-01",
        **fields,
    }


def test_create_converts_like_the_import(client, me, stored, subscribe):
    subscribe(me.tenant_id)
    created = post(
        client, me, D, invoice(me, amount=money("812.40", "EUR"), balance=money("100.05", "EUR"))
    )
    assert created["amount"] == money("812.40", "EUR")
    assert created["base_amount"] == money("879.42")  # 812.40 x 1.0825 = 879.423
    assert created["base_balance"] == money("108.30")  # 100.05 x 1.0825 = 108.304...
    assert created["fx_rate"] == "1.0825" and created["fx_rate_on"] == "2026-01-01"
    row = stored(me.tenant_id, Document, id=created["id"])[0]
    assert (row.amount_minor, row.base_amount_minor, row.base_balance_minor) == (
        81240,
        87942,
        10830,
    )
    assert client.get(f"{D}/{created['id']}", headers=me.headers).json() == created
    assert [m.event_type for m in stored(me.tenant_id, OutboxMessage)] == ["document.created"]
    [event] = stored(me.tenant_id, AuditEvent, entity="document")
    assert event.action == "document.created" and event.after["base_amount_minor"] == 87942


def test_errors_name_the_body_field(client, me):
    cases = [
        (invoice(me, amount=money("1.001")), "body.amount"),
        (invoice(me, amount=money("-5.00")), "body.amount"),
        (invoice(me, balance=money("1000.01")), "body.balance"),
        (invoice(me, balance=money("1.00", "EUR")), "body.balance.currency"),
        (invoice(me, amount=money("5.00", "GBP")), "body.amount.currency"),  # no GBP rate
        (invoice(me, due_date="2026-08-01"), "body.due_date"),
        (invoice(me, customer_id=2_000_000_000), "body.customer_id"),
        (invoice(me, subscription_id=77), "body.subscription_id"),
        (invoice(me, type="receipt"), "body.type"),
        (invoice(me, document_date="2026-02-30"), "body.document_date"),
        (invoice(me, amount={"amount": 5.5, "currency": "USD"}), "body.amount.amount"),
        (invoice(me, amount=money("1e5")), "body.amount.amount"),
        (invoice(me, number=""), "body.number"),
        (invoice(me, number="x" * 101), "body.number"),
        (invoice(me, custom_fields={"po": "1"}), "body.custom_fields.po"),
        (invoice(me, base_amount=money("1.00")), "body.base_amount"),
        (invoice(me, fx_rate="2"), "body.fx_rate"),
    ]
    for body, where in cases:
        r = client.post(D, headers=me.headers, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["where"] == where, (body, r.json())
    assert client.get(D, headers=me.headers).json()["items"] == []


def test_amounts_too_large_to_store_are_422_not_500(client, me):
    post(
        client,
        me,
        "/v1/fx-rates",
        {
            "from_currency": "KWD",
            "to_currency": "USD",
            "valid_on": "2026-01-01",
            "rate": "999999999999999",
        },
    )
    body = invoice(me, amount=money("999999999999999.999", "KWD"))
    r = client.post(D, headers=me.headers, json=body)
    assert r.status_code == 422, r.text


def test_the_key_is_type_and_number(client, me):
    first = post(client, me, D, invoice(me))
    r = client.post(D, headers=me.headers, json=invoice(me, amount=money("5.00")))
    assert r.status_code == 409 and r.json()["errors"][0]["existing_id"] == first["id"]
    post(client, me, D, invoice(me, type="credit_note"))  # same number, other type
    for patch in ({"number": "I2"}, {"type": "debit_note"}):
        r = client.patch(f"{D}/{first['id']}", headers=me.headers, json=patch)
        assert r.status_code == 422 and r.json()["where"] == f"body.{next(iter(patch))}"


def test_update_converts_again_and_keeps_the_rest(client, me, stored, subscribe):
    subscribe(me.tenant_id)
    doc = post(
        client, me, D, invoice(me, amount=money("200.00", "EUR"), location="=A1", disputed=True)
    )
    r = client.patch(
        f"{D}/{doc['id']}", headers=me.headers, json={"balance": money("50.00", "EUR")}
    )
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["balance"] == money("50.00", "EUR") and after["base_balance"] == money("54.13")
    assert after["location"] == "=A1" and after["disputed"] is True
    r = client.patch(f"{D}/{doc['id']}", headers=me.headers, json={"amount": money("10.00")})
    assert r.status_code == 422 and r.json()["where"] == "body.balance"
    r = client.patch(
        f"{D}/{doc['id']}", headers=me.headers, json={"amount": money("10.00"), "balance": None}
    )
    assert r.status_code == 200 and r.json()["balance"] == money("10.00")
    assert r.json()["fx_rate"] == "1" and r.json()["fx_rate_on"] is None
    kinds = [m.event_type for m in stored(me.tenant_id, OutboxMessage)]
    assert kinds == ["document.created", "document.updated", "document.updated"]
    keys = {m.dedupe_key.split("@")[0] for m in stored(me.tenant_id, OutboxMessage)}
    assert len(keys) == 3
    r = client.patch(f"{D}/{doc['id']}", headers=me.headers, json={"customer_id": None})
    assert r.status_code == 422 and r.json()["where"] == "body.customer_id"


def test_subscription_reference_and_custom_fields(client, me):
    sub = post(
        client,
        me,
        "/v1/subscriptions",
        {"external_id": "S1", "customer_id": me.customer, "status": "active"},
    )
    post(
        client,
        me,
        "/v1/custom-fields",
        {"entity": "document", "key": "po", "label": "PO", "type": "string", "required": True},
    )
    r = client.post(D, headers=me.headers, json=invoice(me, subscription_id=sub["id"]))
    assert r.status_code == 422 and r.json()["where"] == "body.custom_fields.po"
    doc = post(client, me, D, invoice(me, subscription_id=sub["id"], custom_fields={"po": "PO-7"}))
    assert doc["subscription_id"] == sub["id"] and doc["custom_fields"] == {"po": "PO-7"}
    r = client.patch(f"{D}/{doc['id']}", headers=me.headers, json={"custom_fields": {"po": None}})
    assert r.status_code == 422 and r.json()["where"] == "body.custom_fields.po"


def test_filters_and_sorting(client, me):
    post(client, me, D, invoice(me, "I1", due_date="2026-10-01"))
    post(client, me, D, invoice(me, "I2", balance=money("0.00"), due_date="2026-11-01"))
    post(client, me, D, invoice(me, "I3", due_date="2026-12-01", amount=money("10.00", "EUR")))
    post(client, me, D, invoice(me, "C9", type="credit_note", due_date="2026-09-01"))

    def numbers(**params):
        r = client.get(D, headers=me.headers, params=params)
        assert r.status_code == 200, r.text
        return [d["number"] for d in r.json()["items"]]

    assert numbers(open="true") == ["I1", "I3", "C9"]
    assert numbers(open="false") == ["I2"]
    assert numbers(type="credit_note") == ["C9"]
    assert numbers(currency="EUR") == ["I3"]
    assert numbers(due_date_from="2026-10-01", due_date_to="2026-11-01") == ["I1", "I2"]
    assert numbers(sort="-due_date") == ["I3", "I2", "I1", "C9"]
    assert numbers(sort="base_amount", q="i") == ["I3", "I1", "I2"]
    assert numbers(customer_id=me.customer, number="I2") == ["I2"]
    pages, cursor = [], None
    while True:
        params = {"limit": 3, "sort": "-due_date", **({"cursor": cursor} if cursor else {})}
        page = client.get(D, headers=me.headers, params=params).json()
        pages.append([d["number"] for d in page["items"]])
        if (cursor := page["next_cursor"]) is None:
            break
    assert pages == [["I3", "I2", "I1"], ["C9"]]
    for params in ({"due_date_from": "0001-01-01"}, {"type": "x"}, {"open": "maybe"}):
        assert client.get(D, headers=me.headers, params=params).status_code == 422


def test_another_tenants_document_is_404(client, caller, me):
    other = caller()
    mine = post(client, me, D, invoice(me))["id"]
    for r in (
        client.get(f"{D}/{mine}", headers=other.headers),
        client.patch(f"{D}/{mine}", headers=other.headers, json={"disputed": True}),
    ):
        assert r.status_code == 404
    assert client.get(D, headers=other.headers).json()["items"] == []
    body = {**invoice(me), "customer_id": me.customer}
    r = client.post(D, headers=other.headers, json=body)
    assert r.status_code == 422 and r.json()["where"] == "body.customer_id"
