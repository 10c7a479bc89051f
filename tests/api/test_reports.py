"""/v1/reports on both databases: the ageing report equals the CLI's (``arpolicy report
ageing --json``) and hand-checked values; the tenant's figures; permissions."""

from __future__ import annotations

from datetime import date

import pytest

from arpolicy.kit.db import transaction
from arpolicy.ledger.ageing import ageing_report
from arpolicy.models import Tenant

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def money(amount: str, currency: str = "USD") -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def post(client, who, path, body):
    r = client.post(path, headers=who.headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def ledger(client, caller):
    """Two customers: A owes 1000.00 (53 days overdue) and 99.99 (current) less a payment of
    300.00; B owes EUR 200.00 at 1.10 (110 days overdue) less a credit note of EUR 50.00."""
    me = caller()
    post(
        client,
        me,
        "/v1/fx-rates",
        {"from_currency": "EUR", "to_currency": "USD", "valid_on": "2026-01-01", "rate": "1.10"},
    )
    a = post(client, me, "/v1/customers", {"external_id": "A", "name": "Alpha"})["id"]
    b = post(client, me, "/v1/customers", {"external_id": "B", "name": "Beta"})["id"]
    docs = [
        (a, "invoice", "I1", money("1000.00"), "2026-10-01"),
        (a, "invoice", "I2", money("99.99"), "2026-12-01"),
        (b, "invoice", "I3", money("200.00", "EUR"), "2026-08-05"),
        (b, "credit_note", "CN1", money("50.00", "EUR"), "2026-08-01"),
    ]
    for cid, kind, number, amount, due in docs:
        post(
            client,
            me,
            "/v1/documents",
            {
                "type": kind,
                "number": number,
                "customer_id": cid,
                "amount": amount,
                "document_date": "2026-08-01",
                "due_date": due,
            },
        )
    post(
        client,
        me,
        "/v1/payments",
        {
            "external_id": "P1",
            "customer_id": a,
            "amount": money("300.00"),
            "received_on": "2026-11-20",
        },
    )
    return me


def test_ageing_equals_the_cli_and_hand_checked_values(client, api_engine, ledger):
    r = client.get("/v1/reports/ageing", headers=ledger.headers)
    assert r.status_code == 200, r.text
    report = r.json()
    with transaction(api_engine, write=False) as s:
        tenant = s.get(Tenant, ledger.tenant_id)
        assert report == ageing_report(s, tenant, date(2026, 11, 23)).to_json()
    assert report["as_of"] == "2026-11-23" and report["currency"] == "USD"
    alpha, beta = report["customers"]
    assert alpha["name"] == "Alpha" and alpha["ageing"]["current"] == "99.99"
    assert alpha["ageing"]["31-60"] == "1000.00" and alpha["unaccounted_payment"] == "300.00"
    assert alpha["outstanding"] == "799.99"
    assert beta["ageing"]["91-120"] == "220.00" and beta["unutilised_credit"] == "55.00"
    assert beta["outstanding"] == "165.00"
    assert report["totals"]["total"] == "1319.99" and report["totals"]["outstanding"] == "964.99"
    top = client.get("/v1/reports/ageing", headers=ledger.headers, params={"limit": 1}).json()
    assert [c["name"] for c in top["customers"]] == ["Alpha"] and top["totals"] == report["totals"]
    earlier = client.get(
        "/v1/reports/ageing", headers=ledger.headers, params={"as_of": "2026-10-15"}
    ).json()
    assert earlier["customers"][0]["ageing"]["1-30"] == "1000.00"


def test_tenant_figures(client, ledger):
    r = client.get("/v1/reports/figures", headers=ledger.headers)
    assert r.status_code == 200, r.text
    base = r.json()["base"]
    assert (base["open_debits"], base["unutilised_credit"], base["unaccounted_payment"]) == (
        "1319.99",
        "55.00",
        "300.00",
    )
    assert base["outstanding"] == "964.99" and base["overdue"] == "1220.00"


def test_reports_need_reports_read_and_stay_in_the_tenant(client, caller, ledger):
    r = client.post(
        "/v1/keys", headers=ledger.headers, json={"name": "l", "scopes": ["ledger:read"]}
    )
    narrow = {"Authorization": f"Bearer {r.json()['key']}"}
    for path in ("/v1/reports/ageing", "/v1/reports/figures"):
        r = client.get(path, headers=narrow)
        assert r.status_code == 403 and "reports:read" in r.json()["detail"]
    other = caller()
    empty = client.get("/v1/reports/ageing", headers=other.headers).json()
    assert empty["customers"] == [] and empty["totals"]["total"] == "0.00"
    for params in ({"as_of": "1066-10-14"}, {"as_of": "x"}, {"limit": 0}):
        assert (
            client.get("/v1/reports/ageing", headers=ledger.headers, params=params).status_code
            == 422
        )
