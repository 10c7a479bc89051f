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
    policy = {
        "role": "finance",
        "rules": [
            {
                "name": "DACH",
                "when": "language includes (de)",
                "assign": {"strategy": "round_robin", "users": ["team:DACH"]},
            }
        ],
    }
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
    bad = {
        "role": "finance",
        "rules": [
            {
                "name": "x",
                "when": "langauge = de",
                "assign": {"strategy": "fixed", "users": ["nobody@x.example"]},
            }
        ],
    }
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


# --- the hook: every customer created or updated through the API or an upload ---------

SALES_POLICY = {
    "role": "sales",
    "rules": [],
    "fallback": {"strategy": "round_robin", "users": ["role:sales"]},
}


def _live(client, me, policy):
    r = client.put(
        f"/v1/assignment/policies/{policy['role']}", headers=me.headers, json={"policy": policy}
    )
    assert r.status_code == 200, r.text


def test_created_customers_get_owners_in_the_same_write(client, shop, api_engine):
    me, ann, ben, _customers, policy = shop
    with transaction(api_engine) as s:
        seller = create_user(
            s, s.get(Tenant, me.tenant_id), email="sal@x.example", role=UserRole.SALES
        ).id
    _live(client, me, policy)
    _live(client, me, SALES_POLICY)
    made = [
        client.post(
            "/v1/customers",
            headers=me.headers,
            json={"external_id": f"API-{i}", "name": f"API {i}", "language": "de"},
        )
        for i in range(4)
    ]
    assert [r.status_code for r in made] == [201] * 4
    assert [r.json()["finance_owner_id"] for r in made] == [ann, ben, ann, ben]
    assert {r.json()["sales_owner_id"] for r in made} == {seller}
    owners = client.get(f"/v1/customers/{made[0].json()['id']}/owners", headers=me.headers).json()
    assert owners["finance"]["rule"] == "DACH" and owners["sales"]["rule"] == "fallback"
    assert owners["finance"]["assigned_by"].startswith("key:")
    events = client.get(
        "/v1/audit",
        headers=me.headers,
        params={"action": "owner.assigned", "entity_id": str(made[0].json()["id"])},
    ).json()["items"]
    assert len(events) == 2
    # no rule covers an English customer and there is no finance fallback: nobody, no error
    en = client.post(
        "/v1/customers",
        headers=me.headers,
        json={"external_id": "API-EN", "name": "EN", "language": "en"},
    )
    assert en.status_code == 201 and en.json()["finance_owner_id"] is None


def test_update_reassigns_when_the_matching_rule_changes(client, shop):
    me, ann, ben, _customers, policy = shop
    policy = {
        **policy,
        "rules": [
            *policy["rules"],
            {
                "name": "Others",
                "when": "language includes (en)",
                "assign": {"strategy": "fixed", "users": [f"ben-{_slug(client, me)}@x.example"]},
            },
        ],
    }
    _live(client, me, policy)
    c = client.post(
        "/v1/customers",
        headers=me.headers,
        json={"external_id": "MOVE", "name": "Move", "language": "de"},
    ).json()
    assert c["finance_owner_id"] == ann
    same = client.patch(f"/v1/customers/{c['id']}", headers=me.headers, json={"name": "Moved"})
    assert same.status_code == 200 and same.json()["finance_owner_id"] == ann  # sticky
    moved = client.patch(f"/v1/customers/{c['id']}", headers=me.headers, json={"language": "en"})
    assert moved.status_code == 200 and moved.json()["finance_owner_id"] == ben
    owners = client.get(f"/v1/customers/{c['id']}/owners", headers=me.headers).json()
    assert owners["finance"]["rule"] == "Others"


def _slug(client, me):
    return client.get("/v1/tenant", headers=me.headers).json()["slug"]


def test_an_owner_given_in_the_body_is_set_by_hand(client, shop):
    me, ann, ben, _customers, policy = shop
    _live(client, me, policy)
    c = client.post(
        "/v1/customers",
        headers=me.headers,
        json={"external_id": "HAND", "name": "Hand", "language": "de", "finance_owner_id": ben},
    ).json()
    assert c["finance_owner_id"] == ben
    owners = client.get(f"/v1/customers/{c['id']}/owners", headers=me.headers).json()["finance"]
    assert (
        owners["rule"] is None
        and owners["reason"] == "set by hand (given when the customer was written)"
    )
    assert not owners["locked"]
    # a lock set through the owners endpoint survives a later hand change through the body
    client.put(f"/v1/customers/{c['id']}/owners/finance", headers=me.headers, json={"user_id": ann})
    r = client.patch(f"/v1/customers/{c['id']}", headers=me.headers, json={"finance_owner_id": ben})
    assert r.json()["finance_owner_id"] == ben
    owners = client.get(f"/v1/customers/{c['id']}/owners", headers=me.headers).json()["finance"]
    assert owners["locked"] and owners["user_id"] == ben


def test_uploaded_customers_are_assigned(client, shop, api_engine):
    me, ann, ben, _customers, policy = shop
    _live(client, me, policy)
    rows = "external_id,name,language\n" + "".join(f"UP-{i},Up {i},de\n" for i in range(6))
    r = client.post(
        "/v1/imports/customers",
        headers=me.headers,
        files={"file": ("c.csv", rows.encode(), "text/csv")},
    )
    assert r.status_code == 200, r.text
    (finance,) = r.json()["assignment"]
    assert finance["role"] == "finance" and finance["changed"] == 10  # the 4 old ones and 6 new
    with transaction(api_engine, write=False) as s:
        got = s.scalars(
            select(Customer.finance_owner_id).where(
                Customer.tenant_id == me.tenant_id, Customer.external_id.like("UP-%")
            )
        ).all()
    assert sorted(got) == sorted([ann] * 3 + [ben] * 3)
    other = client.post(
        "/v1/imports/users",
        headers=me.headers,
        files={"file": ("u.csv", b"email,name,role\nnew@x.example,New,collector\n", "text/csv")},
    )
    assert other.status_code == 200 and other.json()["assignment"] == []
