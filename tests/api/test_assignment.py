"""Owner assignment through the API: policies, runs, owners, locks, errors, isolation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from arpolicy.kit.db import transaction
from arpolicy.models import Customer, Tenant, UserRole
from tests.fixtures.factories import create_customer, create_user

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def shop(api_engine, caller):
    me = caller()
    with transaction(api_engine) as s:
        t = s.get(Tenant, me.tenant_id)
        ann = create_user(s, t, email=f"ann-{t.slug}@x.example", team="DACH")
        ben = create_user(s, t, email=f"ben-{t.slug}@x.example", team="DACH")
        customers = [create_customer(s, t, language="de").id for _ in range(4)]
    policy = {"role": "finance", "rules": [{"name": "DACH", "when": "language includes (de)",
              "assign": {"strategy": "round_robin", "users": ["team:DACH"]}}]}  # fmt: skip
    return me, ann.id, ben.id, customers, policy


def test_save_run_and_read_owners(client, shop, api_engine):
    me, ann, _ben, customers, policy = shop
    r = client.put(
        "/v1/assignment/policies/finance",
        headers=me.headers,
        json={"policy": policy, "comment": "first"},
    )
    assert r.status_code == 200 and r.json()["version"] == 1
    dry = client.post("/v1/assignment/runs", headers=me.headers, json={"role": "finance"})
    assert dry.status_code == 200 and dry.json()[0]["changed"] == 4 and dry.json()[0]["dry_run"]
    with transaction(api_engine, write=False) as s:
        assert set(
            s.scalars(select(Customer.finance_owner_id).where(Customer.id.in_(customers)))
        ) == {None}
    real = client.post(
        "/v1/assignment/runs", headers=me.headers, json={"role": "finance", "dry_run": False}
    )
    assert real.status_code == 200 and real.json()[0]["changed"] == 4
    owners = client.get(f"/v1/customers/{customers[0]}/owners", headers=me.headers).json()
    assert owners["finance"]["user_id"] == ann and owners["finance"]["rule"] == "DACH"
    assert "language de includes (de): yes" in owners["finance"]["explanation"]
    audit = client.get("/v1/audit", headers=me.headers, params={"action": "owner.assigned"}).json()[
        "items"
    ]
    assert len(audit) == 4


def test_lock_by_hand(client, shop):
    me, _ann, ben, customers, policy = shop
    client.put("/v1/assignment/policies/finance", headers=me.headers, json={"policy": policy})
    r = client.put(
        f"/v1/customers/{customers[0]}/owners/finance", headers=me.headers, json={"user_id": ben}
    )
    assert r.status_code == 200 and r.json()["locked"]
    client.post("/v1/assignment/runs", headers=me.headers, json={"dry_run": False})
    owners = client.get(f"/v1/customers/{customers[0]}/owners", headers=me.headers).json()
    assert owners["finance"]["user_id"] == ben and owners["finance"]["locked"]


def test_invalid_policy_lists_problems(client, shop):
    me, *_ = shop
    bad = {"role": "finance", "rules": [{"name": "x", "when": "langauge = de",
           "assign": {"strategy": "fixed", "users": ["nobody@x.example"]}}]}  # fmt: skip
    r = client.put("/v1/assignment/policies/finance", headers=me.headers, json={"policy": bad})
    assert r.status_code == 422
    wheres = [e["where"] for e in r.json()["errors"]]
    assert wheres[0].startswith("rules[0].when") and "rules[0].assign.users" in wheres
    r = client.put(
        "/v1/assignment/policies/sales",
        headers=me.headers,
        json={"policy": {**bad, "role": "finance"}},
    )
    assert r.status_code == 422 and r.json()["where"] == "body.policy.role"


def test_permissions_and_isolation(client, shop, caller):
    me, ann, _ben, customers, policy = shop
    sales = caller(UserRole.SALES, tenant_id=me.tenant_id)
    assert (
        client.put(
            "/v1/assignment/policies/finance", headers=sales.headers, json={"policy": policy}
        ).status_code
        == 403
    )
    assert client.post("/v1/assignment/runs", headers=sales.headers, json={}).status_code == 403
    other = caller()
    assert (
        client.get(f"/v1/customers/{customers[0]}/owners", headers=other.headers).status_code == 404
    )
    r = client.put(
        f"/v1/customers/{customers[0]}/owners/finance", headers=other.headers, json={"user_id": ann}
    )
    assert r.status_code == 404
    mine = client.put(
        f"/v1/customers/{customers[0]}/owners/finance",
        headers=me.headers,
        json={"user_id": other.user_id},
    )
    assert mine.status_code == 404  # a user of another tenant does not exist here
