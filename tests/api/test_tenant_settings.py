"""PATCH /v1/tenant: the payment link and bank details reminders show, checked (the IBAN's
length and check digits, the BIC's form, an https link with only {customer_number}),
removed with null, audited; nothing stored on an error."""

from __future__ import annotations

import pytest

BANK = {"account_holder": "Shop GmbH", "iban": "de89 3704 0044 0532 0130 00", "bic": "cobadeffxxx"}


def _audit(client, me):
    return client.get("/v1/audit", headers=me.headers, params={"action": "tenant.updated"}).json()[
        "items"
    ]


def test_payment_link_and_bank_details_are_set_read_and_removed(client, caller):
    me = caller()
    assert client.get("/v1/tenant", headers=me.headers).json()["bank_details"] is None
    link = "https://pay.shop.example/{customer_number}?src=mail"
    res = client.patch(
        "/v1/tenant", headers=me.headers, json={"payment_link_url": link, "bank_details": BANK}
    )
    assert res.status_code == 200, res.text
    got = client.get("/v1/tenant", headers=me.headers).json()
    assert got["payment_link_url"] == link
    assert got["bank_details"] == {
        "account_holder": "Shop GmbH",
        "iban": "DE89370400440532013000",
        "bic": "COBADEFFXXX",
        "bank_name": None,
    }
    (event,) = _audit(client, me)
    assert event["before"] == {"payment_link_url": None, "bank_details": None}
    assert event["after"]["bank_details"]["iban"] == "DE89370400440532013000"
    res = client.patch("/v1/tenant", headers=me.headers, json={"bank_details": None})
    assert res.status_code == 200 and res.json()["bank_details"] is None
    assert res.json()["payment_link_url"] == link  # untouched
    assert len(_audit(client, me)) == 2


@pytest.mark.parametrize(
    ("body", "where", "what"),
    [
        ({"payment_link_url": "http://pay.example/x"}, "body.payment_link_url", "https://"),
        (
            {"payment_link_url": "https://pay.example/{amount}"},
            "body.payment_link_url",
            "{amount} is not a placeholder",
        ),
        (
            {"bank_details": {**BANK, "iban": "DE89 3704 0044 0532 0130 01"}},
            "body.bank_details.iban",
            "check digits do not match",
        ),
        (
            {"bank_details": {**BANK, "iban": "DE89 3704 0044 0532 0130"}},
            "body.bank_details.iban",
            "an IBAN of DE has 22 characters, this one 20",
        ),
        ({"bank_details": {**BANK, "bic": "COBA"}}, "body.bank_details.bic", "is not a BIC"),
    ],
)
def test_a_bad_setting_says_where_and_stores_nothing(client, caller, body, where, what):
    me = caller()
    res = client.patch("/v1/tenant", headers=me.headers, json={"locale": "de_DE", **body})
    assert res.status_code == 422, res.text
    problem = res.json()
    assert problem["where"] == where and what in problem["detail"] and problem["fix"]
    assert client.get("/v1/tenant", headers=me.headers).json()["locale"] == "en_US"
    assert _audit(client, me) == []


def test_bank_details_need_a_holder_and_an_iban(client, caller):
    me = caller()
    res = client.patch("/v1/tenant", headers=me.headers, json={"bank_details": {"iban": "x"}})
    assert res.status_code == 422 and "account_holder" in res.text
