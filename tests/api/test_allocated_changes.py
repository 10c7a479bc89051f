"""What allocations forbid, over the API (issue 11, item 4), on both databases: PATCH of a
document or payment with allocations keeps its customer, its currency and no amount below
what is allocated, and POST /v1/allocations never applies more than a document's amount.
The refusals are the import's (one guard, arpolicy.ledger.allocations): a 422 naming the
body field, with the same message as the row error of ``arpolicy import``
(tests/ledger/test_allocated_changes.py), and nothing changes.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def post(client, who, path, body):
    r = client.post(path, headers=who.headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def paid(client, caller):
    """Tenant in EUR; invoice INV-1 of 1164.67 EUR to customer A, paid in full by A's P-1
    (the billing system reports a balance of 0.00)."""
    me = caller(base_currency="EUR")
    me.a, me.b = (
        post(client, me, "/v1/customers", {"external_id": c, "name": c})["id"] for c in ("A", "B")
    )
    me.doc = post(
        client,
        me,
        "/v1/documents",
        {
            "type": "invoice",
            "number": "INV-1",
            "customer_id": me.a,
            "amount": eur("1164.67"),
            "balance": eur("0.00"),
            "document_date": "2026-09-01",
            "due_date": "2026-10-01",
        },
    )
    me.pay = post(
        client,
        me,
        "/v1/payments",
        {
            "external_id": "P-1",
            "customer_id": me.a,
            "amount": eur("1164.67"),
            "received_on": "2026-10-05",
        },
    )
    post(
        client,
        me,
        "/v1/allocations",
        {"payment_id": me.pay["id"], "document_id": me.doc["id"], "amount": eur("1164.67")},
    )
    return me


def refused(client, me, path, body, where):
    before = client.get(path, headers=me.headers).json()
    r = client.patch(path, headers=me.headers, json=body)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["where"] == where and problem["errors"][0]["where"] == where
    assert client.get(path, headers=me.headers).json() == before  # nothing changed
    return problem


def test_a_paid_invoice_keeps_its_customer_and_amount(client, paid):
    path = f"/v1/documents/{paid.doc['id']}"
    moved = refused(client, paid, path, {"customer_id": paid.b}, "body.customer_id")
    assert moved["detail"] == (
        "body.customer_id: invoice INV-1 of customer A has 1164.67 EUR applied from payments; "
        "it cannot move to customer B"
    )
    assert moved["fix"].startswith("keep customer A")
    shrunk = refused(client, paid, path, {"amount": eur("1.00")}, "body.amount")
    assert shrunk["detail"] == (
        "body.amount: invoice INV-1 has 1164.67 EUR applied from payments; "
        "its amount cannot go below that"
    )
    assert "release the allocations first" in shrunk["fix"]
    both = refused(
        client, paid, path, {"customer_id": paid.b, "amount": eur("1.00")}, "body.customer_id"
    )
    assert "cannot move to customer B" in both["detail"]
    # what the allocations allow: the amount applied, more, another due date
    for body in (
        {"amount": eur("1164.67")},
        {"amount": eur("1200.00")},
        {"due_date": "2026-10-15"},
    ):
        r = client.patch(path, headers=paid.headers, json=body)
        assert r.status_code == 200, r.text


def test_a_payment_with_allocations_keeps_its_customer_and_amount(client, paid):
    path = f"/v1/payments/{paid.pay['id']}"
    moved = refused(client, paid, path, {"customer_id": paid.b}, "body.customer_id")
    assert "payment P-1 of customer A has 1164.67 EUR allocated to documents" in moved["detail"]
    refused(client, paid, path, {"amount": eur("1000.00")}, "body.amount")


def test_allocations_never_apply_more_than_the_document(client, paid):
    second = post(
        client,
        paid,
        "/v1/payments",
        {
            "external_id": "P-2",
            "customer_id": paid.a,
            "amount": eur("50.00"),
            "received_on": "2026-10-06",
        },
    )
    r = client.post(
        "/v1/allocations",
        headers=paid.headers,
        json={"payment_id": second["id"], "document_id": paid.doc["id"], "amount": eur("0.01")},
    )
    assert r.status_code == 422, r.text
    assert r.json()["where"] == "body.amount"
    assert r.json()["detail"] == (
        "body.amount: would bring what is applied to invoice INV-1 to 1164.68 EUR, "
        "more than its amount 1164.67 EUR"
    )
    listed = client.get(f"/v1/allocations?document_id={paid.doc['id']}", headers=paid.headers)
    assert len(listed.json()["items"]) == 1
