"""A document's balance follows from the allocations over the API too (issue 12, item 1):
``POST /v1/payments`` then ``POST /v1/allocations`` pays the invoice (its ``balance``), the
billing system's balance reads as ``reported_balance``, and ``PATCH /v1/allocations`` moves
the balance with it; on both databases."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def post(client, who, path, body):
    r = client.post(path, headers=who.headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_a_payment_allocated_over_the_api_pays_the_invoice(client, caller):
    me = caller(base_currency="EUR")
    cid = post(client, me, "/v1/customers", {"external_id": "A", "name": "A"})["id"]
    doc = post(
        client,
        me,
        "/v1/documents",
        {
            "type": "invoice",
            "number": "INV-1",
            "customer_id": cid,
            "amount": eur("2500.00"),
            "balance": eur("2500.00"),
            "document_date": "2026-09-01",
            "due_date": "2026-10-01",
        },
    )
    assert (doc["balance"], doc["reported_balance"]) == (eur("2500.00"), eur("2500.00"))
    pay = post(
        client,
        me,
        "/v1/payments",
        {
            "external_id": "P-1",
            "customer_id": cid,
            "amount": eur("2500.00"),
            "received_on": "2026-10-05",
        },
    )
    path = f"/v1/documents/{doc['id']}"
    assert client.get(path, headers=me.headers).json()["balance"] == eur("2500.00")
    a = post(
        client,
        me,
        "/v1/allocations",
        {"payment_id": pay["id"], "document_id": doc["id"], "amount": eur("1000.00")},
    )
    read = client.get(path, headers=me.headers).json()
    assert (read["balance"], read["base_balance"]) == (eur("1500.00"), eur("1500.00"))
    assert read["reported_balance"] == eur("2500.00")
    r = client.patch(
        f"/v1/allocations/{a['id']}", headers=me.headers, json={"amount": eur("2500.00")}
    )
    assert r.status_code == 200, r.text
    read = client.get(path, headers=me.headers).json()
    assert (read["balance"], read["reported_balance"]) == (eur("0.00"), eur("2500.00"))
    # the billing system's later report changes only the reported balance
    r = client.patch(
        path, headers=me.headers, json={"balance": eur("2500.00"), "due_date": "2026-10-15"}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["balance"], r.json()["reported_balance"]) == (eur("0.00"), eur("2500.00"))
