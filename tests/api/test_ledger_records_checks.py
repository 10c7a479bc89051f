"""The import's checks behind the ledger resources' POSTs, on both databases: each refused
body is a 422 naming the body field at fault (a document of another customer, a zero
promise, a dispute resolved before it opened, an instant without a zone, a currency other
than the record's, a rate of zero, a custom field's options...)."""

from __future__ import annotations

import pytest

from tests.api.ledger_records_support import me, money, post

__all__ = ["me"]  # the fixture of ledger_records_support.py

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_checks_of_the_import_name_the_body_field(client, caller, me):
    other_customer = post(client, me, "/v1/customers", {"external_id": "C2", "name": "B"})["id"]
    c, d = me.customer, me.doc
    cases = [
        (
            "/v1/promises",
            {
                "external_id": "X",
                "customer_id": other_customer,
                "document_id": d,
                "amount": money("1.00"),
                "promised_on": "2026-12-01",
            },
            "body.document_id",
        ),
        (
            "/v1/promises",
            {
                "external_id": "X",
                "customer_id": c,
                "amount": money("0.00"),
                "promised_on": "2026-12-01",
            },
            "body.amount",
        ),
        (
            "/v1/disputes",
            {
                "external_id": "X",
                "customer_id": c,
                "amount": money("1.00"),
                "opened_on": "2026-11-02",
                "resolved_on": "2026-11-01",
            },
            "body.resolved_on",
        ),
        (
            "/v1/payment-attempts",
            {
                "external_id": "X",
                "customer_id": c,
                "status": "success",
                "attempted_at": "2026-11-02T10:00:00",
                "amount": money("1.00"),
            },
            "body.attempted_at",
        ),
        (
            "/v1/payment-attempts",
            {
                "external_id": "X",
                "customer_id": c,
                "status": "success",
                "attempted_at": "0001-01-01T00:00:00+01:00",
                "amount": money("1.00"),
            },
            "body.attempted_at",
        ),
        (
            "/v1/subscriptions",
            {
                "external_id": "X",
                "customer_id": c,
                "status": "active",
                "currency": "EUR",
                "mrr": money("1.00"),
            },
            "body.mrr.currency",
        ),
        (
            "/v1/orders",
            {
                "external_id": "X",
                "customer_id": c,
                "amount": money("-1.00"),
                "status": "draft",
                "ordered_on": "2026-11-01",
            },
            "body.amount",
        ),
        (
            "/v1/fx-rates",
            {"from_currency": "USD", "to_currency": "USD", "valid_on": "2026-01-01", "rate": "1"},
            "body.to_currency",
        ),
        (
            "/v1/fx-rates",
            {"from_currency": "EUR", "to_currency": "USD", "valid_on": "2026-01-01", "rate": "0"},
            "body.rate",
        ),
        (
            "/v1/custom-fields",
            {"entity": "customer", "key": "t", "label": "T", "type": "enum"},
            "body.options",
        ),
        (
            "/v1/custom-fields",
            {"entity": "customer", "key": "T", "label": "T", "type": "string"},
            "body.key",
        ),
        (
            "/v1/custom-fields",
            {"entity": "customer", "key": "t", "label": "T", "type": "enum", "options": ["a|b"]},
            "body.options.0",
        ),
        ("/v1/contacts", {"external_id": "X", "customer_id": c, "email": "not@mail"}, "body.email"),
        (
            "/v1/payment-sources",
            {"external_id": "X", "customer_id": c, "kind": "card", "last4": "42"},
            "body.last4",
        ),
        (
            "/v1/customers",
            {
                "external_id": "X",
                "name": "X",
                "reported_balance": money("999999999999999.9999", "CLF"),
            },
            "body.reported_balance",
        ),
    ]
    for path, body, where in cases:
        r = client.post(path, headers=me.headers, json=body)
        assert r.status_code == 422, (path, body, r.text)
        assert r.json()["where"] == where, (path, body, r.json())
