"""The other ledger resources on both databases -- contacts, payment sources, subscriptions,
payment attempts, promises, disputes, orders, FX rates, custom field definitions: create,
read, update, list with a filter, 409 on a duplicate key, 404 across tenants, audit, and
who may write. The import's checks, with the body field they name, are in
test_ledger_records_checks.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from arpolicy.models import AuditEvent, OutboxMessage
from tests.api.ledger_records_support import me, money, post

__all__ = ["me"]  # the fixture of ledger_records_support.py

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@dataclass
class Case:
    path: str
    entity: str
    body: Any  # (customer id, document id) -> body
    patch: dict[str, Any]
    expect: dict[str, Any]  # fields of the read after the patch
    filters: dict[str, Any]


CASES = [
    Case(
        "/v1/contacts",
        "contact",
        lambda c, d: {"external_id": "K1", "customer_id": c, "email": "Ana@Example.COM"},
        {"is_billing": True, "name": "Ana"},
        {"email": "ana@example.com", "is_billing": True, "name": "Ana"},
        {"email": "ANA@example.com", "is_billing": "true"},
    ),
    Case(
        "/v1/payment-sources",
        "payment_source",
        lambda c, d: {"external_id": "S1", "customer_id": c, "kind": "card", "last4": "4242"},
        {"status": "expiring", "expiry_month": 12, "expiry_year": 2026},
        {"status": "expiring", "role": "none", "last4": "4242"},
        {"kind": "card", "status": "expiring"},
    ),
    Case(
        "/v1/subscriptions",
        "subscription",
        lambda c, d: {
            "external_id": "S1",
            "customer_id": c,
            "status": "active",
            "mrr": money("99.00"),
            "next_billing_on": "2026-12-01",
        },
        {"status": "non_renewing", "plan": "pro"},
        {"status": "non_renewing", "plan": "pro", "mrr": money("99.00"), "currency": "USD"},
        {"status": "non_renewing", "next_billing_from": "2026-12-01"},
    ),
    Case(
        "/v1/payment-attempts",
        "payment_attempt",
        lambda c, d: {
            "external_id": "A1",
            "customer_id": c,
            "document_id": d,
            "attempted_at": "2026-11-02T10:30:00+01:00",
            "status": "failure",
            "amount": money("50.00"),
        },
        {"dunning_status": "in_progress", "attempt_number": 2},
        {"attempted_at": "2026-11-02T09:30:00Z", "attempt_number": 2, "status": "failure"},
        {"status": "failure", "attempted_from": "2026-11-02T09:30:00Z"},
    ),
    Case(
        "/v1/promises",
        "promise",
        lambda c, d: {
            "external_id": "PR1",
            "customer_id": c,
            "document_id": d,
            "amount": money("80.00"),
            "promised_on": "2026-12-01",
            "note": "@call",
        },
        {"status": "kept"},
        {
            "status": "kept",
            "note": "@call",
            "amount": money("80.00"),
            "base_amount": money("80.00"),
        },
        {"status": "kept", "promised_from": "2026-12-01", "promised_to": "2026-12-01"},
    ),
    Case(
        "/v1/disputes",
        "dispute",
        lambda c, d: {
            "external_id": "D1",
            "customer_id": c,
            "document_id": d,
            "amount": money("20.00"),
            "opened_on": "2026-11-01",
            "reason": "damaged",
        },
        {"status": "resolved", "resolved_on": "2026-11-20"},
        {"status": "resolved", "resolved_on": "2026-11-20", "reason": "damaged"},
        {"status": "resolved", "document_id": "{d}"},
    ),
    Case(
        "/v1/orders",
        "order",
        lambda c, d: {
            "external_id": "O1",
            "customer_id": c,
            "amount": money("1500.00"),
            "status": "submitted",
            "ordered_on": "2026-11-20",
        },
        {"status": "on_hold", "expected_ship_on": "2026-12-01"},
        {"status": "on_hold", "amount": money("1500.00")},
        {"status": "on_hold", "currency": "USD", "ordered_to": "2026-11-20"},
    ),
    Case(
        "/v1/fx-rates",
        "fx_rate",
        lambda c, d: {
            "from_currency": "GBP",
            "to_currency": "USD",
            "valid_on": "2026-01-01",
            "rate": "1.2700",
        },
        {"rate": "1.28", "source": "ECB"},
        {"rate": "1.28", "source": "ECB", "from_currency": "GBP"},
        {"from_currency": "GBP", "valid_from": "2026-01-01"},
    ),
    Case(
        "/v1/custom-fields",
        "custom_field",
        lambda c, d: {
            "entity": "customer",
            "key": "tier",
            "label": "Tier",
            "type": "enum",
            "options": ["gold", "silver"],
        },
        {"options": ["gold", "silver", "bronze"], "required": True},
        {"options": ["gold", "silver", "bronze"], "required": True, "key": "tier"},
        {"entity": "customer", "type": "enum"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.entity)
def test_crud_keys_filters_and_tenants(client, caller, me, stored, case):
    body = case.body(me.customer, me.doc)
    created = post(client, me, case.path, body)
    rid = created["id"]
    assert client.get(f"{case.path}/{rid}", headers=me.headers).json() == created
    r = client.patch(f"{case.path}/{rid}", headers=me.headers, json=case.patch)
    assert r.status_code == 200, r.text
    after = r.json()
    assert {k: after[k] for k in case.expect} == case.expect
    filters = {k: str(v).replace("{d}", str(me.doc)) for k, v in case.filters.items()}
    listed = client.get(case.path, headers=me.headers, params=filters)
    assert listed.status_code == 200, listed.text
    assert [i["id"] for i in listed.json()["items"]] == [rid]
    dup = client.post(case.path, headers=me.headers, json=body)
    assert dup.status_code == 409 and dup.json()["errors"][0]["existing_id"] == rid
    events = stored(me.tenant_id, AuditEvent, entity=case.entity, entity_id=str(rid))
    assert [e.action for e in events] == [f"{case.entity}.created", f"{case.entity}.updated"]
    assert events[1].after and set(events[1].after) <= set(events[1].before)
    other = caller()
    assert client.get(f"{case.path}/{rid}", headers=other.headers).status_code == 404
    r = client.patch(f"{case.path}/{rid}", headers=other.headers, json=case.patch)
    assert r.status_code == 404
    assert client.get(case.path, headers=other.headers).json()["items"] == []
    key = next(iter(body))
    changed = (
        {key: "2027-01-01" if key == "valid_on" else "OTHER"}
        if key != "entity"
        else {"key": "other"}
    )
    r = client.patch(f"{case.path}/{rid}", headers=me.headers, json=changed)
    assert r.status_code == 422 and r.json()["where"] == f"body.{next(iter(changed))}"


def test_promise_and_dispute_events(client, me, stored, subscribe):
    subscribe(me.tenant_id, ("promise.created", "dispute.created"))
    for case in CASES[4:6]:
        post(client, me, case.path, case.body(me.customer, me.doc))
    assert [m.event_type for m in stored(me.tenant_id, OutboxMessage)] == [
        "promise.created",
        "dispute.created",
    ]


def test_collectors_write_but_agents_only_read(client, caller, me):
    from arpolicy.models import UserRole

    agent = caller(UserRole.AGENT, tenant_id=me.tenant_id)
    for case in CASES:
        assert client.get(case.path, headers=agent.headers).status_code == 200
        r = client.post(case.path, headers=agent.headers, json=case.body(me.customer, me.doc))
        assert r.status_code == 403 and "ledger:write" in r.json()["detail"]
    collector = caller(UserRole.COLLECTOR, tenant_id=me.tenant_id)
    post(client, collector, CASES[0].path, CASES[0].body(me.customer, me.doc))


def test_paging_by_an_instant_with_ties(client, me):
    """Instants written by the import compare with the cursor's on both databases."""
    at = [
        "2026-11-02T10:00:00Z",
        "2026-11-02T10:00:00Z",
        "2026-11-02T11:00:00+01:00",
        "2026-11-01T23:59:59.5Z",
    ]
    for i, when in enumerate(at):
        post(
            client,
            me,
            "/v1/payment-attempts",
            {
                "external_id": f"A{i}",
                "customer_id": me.customer,
                "attempted_at": when,
                "status": "failure",
                "amount": money("1.00"),
            },
        )
    for sort in ("attempted_at", "-attempted_at"):
        seen, cursor = [], None
        for _ in range(10):
            params = {"limit": 1, "sort": sort, **({"cursor": cursor} if cursor else {})}
            page = client.get("/v1/payment-attempts", headers=me.headers, params=params).json()
            seen += [a["external_id"] for a in page["items"]]
            if (cursor := page["next_cursor"]) is None:
                break
        expected = ["A3", "A0", "A1", "A2"] if sort == "attempted_at" else ["A2", "A1", "A0", "A3"]
        assert seen == expected, sort


