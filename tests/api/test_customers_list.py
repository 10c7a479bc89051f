"""/v1/customers on both databases, reading many: a customer's figures after documents,
payments and promises made through the API; the list's filters, sorting and cursors."""

from __future__ import annotations

import base64
import json

import pytest

from tests.api.customers_support import C, new_customer, post, usd

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_figures_after_documents_and_payments_through_the_api(client, caller):
    me = caller()
    cid = new_customer(client, me, currency="USD")["id"]
    doc = {"customer_id": cid, "document_date": "2026-09-01"}
    post(
        client,
        me,
        "/v1/documents",
        {
            **doc,
            "type": "invoice",
            "number": "I1",
            "amount": usd("1000.00"),
            "due_date": "2026-10-01",
        },
    )
    post(
        client,
        me,
        "/v1/documents",
        {
            **doc,
            "type": "invoice",
            "number": "I2",
            "amount": usd("400.00"),
            "balance": usd("250.50"),
            "due_date": "2026-12-15",
        },
    )
    post(
        client,
        me,
        "/v1/documents",
        {
            **doc,
            "type": "credit_note",
            "number": "CN1",
            "amount": usd("100.00"),
            "due_date": "2026-09-01",
        },
    )
    post(
        client,
        me,
        "/v1/payments",
        {
            "external_id": "P1",
            "customer_id": cid,
            "amount": usd("300.00"),
            "received_on": "2026-11-02",
        },
    )
    post(
        client,
        me,
        "/v1/promises",
        {
            "external_id": "PR1",
            "customer_id": cid,
            "amount": usd("120.00"),
            "promised_on": "2026-12-01",
        },
    )
    figures = client.get(f"{C}/{cid}", headers=me.headers).json()["figures"]
    assert figures["as_of"] == "2026-11-23"
    base = figures["base"]
    assert {
        k: base[k]
        for k in (
            "currency",
            "open_debits",
            "unutilised_credit",
            "unaccounted_payment",
            "outstanding",
            "overdue",
            "net_overdue",
            "open_p2p",
        )
    } == {
        "currency": "USD",
        "open_debits": "1250.50",
        "unutilised_credit": "100.00",
        "unaccounted_payment": "300.00",
        "outstanding": "850.50",
        "overdue": "1000.00",
        "net_overdue": "900.00",
        "open_p2p": "120.00",
    }
    assert base["ageing"] == {
        "current": "250.50",
        "1-30": "0.00",
        "31-60": "1000.00",
        "61-90": "0.00",
        "91-120": "0.00",
        "over 120": "0.00",
    }
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
    for params in (
        {"cursor": forged, "sort": "name"},
        {"cursor": "!!"},
        {"sort": "secret"},
        {"sort": "created_at"},
        {"limit": 0},
        {"limit": 501},
        {"parent_id": 2**40},
        {"q": "a\x00b"},
    ):
        r = client.get(C, headers=me.headers, params=params)
        assert r.status_code == 422, (params, r.text)
