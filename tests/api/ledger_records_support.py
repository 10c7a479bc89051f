"""What the ledger-record tests share: a money body, posting through the API, and ``me``
(a caller with a customer and an invoice of its own)."""

from __future__ import annotations

import pytest


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
    who.doc = post(
        client,
        who,
        "/v1/documents",
        {
            "type": "invoice",
            "number": "I1",
            "customer_id": who.customer,
            "amount": money("100.00"),
            "document_date": "2026-10-01",
            "due_date": "2026-11-01",
        },
    )["id"]
    return who