def test_a_payment_source_remembers_the_card_it_replaced(client, me):
    """previous_last4 (the rule field card_same_as_last_update) follows every update that
    states the card: a PATCH of last4 records the digits it replaces; one without leaves it;
    a body may give it itself. Offline ways to pay (cash, cheque for check) are kinds."""
    path = "/v1/payment-sources"
    sid = post(
        client,
        me,
        path,
        {"external_id": "PS", "customer_id": me.customer, "kind": "card", "last4": "4242"},
    )["id"]

    def patch(body: dict[str, Any]) -> Any:
        r = client.patch(f"{path}/{sid}", headers=me.headers, json=body)
        assert r.status_code == 200, r.text
        return r.json()["previous_last4"]

    assert client.get(f"{path}/{sid}", headers=me.headers).json()["previous_last4"] is None
    assert patch({"last4": "1881"}) == "4242"  # a new card
    assert patch({"status": "expiring"}) == "4242"  # the card was not stated
    assert patch({"last4": "1881"}) == "1881"  # updated with the same card
    assert patch({"last4": "0005", "previous_last4": "4242"}) == "4242"  # as given
    cash = post(
        client,
        me,
        path,
        {"external_id": "OFF", "customer_id": me.customer, "kind": "cash", "role": "primary"},
    )
    assert cash["kind"] == "cash" and cash["previous_last4"] is None
