"""/v1/payments and /v1/allocations on both databases: the unallocated part the server
keeps, allocation checks of the import, keys and 404 across tenants."""

from __future__ import annotations

import pytest

from arpolicy.models import AuditEvent, OutboxMessage, Payment

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
P, A = "/v1/payments", "/v1/allocations"


def money(amount: str, currency: str = "USD") -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def post(client, who, path, body, status=201):
    r = client.post(path, headers=who.headers, json=body)
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture
def me(client, caller):
    who = caller()
    who.customer = post(client, who, "/v1/customers", {"external_id": "C1", "name": "ACME"})["id"]
    doc = {"customer_id": who.customer, "document_date": "2026-09-01", "due_date": "2026-10-01"}
    who.inv = post(
        client,
        who,
        "/v1/documents",
        {**doc, "type": "invoice", "number": "I1", "amount": money("500.00")},
    )["id"]
    who.eur = post(
        client,
        who,
        "/v1/documents",
        {**doc, "type": "invoice", "number": "I2", "amount": money("90.00", "EUR")},
        status=422,
    )  # no EUR rate yet
    post(
        client,
        who,
        "/v1/fx-rates",
        {"from_currency": "EUR", "to_currency": "USD", "valid_on": "2026-01-01", "rate": "1.2"},
    )
    who.eur = post(
        client,
        who,
        "/v1/documents",
        {**doc, "type": "invoice", "number": "I2", "amount": money("90.00", "EUR")},
    )["id"]
    return who


def payment(who, external_id="P1", amount=None, **fields):
    return {
        "external_id": external_id,
        "customer_id": who.customer,
        "amount": amount or money("300.00"),
        "received_on": "2026-11-02",
        **fields,
    }


def test_payment_create_read_update(client, me, stored, subscribe):
    subscribe(me.tenant_id, ("payment.created",))
    created = post(client, me, P, payment(me, method="bank_transfer", reference="=WIRE"))
    assert created["unallocated"] == money("300.00") and created["base_amount"] == money("300.00")
    assert created["method"] == "bank_transfer" and created["reference"] == "=WIRE"
    assert client.get(f"{P}/{created['id']}", headers=me.headers).json() == created
    r = client.patch(f"{P}/{created['id']}", headers=me.headers, json={"amount": money("350.00")})
    assert r.status_code == 200 and r.json()["unallocated"] == money("350.00")
    eur = post(client, me, P, payment(me, "P2", money("10.00", "EUR")))
    assert eur["base_amount"] == money("12.00") and eur["fx_rate"] == "1.2"
    assert [m.event_type for m in stored(me.tenant_id, OutboxMessage)] == ["payment.created"] * 2
    assert [e.action for e in stored(me.tenant_id, AuditEvent, entity="payment")] == [
        "payment.created",
        "payment.updated",
        "payment.created",
    ]
    r = client.post(P, headers=me.headers, json=payment(me))
    assert r.status_code == 409 and r.json()["errors"][0]["existing_id"] == created["id"]
    r = client.post(P, headers=me.headers, json=payment(me, "P3", method="barter"))
    assert r.status_code == 422 and r.json()["where"] == "body.method"
    r = client.post(P, headers=me.headers, json=payment(me, "P3", unallocated=money("1.00")))
    assert r.status_code == 422 and r.json()["where"] == "body.unallocated"


def test_allocations_keep_the_unallocated_part(client, me, stored):
    pay = post(client, me, P, payment(me))
    alloc = post(
        client, me, A, {"payment_id": pay["id"], "document_id": me.inv, "amount": money("120.00")}
    )
    assert alloc["amount"] == money("120.00") and alloc["allocated_on"] == "2026-11-02"
    got = client.get(f"{P}/{pay['id']}", headers=me.headers).json()
    assert got["unallocated"] == money("180.00") and got["base_unallocated"] == money("180.00")
    r = client.post(
        A,
        headers=me.headers,
        json={"payment_id": pay["id"], "document_id": me.inv, "amount": money("1.00")},
    )
    assert r.status_code == 409 and r.json()["errors"][0]["existing_id"] == alloc["id"]
    r = client.patch(
        f"{A}/{alloc['id']}",
        headers=me.headers,
        json={"amount": money("300.00"), "allocated_on": "2026-11-05"},
    )
    assert r.status_code == 200 and r.json()["allocated_on"] == "2026-11-05"
    assert stored(me.tenant_id, Payment, id=pay["id"])[0].unallocated_minor == 0
    r = client.patch(f"{A}/{alloc['id']}", headers=me.headers, json={"amount": money("300.01")})
    assert r.status_code == 422 and r.json()["where"] == "body.amount"
    r = client.patch(f"{P}/{pay['id']}", headers=me.headers, json={"amount": money("299.99")})
    assert r.status_code == 422 and r.json()["where"] == "body.amount"
    r = client.patch(f"{A}/{alloc['id']}", headers=me.headers, json={"document_id": me.eur})
    assert r.status_code == 422 and r.json()["where"] == "body.document_id"
    listed = client.get(A, headers=me.headers, params={"payment_id": pay["id"]}).json()["items"]
    assert [a["id"] for a in listed] == [alloc["id"]] and listed[0]["amount"] == money("300.00")
    assert client.get(f"{A}/{alloc['id']}", headers=me.headers).json() == listed[0]
    assert [e.action for e in stored(me.tenant_id, AuditEvent, entity="allocation")] == [
        "allocation.created",
        "allocation.updated",
    ]


def test_allocation_errors(client, me):
    pay = post(client, me, P, payment(me))
    cases = [
        ({"document_id": me.eur, "amount": money("1.00", "EUR")}, "body.amount.currency"),
        ({"document_id": me.inv, "amount": money("0.00")}, "body.amount"),
        ({"document_id": me.inv, "amount": money("300.01")}, "body.amount"),
        ({"document_id": 2_000_000_000, "amount": money("1.00")}, "body.document_id"),
        (
            {"document_id": me.inv, "amount": money("1.00"), "payment_id": 2_000_000_000},
            "body.payment_id",
        ),
    ]
    for fields, where in cases:
        r = client.post(A, headers=me.headers, json={"payment_id": pay["id"], **fields})
        assert r.status_code == 422, (fields, r.text)
        assert r.json()["where"] == where, (fields, r.json())


def test_lists_and_tenants(client, caller, me):
    post(client, me, P, payment(me, "P1"))
    p2 = post(client, me, P, payment(me, "P2", money("5.00"), received_on="2026-10-01"))
    post(client, me, A, {"payment_id": p2["id"], "document_id": me.inv, "amount": money("5.00")})

    def ids(**params):
        r = client.get(P, headers=me.headers, params=params)
        assert r.status_code == 200, r.text
        return [p["external_id"] for p in r.json()["items"]]

    assert ids(unallocated="true") == ["P1"] and ids(unallocated="false") == ["P2"]
    assert ids(received_to="2026-10-31") == ["P2"] and ids(sort="-received_on") == ["P1", "P2"]
    assert ids(external_id="P2", customer_id=me.customer) == ["P2"]
    other = caller()
    assert client.get(f"{P}/{p2['id']}", headers=other.headers).status_code == 404
    assert client.get(P, headers=other.headers).json()["items"] == []
    alloc = client.get(A, headers=me.headers).json()["items"][0]["id"]
    assert client.get(f"{A}/{alloc}", headers=other.headers).status_code == 404
    r = client.patch(f"{A}/{alloc}", headers=other.headers, json={"amount": money("1.00")})
    assert r.status_code == 404
    assert (
        client.get(A, headers=other.headers, params={"payment_id": p2["id"]}).json()["items"] == []
    )
