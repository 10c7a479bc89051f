"""What the /v1/customers tests share: the path, a money body, and creating through the API."""

from __future__ import annotations

C = "/v1/customers"


def usd(amount: str, currency: str = "USD") -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def new_customer(client, who, external_id="C1", **fields):
    r = client.post(
        C, headers=who.headers, json={"external_id": external_id, "name": "ACME", **fields}
    )
    assert r.status_code == 201, r.text
    return r.json()


def post(client, who, path, body):
    r = client.post(path, headers=who.headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()
