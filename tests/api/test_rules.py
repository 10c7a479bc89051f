"""The rule language over HTTP: fields, validation, preview with an explanation."""

from __future__ import annotations

from datetime import date

import pytest

from arpolicy.kit.db import transaction
from arpolicy.models import Tenant
from tests.fixtures.factories import create_customer, create_document, create_rate

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def ledger(api_engine, caller):
    me = caller()
    with transaction(api_engine) as s:
        t = s.get(Tenant, me.tenant_id)
        de = create_customer(s, t, country="DE", language="de")
        us = create_customer(s, t, country="US")
        old = create_document(s, t, de, "812.40", due_date=date(2026, 9, 1))
        new = create_document(s, t, us, "100.00", due_date=date(2026, 12, 20))
        ids = {"de": de.id, "us": us.id, "old": old.id, "new": new.id}
    return me, ids


def test_validate_answers_problems_with_where_and_fix(client, caller):
    me = caller()
    r = client.post(
        "/v1/rules/validate", headers=me.headers, json={"rule": "balance > 500 USD and not disputd"}
    )
    body = r.json()
    assert r.status_code == 200 and body["valid"] is False
    assert (
        body["problems"][0]["fix"] == "did you mean disputed?"
        and body["problems"][0]["column"] == 27
    )
    ok = client.post(
        "/v1/rules/validate",
        headers=me.headers,
        json={"rule": "balance > 500 USD and not disputed"},
    ).json()
    assert ok["valid"] and ok["text"] == "balance > 500 USD and not disputed"
    again = client.post("/v1/rules/validate", headers=me.headers, json={"rule": ok["json"]}).json()
    assert again["text"] == ok["text"]


def test_fields_per_level(client, caller):
    me = caller()
    names = {
        f["name"]
        for f in client.get(
            "/v1/rules/fields", headers=me.headers, params={"level": "customer"}
        ).json()
    }
    assert {"outstanding", "finance_owner", "country"} <= names
    assert (
        client.get("/v1/rules/fields", headers=me.headers, params={"level": "owner"}).status_code
        == 422
    )


def test_preview_invoices_and_explain_one(client, ledger):
    me, ids = ledger
    r = client.post(
        "/v1/rules/preview",
        headers=me.headers,
        json={
            "rule": "balance > 500 USD and due_date < 30 days ago",
            "as_of": "2026-11-23",
            "explain_id": ids["old"],
        },
    )
    body = r.json()
    assert r.status_code == 200 and body["matches"] == 1 and body["ids"] == [ids["old"]]
    assert body["rule"]["as_of"] == "2026-11-23"
    assert (
        body["explanation"]["verdict"] == "yes"
        and "balance 812.40 USD > 500.00 USD: yes" in body["explanation"]["text"]
    )


def test_preview_customers(client, ledger):
    me, ids = ledger
    r = client.post(
        "/v1/rules/preview",
        headers=me.headers,
        json={
            "rule": "country includes (DE) and outstanding > 100 USD",
            "level": "customer",
            "as_of": "2026-11-23",
        },
    )
    assert r.status_code == 200 and r.json()["ids"] == [ids["de"]]


def test_preview_errors(client, ledger, caller):
    me, ids = ledger
    r = client.post("/v1/rules/preview", headers=me.headers, json={"rule": "balanse > 1 USD"})
    assert r.status_code == 422 and r.json()["errors"][0]["fix"].startswith("did you mean")
    other = caller()
    r = client.post(
        "/v1/rules/preview",
        headers=other.headers,
        json={"rule": "balance > 1 USD", "explain_id": ids["old"]},
    )
    assert r.status_code == 404 and r.json()["where"] == "body.explain_id"


def test_preview_compares_money_across_currencies_at_the_tenants_rate(client, api_engine, caller):
    """500 USD stands for its worth: an EUR invoice of 470.00 EUR (507.60 USD at 1.08) matches,
    the rate is recorded with the bound rule and shown in the explanation; a currency with no
    rate is a 422 that names the pair and how to add one."""
    me = caller()
    with transaction(api_engine) as s:
        t = s.get(Tenant, me.tenant_id)
        create_rate(s, t, "EUR", t.base_currency, date(2026, 1, 1), "1.08")
        c = create_customer(s, t, country="DE")
        eur = create_document(s, t, c, "470.00", currency="EUR", due_date=date(2026, 9, 1)).id
        create_document(s, t, c, "460.00", currency="EUR", due_date=date(2026, 9, 1))
        zero = create_document(s, t, c, "1.00", balance="0", currency="EUR").id
    assert t.base_currency == "USD"
    r = client.post(
        "/v1/rules/preview",
        headers=me.headers,
        json={"rule": "balance > 500 USD", "as_of": "2026-11-23", "explain_id": eur},
    )
    body = r.json()
    assert r.status_code == 200 and body["ids"] == [eur], body
    assert body["rule"]["rates"] == [
        {"from": "EUR", "to": "USD", "rate": "1.08", "valid_on": "2026-01-01"}
    ]
    assert body["explanation"]["text"] == (
        "balance 470.00 EUR = 507.60 USD at 1.08 on 2026-11-23 > 500.00 USD: yes"
    )
    r = client.post(
        "/v1/rules/preview", headers=me.headers, json={"rule": "balance = 0", "as_of": "2026-11-23"}
    )
    assert r.status_code == 200 and r.json()["ids"] == [zero]
    with transaction(api_engine) as s:
        t = s.get(Tenant, me.tenant_id)
        create_rate(s, t, "GBP", t.base_currency, date(2026, 12, 1), "1.27")  # from December
        create_document(s, t, c, "10.00", currency="GBP", document_date=date(2026, 12, 2))
    r = client.post(
        "/v1/rules/preview",
        headers=me.headers,
        json={"rule": "balance > 500 USD", "as_of": "2026-11-23"},
    )
    assert r.status_code == 422, r.json()
    assert "no GBP/USD exchange rate on or before 2026-11-23" in r.json()["detail"]
    assert "arpolicy import fx-rates" in r.json()["fix"]


def test_preview_a_decision_table_gives_each_outcome_its_records(client, ledger):
    """A decision table previews as what each rule decides (it used to be a 500)."""
    me, ids = ledger
    table = (
        'decide first\n when balance > 500 USD then "escalate"\n'
        ' when balance > 0 USD then "remind"\n otherwise "none"'
    )
    r = client.post(
        "/v1/rules/preview",
        headers=me.headers,
        json={"rule": table, "as_of": "2026-11-23", "explain_id": ids["new"]},
    )
    body = r.json()
    assert r.status_code == 200, body
    assert body["matches"] == 2 and body["ids"] == sorted([ids["old"], ids["new"]])
    assert body["outcomes"] == [
        {"rule": 1, "then": "escalate", "matches": 1, "ids": [ids["old"]]},
        {"rule": 2, "then": "remind", "matches": 1, "ids": [ids["new"]]},
        {"rule": None, "then": "none", "matches": None, "ids": []},
    ]
    assert body["explanation"]["tree"]["outcome"] == "remind"
